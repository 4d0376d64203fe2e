"""Stage 8, narratives: clustering claims of one incident into the stories they tell
(rival attributions apart), consolidation of narratives that drifted together, findings
and the status they decide.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.store`,
:mod:`tracker.linking`, :mod:`tracker.claims`.
"""
