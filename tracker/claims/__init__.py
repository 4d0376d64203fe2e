"""Stage 5, reading claims: sentences, the claim reader (kind, actors, hedges, negation,
official voice, values), the word lists it reads with, a second reader by nearness to
example sentences, and a reply's stance toward what it answers.

May import: the shared nouns and :mod:`tracker.config`. Knows nothing of sources or storage.
"""
