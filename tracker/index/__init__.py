"""Stage 7, the FAISS index of claim vectors: index kinds, background builds, the files
under ``indexes/`` and their reconciliation with the database.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.store`.
"""
