"""The assembled parts of claimwatch for one process: settings, store, model worker,
embedder, index and pipeline. The CLI and the daemon build one and close it at exit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tracker.claims import SentenceClaimExtractor
from tracker.config import EmbeddingSettings, Settings
from tracker.embed import Embedder, ModelWorker, SentenceTransformerEmbedder
from tracker.index import ClaimIndex, ReconcileReport
from tracker.models import QueryHit
from tracker.pipeline import Pipeline
from tracker.store import Store

__all__ = ["Runtime", "shared_embedder"]

_EMBEDDERS: dict[EmbeddingSettings, SentenceTransformerEmbedder] = {}

Progress = Callable[[int, int], None]


def shared_embedder(settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
    """One embedder per distinct model setting in this process, so the model loads once."""
    if settings not in _EMBEDDERS:
        _EMBEDDERS[settings] = SentenceTransformerEmbedder(settings)
    return _EMBEDDERS[settings]


class Runtime:
    """Everything one claimwatch process works with. Use as a context manager."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.worker = ModelWorker()
        self.embedder: Embedder = embedder or shared_embedder(settings.embedding)
        self._index: ClaimIndex | None = None
        self._pipeline: Pipeline | None = None
        self.reconciled: ReconcileReport | None = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Save the index if it changed, then stop the threads and close the database."""
        try:
            if self._index is not None and self._index.dirty:
                self.worker.call(self._index.save)
        finally:
            if self._pipeline is not None:
                self._pipeline.close()
            self.worker.close()
            self.store.close()

    def embed_missing(self, progress: Progress | None = None, chunk: int = 2048) -> int:
        """Embed and store vectors for claims that have none for this model. Runs on the
        calling thread; returns how many texts were embedded."""
        todo = self.store.claim_texts_without_embedding(self.embedder.name)
        if not todo:
            return 0
        items = list(todo.items())
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            vectors = self.embedder.encode([t for _, t in part])
            self.store.put_embeddings(
                self.embedder.name, {h: v for (h, _), v in zip(part, vectors, strict=True)}
            )
            if progress is not None:
                progress(start + len(part), len(items))
        return len(items)

    def index(self, progress: Progress | None = None) -> ClaimIndex:
        """The claim index, opened and reconciled with the database on first use."""
        if self._index is None:

            def open_index() -> tuple[ClaimIndex, ReconcileReport]:
                self.embed_missing()
                model = self.embedder.name
                # The saved index knows its dimension: no model load just to open it.
                dim = ClaimIndex.saved_dim(self.settings.index_dir, model) or self.embedder.dim
                return ClaimIndex.open(
                    self.settings.index_dir, self.store, model, dim, progress=progress
                )

            self._index, self.reconciled = self.worker.call(open_index)
        return self._index

    def rebuild_index(self, progress: Progress | None = None) -> ClaimIndex:
        """Throw the index away and build it again from the database, embedding any claim
        that has no stored vector for this model."""

        def rebuild() -> ClaimIndex:
            self.embed_missing(progress)
            return ClaimIndex.rebuild(
                self.settings.index_dir, self.store, self.embedder.name, self.embedder.dim,
                progress,
            )

        self._index = self.worker.call(rebuild)
        return self._index

    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline(
                self.store,
                self.embedder,
                self.index(),
                self.worker,
                SentenceClaimExtractor(self.settings.ingest.min_claim_words),
            )
        return self._pipeline

    def query(self, text: str, k: int = 10) -> list[QueryHit]:
        """The ``k`` stored claims nearest to ``text``, best first. Claims with exactly the
        same text are folded into one hit (``same_text`` counts the others)."""
        index = self.index()

        def search() -> tuple[np.ndarray, np.ndarray]:
            vector = self.embedder.encode([text])
            return index.search(vector, k * 4 + 10)

        scores, ids = self.worker.call(search)
        found = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
        rows = self.store.claims([i for _, i in found])
        counts = self.store.same_text_counts([r.text_hash for r in rows.values()])
        hits: list[QueryHit] = []
        seen: set[str] = set()
        for score, claim_id in found:
            row = rows.get(claim_id)
            if row is None or row.text_hash in seen:
                continue
            seen.add(row.text_hash)
            hits.append(
                QueryHit(
                    claim_id=row.claim_id, post_id=row.post_id, source=row.source,
                    score=score, text=row.text, author=row.author, created_at=row.created_at,
                    same_text=counts.get(row.text_hash, 1) - 1,
                )
            )
            if len(hits) == k:
                break
        return hits
