"""The FAISS index of claim vectors: ids are claim ids, scores are cosine similarity.

``IndexIDMap2`` over ``IndexFlatIP`` on L2-normalized float32 vectors. The file under
``[index] dir`` is derived data: it is saved atomically (temporary file in the same
folder, fsync, rename) next to a small JSON sidecar naming the model and dimension, and on
open it is reconciled with the database, which keeps every vector.

Adds and removes take a lock; searches may run concurrently.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from tracker.errors import IndexFileError
from tracker.store import Store

__all__ = ["ClaimIndex", "ReconcileReport"]

INDEX_FILE = "claims.faiss"
META_FILE = "claims.json"


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What opening the index had to mend: vectors added back, ids dropped, and whether
    the file was missing or made for another model and so rebuilt whole."""

    added: int
    removed: int
    rebuilt: bool


def _new_index(dim: int) -> Any:
    """An empty ``IndexIDMap2`` over a flat inner-product index (typed Any: faiss's
    generated stubs type ids as IDSelector)."""
    # The factory builds an index that owns its parts; wrapping a Python-made IndexFlatIP
    # in IndexIDMap2 would let the inner index be collected under it.
    return faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)


class ClaimIndex:
    """Claim vectors by claim id. ``dim`` is the model's; vectors are (n, dim) float32."""

    def __init__(self, directory: str | Path, model: str, dim: int) -> None:
        self.directory = Path(directory)
        self.model = model
        self.dim = dim
        self._index: Any = _new_index(dim)
        self._lock = threading.Lock()
        self.dirty = False

    @property
    def path(self) -> Path:
        return self.directory / INDEX_FILE

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """Every id held, as int64 (unordered)."""
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, replace: bool = True) -> None:
        """Add (n,) int64 ids with (n, dim) float32 vectors. With ``replace`` an id already
        held is replaced; pass False only for ids known to be new (it saves a scan)."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise IndexFileError(
                f"vectors of shape {vectors.shape}, expected ({len(ids)}, {self.dim})"
            )
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            if replace:
                # FAISS accepts a duplicate id silently: remove first so each is held once.
                self._index.remove_ids(ids)
            self._index.add_with_ids(vectors, ids)
            self.dirty = True

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        with self._lock:
            removed = int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))
            self.dirty = self.dirty or removed > 0
            return removed

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For (q, dim) query vectors: scores (q, k) float32 and ids (q, k) int64; -1 ids
        pad when fewer than k claims are held."""
        k = max(1, min(k, len(self) or 1))
        scores, ids = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return np.asarray(scores), np.asarray(ids)

    # -- files ------------------------------------------------------------------------

    def save(self) -> None:
        """Write the index atomically: a temporary file beside it, fsync, rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for name, write in (
                (INDEX_FILE, lambda p: faiss.write_index(self._index, p)),
                (META_FILE, self._write_meta),
            ):
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.directory)
                os.close(fd)
                os.chmod(tmp, 0o644)
                try:
                    write(tmp)
                    with open(tmp, "rb") as fh:
                        os.fsync(fh.fileno())
                    os.replace(tmp, self.directory / name)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            self.dirty = False

    def _write_meta(self, path: str) -> None:
        Path(path).write_text(json.dumps({"model": self.model, "dim": self.dim}))

    @staticmethod
    def saved_dim(directory: str | Path, model: str) -> int | None:
        """The dimension of the index saved in ``directory`` for ``model``, if any; lets a
        caller open the index without loading the model first."""
        try:
            meta = json.loads((Path(directory) / META_FILE).read_text())
        except (OSError, ValueError):
            return None
        dim = meta.get("dim") if isinstance(meta, dict) and meta.get("model") == model else None
        return dim if isinstance(dim, int) else None

    def _load(self) -> bool:
        """Read the saved index when it exists and fits this model; True if it did."""
        meta_path = self.directory / META_FILE
        if not self.path.is_file() or not meta_path.is_file():
            return False
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return False
        if meta.get("model") != self.model or meta.get("dim") != self.dim:
            return False
        try:
            index = faiss.read_index(str(self.path))
        except RuntimeError as exc:
            raise IndexFileError(
                f"cannot read {self.path} ({exc}); run `claimwatch index rebuild`"
            ) from None
        if not isinstance(index, faiss.IndexIDMap2) or index.d != self.dim:
            return False
        with self._lock:
            self._index = index
        return True

    @classmethod
    def open(
        cls,
        directory: str | Path,
        store: Store,
        model: str,
        dim: int,
        embed_missing: Callable[[Store], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[ClaimIndex, ReconcileReport]:
        """Load the saved index and reconcile it with the database.

        ``embed_missing`` is called first when given, to store vectors for claims that
        have none for this model yet. ``progress(done, total)`` is told of vectors added.
        """
        index = cls(directory, model, dim)
        if embed_missing is not None:
            embed_missing(store)
        loaded = index._load()
        report = index.reconcile(store, progress)
        if not loaded:
            report = ReconcileReport(report.added, report.removed, rebuilt=True)
        return index, report

    def reconcile(
        self, store: Store, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        """Add back vectors the file lacks, drop ids the database no longer has."""
        held = self.ids()
        wanted = store.claim_ids()
        missing = np.setdiff1d(wanted, held, assume_unique=True)
        extra = np.setdiff1d(held, wanted, assume_unique=True)
        removed = self.remove(extra)
        added = 0
        for ids, vectors in store.iter_claim_vectors(self.model, missing if len(held) else None):
            self.add(ids, vectors, replace=False)
            added += len(ids)
            if progress is not None:
                progress(added, len(missing))
        if added or removed:
            self.dirty = True
        return ReconcileReport(added, removed, rebuilt=False)

    @classmethod
    def rebuild(
        cls,
        directory: str | Path,
        store: Store,
        model: str,
        dim: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> ClaimIndex:
        """A fresh index from every stored vector, saved."""
        index = cls(directory, model, dim)
        total = store.count("claims")
        done = 0
        for ids, vectors in store.iter_claim_vectors(model):
            index.add(ids, vectors, replace=False)
            done += len(ids)
            if progress is not None:
                progress(done, total)
        index.save()
        return index
