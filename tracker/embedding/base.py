"""What every part of the embedding stage shares: the :class:`Embedder` the rest of
claimwatch calls, the :class:`Encoder` a backend provides, a backend ready to run
(:class:`LoadedEncoder`), the reason one cannot run (:class:`BackendUnavailable`), and
where a backend cuts texts into batches (:func:`length_batches`), and how its vectors are
normalized (:func:`normalized`).

Vectors are ``(n, dim)`` float32, L2-normalized, so inner product is cosine similarity.
Imports nothing of claimwatch: the backends, the resolver and the embedder all import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "CALL_TOKENS",
    "BackendUnavailable",
    "Embedder",
    "Encoder",
    "LoadedEncoder",
    "batches",
    "length_batches",
    "normalized",
]


class Embedder(Protocol):
    """Turns texts into vectors."""

    @property
    def name(self) -> str:
        """Identifies the model; stored embeddings are keyed by it."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized."""
        ...


class Encoder(Protocol):
    """What a backend runs: texts in, vectors out."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized, in the order of ``texts``."""
        ...


@dataclass(frozen=True, slots=True)
class LoadedEncoder:
    """A backend ready to run: ``label`` is ``backend/precision`` as it actually runs;
    ``note`` says why the precision asked for is not the one running (None when it is)."""

    encoder: Encoder
    label: str
    note: str | None = None


class BackendUnavailable(Exception):  # noqa: N818 - a reason to fall back, not a failure
    """A backend cannot run here; the message is one clause naming what is missing (and
    the pip command that installs it). Always caught: the embedder falls back."""


# What one more model call costs, in tokens: measured with OpenVINO fp32 on these machines
# (2 cores, all-MiniLM-L6-v2), a call costs about 1 ms beyond its tokens (~0.18 ms each) and
# a batch of under 8 rows runs its tokens up to twice as slowly; 16 tokens weighs both.
CALL_TOKENS = 16
_FEW_ROWS = 8  # fewer rows than this run their tokens slowly


def batches(
    lengths: np.ndarray, max_rows: int, call_tokens: int = CALL_TOKENS, side_by_side: int = 1
) -> list[int]:
    """Where to cut texts sorted by token count (``lengths``, ascending) into batches of at
    most ``max_rows``, so that the tokens run (each batch padded to its longest text) plus
    ``call_tokens`` per batch are fewest: the end of each batch, in order. Where the engine
    runs ``side_by_side`` batches at once and the cut makes fewer, the batches with the
    most rows are halved (down to 8 rows), so that a small call keeps every stream busy.

    Fixed batches of ``max_rows`` pad a batch of short texts to the one long text that
    ends it; a small encode call (a live poll, a batch of 1,024 posts) has few texts of
    each length: padding was 9% of the tokens run in calls of 520 claim texts, 43% in
    calls of 64 (germanwings; 0.9% and 5.6% with this cut).
    The cut is exact (dynamic programming over the batch's last row), and cheap: about
    20 microseconds a text."""
    count = len(lengths)
    cost = np.zeros(count + 1)
    start = np.zeros(count + 1, dtype=np.int64)
    rows = np.arange(1, max_rows + 1)
    for end in range(1, count + 1):
        size = rows[: min(max_rows, end)]
        # a batch of ``size`` rows ending at ``end`` pads to its last (longest) text
        total = cost[end - size] + call_tokens + size * lengths[end - 1]
        best = int(np.argmin(total))
        cost[end] = total[best]
        start[end] = end - size[best]
    ends: list[int] = []
    end = count
    while end > 0:
        ends.append(end)
        end = int(start[end])
    ends.reverse()
    while 0 < len(ends) < side_by_side:
        sizes = np.diff(ends, prepend=0)
        widest = int(np.argmax(sizes))
        if sizes[widest] < 2 * _FEW_ROWS:
            break
        ends.insert(widest, ends[widest] - int(sizes[widest]) // 2)
    return ends


def length_batches(lengths: np.ndarray, max_rows: int, side_by_side: int = 1) -> list[np.ndarray]:
    """The texts of each batch, by their positions in ``lengths`` (each text's token
    count): sorted by count, then cut by :func:`batches`; shortest batch first."""
    order = np.argsort(lengths, kind="stable")
    ends = batches(lengths[order], max_rows, side_by_side=side_by_side)
    return [order[begin:end] for begin, end in zip([0, *ends], ends, strict=False)]


def normalized(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` row by row at unit length (a zero row stays zero), contiguous float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
