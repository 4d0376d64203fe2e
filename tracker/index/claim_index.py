"""The FAISS index of claim vectors: ids are claim ids, scores are cosine similarity.

Vectors are L2-normalized float32, compared by inner product. ``[index] kind`` picks the
structure:

``flat``
    ``IndexIDMap2`` over ``IndexFlatIP``: exact, adds at hundreds of thousands a second,
    removes by id; a query scans every vector (~10 ms at 100k, 60-85 ms at 1M, on one
    core of these machines).
``ivf``
    ``IndexIVFFlat`` (inner product) holding the claim ids itself: vectors are bucketed
    into ``nlist_for(n)`` (~4 sqrt(n)) clusters trained from the stored vectors, a query
    scans ``nprobe`` of them (1-4 ms at nprobe 128 from 100k to 1M). Removes by id. (Not
    wrapped in ``IndexIDMap2``: that wrapper renumbers the inner index on removal, which
    only a flat index follows, so its ids go wrong after a remove.)
    Below ``IVF_MIN_VECTORS`` there is too little to train on and a flat index is held.
    Once it has grown ``RETRAIN_GROWTH`` times past what it was trained on, it is trained
    again in the background with a larger ``nlist``.
``hnsw``
    ``IndexIDMap2`` over ``IndexHNSWFlat`` (32 links): fast, high recall, slow to build.
    FAISS HNSW cannot remove vectors: removing (and replacing) ids rebuilds the graph from
    the vectors it keeps, which costs a full build (seconds per 10k vectors). Pick it for
    databases that seldom drop claims.
``auto``
    flat while the index holds fewer than ``ivf_from`` vectors; past that an IVF index is
    trained and filled in the background (its own thread, one FAISS thread) from a copy of
    the held vectors, which are the stored embeddings. Adds, removes and searches go on
    against the flat index meanwhile; what changed is replayed into the new index, which
    is then swapped in under the lock and saved.

The files under ``[index] dir`` are derived data: saved atomically (temporary file in the
same folder, fsync, rename) next to a small JSON sidecar naming the model, dimension and
kind. On open the index is reconciled with the database, which keeps every vector; a file
made for another model, or of a kind the setting does not allow, is rebuilt from it.

Adds, removes, saves and the swap take a lock; searches do not, and may run concurrently
with each other (the caller keeps adds and searches of one index on one thread, as the
model worker does). A search of a few queries runs on one FAISS thread (see
``ONE_THREAD_BELOW``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from math import isqrt
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from tracker.config.settings import IndexSettings
from tracker.errors import IndexFileError
from tracker.files import write_atomically
from tracker.store import Store

__all__ = [
    "IVF_MIN_VECTORS",
    "ONE_THREAD_BELOW",
    "RETRAIN_GROWTH",
    "ClaimIndex",
    "Kind",
    "ReconcileReport",
    "nlist_for",
]

log = logging.getLogger("claimwatch.index")

INDEX_FILE = "claims.faiss"
META_FILE = "claims.json"

Kind = Literal["flat", "ivf", "hnsw"]
"""The structure an index holds (the ``auto`` setting resolves to flat or ivf)."""

IVF_MIN_VECTORS = 256
"""Fewest vectors an IVF index is trained on; below this the ivf kind holds a flat index."""
RETRAIN_GROWTH = 4
"""An IVF index is trained again (in the background) once it holds this many times the
vectors it was trained on."""
TRAIN_PER_LIST = 39
"""Training sample: this many vectors per cluster (FAISS's own lower bound), at most all."""
TRAIN_ITERATIONS = 10
"""k-means iterations when training IVF clusters (FAISS's default is 25)."""
BUILD_THREADS = 1
"""FAISS threads of the background build, leaving the other cores to the model."""
HNSW_LINKS = 32
ONE_THREAD_BELOW = 8
"""Searches of fewer queries than this run on one FAISS thread: on two busy cores,
OpenMP's fork and join for a single query cost 10-20x the scan itself (bench/query.py)."""
CATCH_UP_UNDER_LOCK = 20_000
"""Vectors changed during a background build that are replayed while holding the lock;
more are replayed outside it first."""


def nlist_for(n: int) -> int:
    """IVF clusters for ``n`` vectors: about ``4 * sqrt(n)`` (1265 at 100k, 4000 at 1M), at
    least 1, at most ``n / TRAIN_PER_LIST`` so every cluster has training vectors, at most
    65536."""
    return max(1, min(4 * isqrt(max(n, 1)), n // TRAIN_PER_LIST, 65536))


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What opening the index had to mend: vectors added back, ids dropped, and whether
    the file was missing, made for another model or of another kind and so rebuilt whole."""

    added: int
    removed: int
    rebuilt: bool


@dataclass(frozen=True, slots=True)
class _Change:
    """An add or remove applied while a background build runs, replayed into the new index.
    ``ids`` (n,) int64; ``vectors`` (n, dim) float32 for an add, None for a remove."""

    ids: np.ndarray
    vectors: np.ndarray | None
    replace: bool = False


# -- FAISS structures (typed Any: faiss's generated stubs type ids as IDSelector) ---------


def _new_flat(dim: int) -> Any:
    """An empty ``IndexIDMap2`` over a flat inner-product index."""
    # The factory builds an index that owns its parts; wrapping a Python-made IndexFlatIP
    # in IndexIDMap2 would let the inner index be collected under it.
    return faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)


def _new_hnsw(dim: int, ef_search: int) -> Any:
    """An empty ``IndexIDMap2`` over ``IndexHNSWFlat`` (inner product)."""
    index = faiss.index_factory(dim, f"IDMap2,HNSW{HNSW_LINKS}", faiss.METRIC_INNER_PRODUCT)
    _tune(index, "hnsw", 0, ef_search)
    return index


def _train_ivf(vectors: np.ndarray, nprobe: int) -> Any:
    """An empty ``IndexIVFFlat`` (inner product) with ``nlist_for(n)`` clusters trained by
    k-means on a fixed sample of (n, dim) float32 ``vectors``; deterministic for a given
    input."""
    n, dim = vectors.shape
    nlist = nlist_for(n)
    index: Any = faiss.index_factory(dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = TRAIN_ITERATIONS
    take = min(n, TRAIN_PER_LIST * nlist)
    sample = vectors if take == n else vectors[
        np.sort(np.random.default_rng(0).choice(n, size=take, replace=False))
    ]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    _tune(index, "ivf", nprobe, 0)
    return index


def _tune(index: Any, kind: Kind, nprobe: int, ef_search: int) -> None:
    """Apply the search-time settings, which FAISS files do not keep."""
    if kind == "ivf":
        index.nprobe = max(1, min(nprobe, index.nlist))
    elif kind == "hnsw":
        inner: Any = faiss.downcast_index(index.index)
        inner.hnsw.efSearch = ef_search


def _kind_of(index: Any) -> Kind | None:
    """Which of our structures a FAISS index read from a file is, if any."""
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    if isinstance(index, faiss.IndexIDMap2):
        inner = faiss.downcast_index(index.index)
        if isinstance(inner, faiss.IndexHNSWFlat):
            return "hnsw"
        if isinstance(inner, faiss.IndexFlat):
            return "flat"
    return None


def _ids_of(index: Any, kind: Kind) -> np.ndarray:
    """Every id an index holds, (n,) int64, unordered."""
    if kind != "ivf":
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = index.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(index.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)


def _contents(index: Any, kind: Kind) -> tuple[np.ndarray, np.ndarray]:
    """A copy of what an index holds: ids (n,) int64 and vectors (n, dim) float32."""
    n, dim = int(index.ntotal), int(index.d)
    if n == 0:
        return np.empty(0, np.int64), np.empty((0, dim), np.float32)
    if kind != "ivf":
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        return ids, faiss.downcast_index(index.index).reconstruct_n(0, n)
    lists = index.invlists
    id_parts: list[np.ndarray] = []
    vector_parts: list[np.ndarray] = []
    for i in range(index.nlist):
        size = lists.list_size(i)
        if size:
            id_parts.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(i), size * lists.code_size)
            vector_parts.append(codes.view(np.float32).reshape(size, dim).copy())
    return np.concatenate(id_parts).astype(np.int64), np.vstack(vector_parts)


def _apply(index: Any, change: _Change) -> None:
    """Replay one add or remove into a flat or IVF index."""
    if change.vectors is None or change.replace:
        index.remove_ids(change.ids)
    if change.vectors is not None:
        index.add_with_ids(change.vectors, change.ids)


class ClaimIndex:
    """Claim vectors by claim id. ``dim`` is the model's; vectors are (n, dim) float32,
    L2-normalized. ``settings`` gives the kind and its search parameters (defaults when
    None); ``ivf_from`` overrides ``settings.ivf_from`` (the setting's floor is 1000)."""

    def __init__(
        self,
        directory: str | Path,
        model: str,
        dim: int,
        settings: IndexSettings | None = None,
        *,
        ivf_from: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.model = model
        self.dim = dim
        self.settings = settings or IndexSettings()
        self.ivf_from = self.settings.ivf_from if ivf_from is None else ivf_from
        self.kind: Kind = self._target(0)
        self._index: Any = self._empty(self.kind)
        self._trained_on = 0
        self._lock = threading.RLock()
        self._journal: list[_Change] | None = None
        self._builder: threading.Thread | None = None
        self._closed = False
        self.build_error: BaseException | None = None
        self.dirty = False

    @property
    def path(self) -> Path:
        return self.directory / INDEX_FILE

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def building(self) -> bool:
        """True while a background build (auto's move to ivf, or a retrain) runs."""
        builder = self._builder
        return builder is not None and builder.is_alive()

    def ids(self) -> np.ndarray:
        """Every id held, as int64 (unordered)."""
        with self._lock:
            return _ids_of(self._index, self.kind)

    def _target(self, n: int) -> Kind:
        """The structure the setting wants for ``n`` vectors."""
        wanted = self.settings.kind
        if wanted == "auto":
            return "ivf" if n >= self.ivf_from else "flat"
        if wanted == "ivf":
            return "ivf" if n >= IVF_MIN_VECTORS else "flat"
        return wanted

    def _accepts(self, kind: Kind) -> bool:
        """Whether a saved index of ``kind`` may be used as it is (auto and ivf take a flat
        one and move it to ivf in the background when it is large enough)."""
        if self.settings.kind in ("auto", "ivf"):
            return kind in ("flat", "ivf")
        return kind == self.settings.kind

    def _empty(self, kind: Kind) -> Any:
        if kind == "hnsw":
            return _new_hnsw(self.dim, self.settings.ef_search)
        return _new_flat(self.dim)  # an IVF index is only ever made by training

    # -- changes ----------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, replace: bool = True) -> None:
        """Add (n,) int64 ids with (n, dim) float32 vectors. With ``replace`` an id already
        held is replaced; pass False only for ids known to be new (it saves a scan). An
        HNSW index holding any of the ids is rebuilt without them first."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise IndexFileError(
                f"vectors of shape {vectors.shape}, expected ({len(ids)}, {self.dim})"
            )
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            if self.kind == "hnsw":
                if replace:
                    self._rebuild_hnsw_without(ids)
                self._index.add_with_ids(vectors, ids)
            else:
                change = _Change(ids, vectors, replace)
                _apply(self._index, change)
                if self._journal is not None:
                    self._journal.append(change)
            self.dirty = True
        self._maybe_grow()

    def remove(self, ids: np.ndarray) -> int:
        """Drop (n,) int64 ids; how many were held. Batch them: each call scans the index
        (flat, ivf), or rebuilds the whole graph when any id is held (hnsw)."""
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            if self.kind == "hnsw":
                removed = self._rebuild_hnsw_without(ids)
            else:
                removed = int(self._index.remove_ids(ids))
                if self._journal is not None:
                    self._journal.append(_Change(ids, None))
            self.dirty = self.dirty or removed > 0
            return removed

    def _rebuild_hnsw_without(self, ids: np.ndarray) -> int:
        """HNSW cannot remove: build a new graph from the vectors not among ``ids`` and swap
        it in (under the lock). Returns how many were dropped; no rebuild when none."""
        drop = np.isin(_ids_of(self._index, "hnsw"), ids)
        dropped = int(drop.sum())
        if dropped:
            held, vectors = _contents(self._index, "hnsw")
            log.info("hnsw cannot remove vectors: rebuilding the graph of %d to drop %d",
                     len(held) - dropped, dropped)
            index = _new_hnsw(self.dim, self.settings.ef_search)
            keep = ~drop
            index.add_with_ids(np.ascontiguousarray(vectors[keep]), held[keep])
            self._index = index
        return dropped

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For (q, dim) query vectors: scores (q, k) float32 and ids (q, k) int64, best
        first; -1 ids pad when fewer than k claims are held (or, for ivf, found in the
        clusters probed)."""
        index = self._index  # one structure throughout, even if a build swaps meanwhile
        k = max(1, min(k, int(index.ntotal) or 1))
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(queries) >= ONE_THREAD_BELOW:
            scores, ids = index.search(queries, k)
        else:
            threads = faiss.omp_get_max_threads()  # of this thread: OpenMP keeps it per thread
            faiss.omp_set_num_threads(1)
            try:
                scores, ids = index.search(queries, k)
            finally:
                faiss.omp_set_num_threads(threads)
        return np.asarray(scores), np.asarray(ids)

    def fill(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace what this index holds by (n,) int64 ``ids`` and their (n, dim) float32
        ``vectors``, built at once on the calling thread as the kind the setting wants for
        n vectors (an IVF index is trained on them)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        kind = self._target(len(ids))
        index = _train_ivf(vectors, self.settings.nprobe) if kind == "ivf" else self._empty(kind)
        if len(ids):
            index.add_with_ids(vectors, ids)
        with self._lock:
            self._index, self.kind = index, kind
            self._trained_on = len(ids) if kind == "ivf" else 0
            self.dirty = True

    def tune(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Change the search breadth of ivf (``nprobe`` clusters) or hnsw (``ef_search``)
        from now on, for this index and any it is rebuilt into."""
        update = {k: v for k, v in (("nprobe", nprobe), ("ef_search", ef_search)) if v is not None}
        self.settings = self.settings.model_copy(update=update)
        with self._lock:
            _tune(self._index, self.kind, self.settings.nprobe, self.settings.ef_search)

    # -- the background move to ivf ---------------------------------------------------

    def _maybe_grow(self) -> None:
        """Start a background IVF build when the setting wants ivf for the vectors held and
        the index is flat, or an IVF index has outgrown its training."""
        with self._lock:
            if self._closed or self.building or self.build_error is not None:
                return
            n = len(self)
            if n == 0 or self._target(n) != "ivf":
                return
            if self.kind == "ivf" and n < RETRAIN_GROWTH * max(self._trained_on, 1):
                return
            self._builder = threading.Thread(
                target=self._build, name="claimwatch-index-build", daemon=True
            )
            self._builder.start()

    def _build(self) -> None:
        """The background build: copy the held vectors, train and fill an IVF index, replay
        the changes made meanwhile, swap it in and save."""
        try:
            faiss.omp_set_num_threads(BUILD_THREADS)
            with self._lock:
                ids, vectors = _contents(self._index, self.kind)
                self._journal = []
            log.info("training an ivf index on %d vectors in the background", len(ids))
            index = _train_ivf(vectors, self.settings.nprobe)
            index.add_with_ids(vectors, ids)
            trained_on = len(ids)
            del ids, vectors
            while True:
                with self._lock:
                    pending = self._journal or []
                    if self._closed:
                        return
                    if sum(len(c.ids) for c in pending) <= CATCH_UP_UNDER_LOCK:
                        for change in pending:
                            _apply(index, change)
                        self._index, self.kind, self._trained_on = index, "ivf", trained_on
                        self._journal = None
                        self.dirty = True
                        log.info("ivf index swapped in: %d vectors in %d clusters",
                                 index.ntotal, index.nlist)
                        break
                    self._journal = []
                for change in pending:
                    _apply(index, change)
        except Exception as exc:  # the flat index goes on serving; say why once
            log.exception("building the ivf index failed; keeping the %s index", self.kind)
            self.build_error = exc
            return
        finally:
            with self._lock:
                self._journal = None
        try:
            with self._lock:
                if not self._closed:  # else the closing caller saves
                    self.save()
        except OSError:
            log.exception("saving the new ivf index failed; it is saved again at exit")

    def join_build(self, timeout: float | None = None) -> bool:
        """Wait for a background build to end (``timeout`` seconds, None: no limit); True
        when none is running any more. Raises what the build raised, if it failed."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        if self.build_error is not None:
            raise IndexFileError(f"building the ivf index failed: {self.build_error}")
        return not self.building

    def close(self) -> None:
        """Stop using this index: a background build still running is abandoned (its
        thread ends unseen); the caller saves the index as it is, if dirty."""
        with self._lock:
            self._closed = True

    # -- files ------------------------------------------------------------------------

    def save(self) -> None:
        """Write the index atomically: a temporary file beside it, fsync, rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            write_atomically(
                self.directory / INDEX_FILE, lambda p: faiss.write_index(self._index, str(p))
            )
            write_atomically(self.directory / META_FILE, self._write_meta)
            self.dirty = False

    def _write_meta(self, path: Path) -> None:
        meta = {
            "model": self.model, "dim": self.dim, "kind": self.kind,
            "trained_on": self._trained_on,
        }
        path.write_text(json.dumps(meta))

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
        """Read the saved index when it exists, fits this model and is of a kind the
        setting allows; True if it did."""
        meta_path = self.directory / META_FILE
        if not self.path.is_file() or not meta_path.is_file():
            return False
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(meta, dict):
            return False
        if meta.get("model") != self.model or meta.get("dim") != self.dim:
            return False
        saved = meta.get("kind", "flat")  # files from before kinds were flat
        if saved not in ("flat", "ivf", "hnsw") or not self._accepts(saved):
            log.info("the saved index is %s, the setting wants %s: rebuilding",
                     saved, self.settings.kind)
            return False
        try:
            index = faiss.read_index(str(self.path))
        except RuntimeError as exc:
            raise IndexFileError(
                f"cannot read {self.path} ({exc}); run `claimwatch index rebuild`"
            ) from None
        if _kind_of(index) != saved or index.d != self.dim:
            return False
        _tune(index, saved, self.settings.nprobe, self.settings.ef_search)
        trained_on = meta.get("trained_on")
        with self._lock:
            self._index, self.kind = index, saved
            self._trained_on = trained_on if isinstance(trained_on, int) else len(self)
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
        settings: IndexSettings | None = None,
        *,
        ivf_from: int | None = None,
    ) -> tuple[ClaimIndex, ReconcileReport]:
        """Load the saved index and reconcile it with the database; build it from the
        database when there is no usable file.

        ``embed_missing`` is called first when given, to store vectors for claims that
        have none for this model yet. ``progress(done, total)`` is told of vectors added.
        An auto (or ivf) index found flat but large enough moves to ivf in the background.
        """
        index = cls(directory, model, dim, settings, ivf_from=ivf_from)
        if embed_missing is not None:
            embed_missing(store)
        if index._load():
            report = index.reconcile(store, progress)
        else:
            added = index._fill(store, progress)
            report = ReconcileReport(added, 0, rebuilt=True)
        index._maybe_grow()
        return index, report

    def reconcile(
        self, store: Store, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        """Add back vectors the file lacks, drop ids the database no longer has (an hnsw
        index is rebuilt once to drop them)."""
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

    def _fill(self, store: Store, progress: Callable[[int, int], None] | None) -> int:
        """Build this (empty) index from every stored vector, of the kind the setting
        wants for that many, training an IVF index in the foreground; how many were added."""
        total = store.count("claims")
        done = 0
        chunks: Iterable[tuple[np.ndarray, np.ndarray]]
        if self._target(total) == "ivf":  # read everything, then train on it
            id_parts: list[np.ndarray] = []
            vector_parts: list[np.ndarray] = []
            for ids, vectors in store.iter_claim_vectors(self.model):
                id_parts.append(ids)
                vector_parts.append(vectors)
                done += len(ids)
                if progress is not None:
                    progress(done, total)
            if done and self._target(done) == "ivf":
                all_ids, all_vectors = np.concatenate(id_parts), np.vstack(vector_parts)
                del id_parts, vector_parts
                self.fill(all_ids, all_vectors)
                return done
            chunks = zip(id_parts, vector_parts, strict=True)
        else:
            chunks = store.iter_claim_vectors(self.model)
        with self._lock:
            kind = self._target(done)
            self._index, self.kind = self._empty(kind), kind
        done = 0
        for ids, vectors in chunks:
            self.add(ids, vectors, replace=False)
            done += len(ids)
            if progress is not None:
                progress(done, total)
        self.dirty = True
        return done

    @classmethod
    def rebuild(
        cls,
        directory: str | Path,
        store: Store,
        model: str,
        dim: int,
        progress: Callable[[int, int], None] | None = None,
        settings: IndexSettings | None = None,
        *,
        ivf_from: int | None = None,
    ) -> ClaimIndex:
        """A fresh index from every stored vector, of the configured kind, saved."""
        index = cls(directory, model, dim, settings, ivf_from=ivf_from)
        index._fill(store, progress)
        index.save()
        return index
