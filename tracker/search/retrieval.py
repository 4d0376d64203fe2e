"""Lexical retrieval (BM25) and its fusion with dense (embedding) retrieval.

Pure and in-memory: nothing here loads a model or touches the store, so ``claimwatch
query`` can rerank FAISS candidates with it and ``claimwatch eval retrieval`` can measure
it. Scores are ``(n,)`` float64 arrays, one per indexed text, in index order.

- :class:`Bm25`: BM25 Okapi under a growing corpus's statistics; ``scores(query, texts)``
  of any texts (the query path scores the dense candidates with it).
- :class:`Bm25Index`: the same over a fixed list of texts; ``scores(query)`` of them all.
- :func:`fuse`: weighted sum of cosine similarity and max-normalised BM25 (the default).
- :func:`rrf`: reciprocal-rank fusion of any number of score arrays.
- :func:`top_k`: indices of the best scores, ties broken as trec_eval breaks them.

The tuned defaults below were picked by MAP@5 on the CheckThat! 2020 Task 2 *train* split
(800 tweets, 10,375 verified claims), with the real all-MiniLM-L6-v2 model::

    .venv/bin/python bench/retrieval.py --tune train --report dev
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final, Literal

import numpy as np

__all__ = [
    "BM25_B",
    "BM25_K1",
    "DEFAULT_METHOD",
    "FUSION_WEIGHT",
    "METHODS",
    "RRF_K",
    "Bm25",
    "Bm25Index",
    "Method",
    "Postings",
    "fuse",
    "rrf",
    "tokenize",
    "top_k",
]

Method = Literal["dense", "bm25", "fusion"]
METHODS: Final[tuple[Method, ...]] = ("dense", "bm25", "fusion")

# BM25 Okapi parameters: Lucene's defaults. On train, k1 0.9-2.0 and b 0.4-0.9 all land
# within 0.005 MAP@5 of these (0.730 BM25 alone).
BM25_K1: Final = 1.2
BM25_B: Final = 0.75
# fuse(): w * cosine + (1 - w) * bm25 / max(bm25), cosine of tweet and claim, BM25 over
# claim and title. MAP@5 on train (800 tweets, 10,375 claims, all-MiniLM-L6-v2): w=0
# (BM25 alone) .730, .50 .856, .65 .877, .70 .882, .75 .884 (best), .80 .884, .85 .883,
# .90 .875, 1 (dense alone) .829.
FUSION_WEIGHT: Final = 0.75
# rrf(): sum of 1 / (k + rank). MAP@5 on train: k=1 .804, 2 .809 (best), 5 .806, 20 .800,
# 60 .794: below the weighted sum, as BM25 alone is ten points behind dense here.
RRF_K: Final = 2
# What `claimwatch query` should use: the best method on dev (MAP@5 dense .800, BM25 .674,
# fusion .847; `claimwatch eval retrieval --split dev`).
DEFAULT_METHOD: Final[Method] = "fusion"

_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STOPWORDS: Final = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t""".split()
)


def _stem(word: str) -> str:
    """A light English suffix stripper (plurals, possessives): enough for BM25 to match
    "claims" with "claim" without a stemming dependency."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``, links, stop words and one-letter words dropped,
    plurals folded: the terms BM25 counts."""
    text = _URL.sub(" ", text.lower())
    out: list[str] = []
    for word in _WORD.findall(text):
        if word in _STOPWORDS:
            continue
        stem = _stem(word)
        if len(stem) > 1 and stem not in _STOPWORDS:
            out.append(stem)
    return out


class Bm25:
    """BM25 Okapi under the statistics of a corpus that grows: documents, their total
    length and the document frequency of every term.

    ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` (Lucene's, never negative); a query term
    repeated in the query counts each time, as in Elasticsearch. :meth:`scores` ranks any
    texts with the whole corpus's weights (they need not have been added), so a query can
    score the dense retrieval's few candidates instead of every claim.

    On CheckThat! 2020 dev, dense top-50 candidates re-ranked by :func:`fuse` with BM25 of
    whole-corpus statistics scored MAP@5 .852 (BM25 from the candidates alone .839, fusion
    over every claim .847, dense alone .800)."""

    def __init__(
        self, texts: Iterable[str] = (), *, k1: float = BM25_K1, b: float = BM25_B
    ) -> None:
        self.k1 = k1
        self.b = b
        self.df: Counter[str] = Counter()
        self.documents = 0
        self.total_length = 0
        self.add(texts)

    def add(self, texts: Iterable[str]) -> None:
        """Count more documents."""
        for text in texts:
            terms = tokenize(text)
            self.df.update(set(terms))
            self.documents += 1
            self.total_length += len(terms)

    def scores(self, query: str, texts: Sequence[str] | Postings) -> np.ndarray:
        """``(len(texts),)`` float64: the BM25 score of each of ``texts`` for ``query``
        under this corpus's weights, in order; 0 for a text sharing no term with it.
        Pass :class:`Postings` to score the same texts for many queries."""
        terms = tokenize(query)
        if not terms:
            return np.zeros(len(texts), dtype=np.float64)
        postings = texts if isinstance(texts, Postings) else Postings(texts, only=terms)
        out = np.zeros(len(postings), dtype=np.float64)
        n = max(self.documents, 1)
        avg = self.total_length / n if self.total_length else 1.0
        norm: np.ndarray | None = None
        for term in terms:
            posting = postings.terms.get(term)
            if posting is None:
                continue
            if norm is None:
                norm = self.k1 * (1.0 - self.b + self.b * postings.lengths / avg)
            idx, tf = posting
            df = min(self.df.get(term, 0), n)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            out[idx] += idf * tf * (self.k1 + 1.0) / (tf + norm[idx])
        return out


