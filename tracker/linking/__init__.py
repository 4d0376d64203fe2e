"""Stage 4, posts to incidents: by the incident's terms in its time window, by meaning
(nearness to its description), and by the threads posts belong to.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.ingest`.
"""
