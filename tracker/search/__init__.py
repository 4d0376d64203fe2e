"""Similar-claim queries: dense (FAISS) and lexical (BM25) results fused.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.store`,
:mod:`tracker.embedding`, :mod:`tracker.index`.
"""
