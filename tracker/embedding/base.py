"""What every part of the embedding stage shares: the :class:`Embedder` the rest of
claimwatch calls, the :class:`Encoder` a backend provides, a backend ready to run
(:class:`LoadedEncoder`) and the reason one cannot run (:class:`BackendUnavailable`).

Vectors are ``(n, dim)`` float32, L2-normalized, so inner product is cosine similarity.
Imports nothing of claimwatch: the backends, the resolver and the embedder all import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["BackendUnavailable", "Embedder", "Encoder", "LoadedEncoder"]


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