class Postings:
    """The terms of a fixed list of texts, for :meth:`Bm25.scores`: per term the
    positions of the texts holding it and how often, ``(m,)`` int64 and ``(m,)`` float64;
    ``lengths`` ``(n,)`` float64 terms per text. With ``only``, postings of those terms
    alone (the lengths still count every term)."""

    def __init__(self, texts: Sequence[str], *, only: Iterable[str] | None = None) -> None:
        wanted = None if only is None else frozenset(only)
        lists: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths[i] = sum(counts.values())
            for term, count in counts.items():
                if wanted is not None and term not in wanted:
                    continue
                ids, tfs = lists.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(count)
        self.lengths = lengths
        self.terms: dict[str, tuple[np.ndarray, np.ndarray]] = {
            term: (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float64))
            for term, (ids, tfs) in lists.items()
        }

    def __len__(self) -> int:
        return len(self.lengths)


class Bm25Index:
    """BM25 over a fixed list of texts, scored under their own statistics: a
    :class:`Bm25` of the texts and their :class:`Postings`."""

    def __init__(
        self, texts: Sequence[str], *, k1: float = BM25_K1, b: float = BM25_B
    ) -> None:
        self.bm25 = Bm25(texts, k1=k1, b=b)
        self.postings = Postings(texts)

    def __len__(self) -> int:
        return len(self.postings)

    @property
    def vocabulary_size(self) -> int:
        return len(self.postings.terms)

    def scores(self, query: str) -> np.ndarray:
        """``(n,)`` float64: the BM25 score of every indexed text for ``query``, in index
        order; 0 for texts sharing no term with it."""
        return self.bm25.scores(query, self.postings)


def fuse(dense: np.ndarray, bm25: np.ndarray, weight: float = FUSION_WEIGHT) -> np.ndarray:
    """``weight * dense + (1 - weight) * bm25 / max(bm25)`` for one query.

    ``dense`` is ``(n,)`` cosine similarity (in [-1, 1], already comparable across
    queries); ``bm25`` is ``(n,)`` BM25 scores of the same texts, scaled into [0, 1] by the
    query's best score (all zeros stay zeros). ``weight`` 1 is dense alone, 0 BM25 alone.
    """
    if dense.shape != bm25.shape:
        raise ValueError(f"score arrays differ in shape: {dense.shape} vs {bm25.shape}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight must be in [0, 1], not {weight}")
    top = float(bm25.max()) if bm25.size else 0.0
    lexical = bm25 / top if top > 0 else np.zeros_like(bm25, dtype=np.float64)
    return weight * dense.astype(np.float64) + (1.0 - weight) * lexical


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every entry of ``scores`` (best first, ties as :func:`top_k`)."""
    order = top_k(scores, scores.size)
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1, dtype=np.float64)
    return ranks


def rrf(*scores: np.ndarray, k: float = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion: ``sum(1 / (k + rank))`` over the given ``(n,)`` score
    arrays of the same texts (rank 1 is the best of each)."""
    if not scores:
        raise ValueError("rrf needs at least one score array")
    shape = scores[0].shape
    if any(s.shape != shape for s in scores):
        raise ValueError("rrf score arrays differ in shape")
    total = np.zeros(shape, dtype=np.float64)
    for s in scores:
        total += 1.0 / (k + _ranks(s))
    return total


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, as ``(min(k, n),)`` int64.

    Equal scores are ordered by *descending* index, as trec_eval (and the CheckThat!
    scorer) order equal scores by descending document id: keep texts in id order and the
    ranking is the one the official scorer would see.
    """
    n = scores.size
    k = max(0, min(k, n))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        # A partition narrows to the candidates; ties at the boundary are kept whole.
        cut = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= cut)
    else:
        candidates = np.arange(n)
    order = np.lexsort((-candidates, -scores[candidates]))
    return candidates[order][:k].astype(np.int64)
