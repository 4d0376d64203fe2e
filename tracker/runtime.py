"""The assembled parts of claimwatch for one process: settings, store, model worker,
embedder, index and pipeline. The CLI and the daemon build one and close it at exit."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np

from alerts.retry import RetryPolicy
from tracker.claims.examples import ExampleReader
from tracker.claims.extract import ClaimAnalyzer
from tracker.claims.lexicon import actors_from, lexicon_from
from tracker.claims.stance import StanceReader
from tracker.config.settings import Settings
from tracker.embedding.base import Embedder
from tracker.embedding.model import shared_embedder
from tracker.embedding.worker import ModelWorker
from tracker.errors import InputError
from tracker.index.claim_index import ClaimIndex, ReconcileReport
from tracker.ingest.normalize import normalize_text, text_hash
from tracker.ingest.tiers import TierResolver
from tracker.linking.incidents import IncidentLinker, incident_from_settings
from tracker.models import (
    ClaimKind,
    Finding,
    FindingStatus,
    Incident,
    Narrative,
    QueryHit,
    Status,
)
from tracker.narratives.engine import NarrativeEngine, ProcessReport
from tracker.pipeline import Pipeline
from tracker.rules.monitor import AlertMonitor, Rule
from tracker.search.retrieval import Bm25, fuse
from tracker.store import ClaimRow, Store
from tracker.store.leases import CLUSTERING

__all__ = ["Runtime", "shared_embedder"]

Progress = Callable[[int, int], None]


class Runtime:
    """Everything one claimwatch process works with. Use as a context manager."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, *, hold_alerts: bool = False
    ) -> None:
        self.settings = settings
        self.hold_alerts = hold_alerts
        self.store = Store(settings.database)
        self.worker = ModelWorker()
        self.embedder: Embedder = embedder or shared_embedder(settings.embedding)
        self.analyzer = ClaimAnalyzer(
            lexicon_from(settings), actors_from(settings), settings.ingest.min_claim_words
        )
        self._index: ClaimIndex | None = None
        self._pipeline: Pipeline | None = None
        self._reader: Store | None = None
        self._engine: NarrativeEngine | None = None
        self._monitor: AlertMonitor | None = None
        self._kinds: ExampleReader | None = None
        self._stance: StanceReader | None = None
        self._terms: Bm25 | None = None
        self._terms_upto = 0
        self.reconciled: ReconcileReport | None = None
        for item in settings.incidents:
            self.store.save_incident(incident_from_settings(item))

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reads(self) -> Store:
        """The read-only connection the pipeline's pre-write reads use (one, kept)."""
        if self._reader is None:
            self._reader = self.store.reader()
        return self._reader

    def close(self) -> None:
        """Save the index if it changed, then stop the threads and close the database."""
        try:
            if self._index is not None:
                self._index.close()  # a background ivf build is abandoned, not waited for
            if self._index is not None and self._index.dirty:
                self.worker.call(self._index.save)
        finally:
            if self._pipeline is not None:
                self._pipeline.close()
            if self._reader is not None:
                self._reader.close()
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
                    self.settings.index_dir, self.store, model, dim, progress=progress,
                    settings=self.settings.index,
                )

            self._index, self.reconciled = self.worker.call(open_index)
        return self._index

    def rebuild_index(self, progress: Progress | None = None) -> ClaimIndex:
        """Throw the index away and build it again from the database, embedding any claim
        that has no stored vector for this model."""

        def rebuild() -> ClaimIndex:
            self.embed_missing(progress)
            if self._index is not None:
                self._index.close()  # its background build must not save over the new one
            return ClaimIndex.rebuild(
                self.settings.index_dir, self.store, self.embedder.name, self.embedder.dim,
                progress, self.settings.index,
            )

        self._index = self.worker.call(rebuild)
        return self._index

    def engine(self) -> NarrativeEngine:
        if self._engine is None:
            tiers = TierResolver(self.settings.tiers)
            self._engine = NarrativeEngine(
                self.store, self.settings.narratives, self.embedder.name,
                relays_trusted=lambda text: tiers.relayed(text) is not None,
                known_actors=[a.name for a in actors_from(self.settings)],
            )
        return self._engine

    def monitor(self) -> AlertMonitor:
        """The alert rules, applied in event time; alerts go to every configured channel
        (or a rule's own), held undelivered when this runtime holds alerts."""
        if self._monitor is None:
            self._monitor = AlertMonitor(
                self.store,
                [Rule.from_settings(r) for r in self.settings.rules],
                [c.name for c in self.settings.channels],
                hold=self.hold_alerts,
            )
        return self._monitor

    def retry_policy(self) -> RetryPolicy:
        """How the outbox retries, from ``[outbox]``."""
        o = self.settings.outbox
        return RetryPolicy(
            max_attempts=o.max_attempts, max_age=o.max_age_minutes * 60,
            backoff=o.backoff_seconds, max_backoff=o.max_backoff_seconds, jitter=o.jitter,
        )

    def vectors_for(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of texts by text hash, from the store or embedded (and stored) now."""
        wanted = {text_hash(t): t for t in texts}
        have = self.store.embeddings(self.embedder.name, wanted)
        missing = [h for h in wanted if h not in have]
        if missing:
            encoded = self.worker.call(self.embedder.encode, [wanted[h] for h in missing])
            new = dict(zip(missing, encoded, strict=True))
            self.store.put_embeddings(self.embedder.name, new)
            have.update(new)
        return have

    def linker(self, only: str | None = None) -> IncidentLinker:
        """Links posts to the stored incidents (or to one of them)."""
        incidents = [i for i in self.store.incidents() if only is None or i.id == only]
        texts = {i.id: f"{i.title}. {i.description}".strip(" .") for i in incidents}
        vectors = self.vectors_for(list(texts.values())) if texts else {}
        return IncidentLinker(
            incidents,
            {iid: vectors[text_hash(t)] for iid, t in texts.items()},
            self.settings.linking.min_similarity,
        )

    def pipeline(self) -> Pipeline:
        """The ingest pipeline; stored posts never processed are processed first."""
        if self._pipeline is None:
            index = self.index()
            self._pipeline = Pipeline(
                self.store,
                self.embedder,
                index,
                self.worker,
                self.analyzer,
                TierResolver(self.settings.tiers),
                self.engine(),
                self.linker(),
                self.monitor(),
                kinds=self.kind_reader(),
                stance=self.stance_reader(),
                reader=self._reads(),
                lock_seconds=self.settings.service.lease_seconds,
            )
            self.catch_up()
        return self._pipeline

    def kind_reader(self) -> ExampleReader:
        """The second claim reader: kinds by nearness to the lexicon's example sentences,
        embedded once on the model thread."""
        if self._kinds is None:
            lexicon = lexicon_from(self.settings)
            self._kinds = self.worker.call(
                ExampleReader.for_kinds, self.embedder.encode, lexicon
            )
        return self._kinds

    def stance_reader(self) -> StanceReader:
        """Reads replies' stance: the lexicon's cues, then nearness to its examples."""
        if self._stance is None:
            lexicon = lexicon_from(self.settings)
            self._stance = self.worker.call(
                StanceReader.with_model, self.embedder.encode, lexicon
            )
        return self._stance

    def add_finding(
        self, incident_id: str, text: str, *, kind: ClaimKind | None = None,
        actors: Sequence[str] = (), status: FindingStatus = FindingStatus.CONFIRMED,
        at: datetime | None = None,
    ) -> Finding:
        """Record what an authority established and update the incident's narratives.

        ``kind`` and ``actors`` default to what the text itself says (an attribution naming
        TTP, say), and the values it gives are read from it ("a single gunman": it settles
        conflicting reports on how many attackers there were); actor names are mapped to
        their canonical names. ``at`` defaults to the latest post time of the incident
        (event time), else now."""
        self.incident(incident_id)
        text = normalize_text(text)
        reading = self.analyzer.analyze(text)
        named = tuple(sorted({self.analyzer.canonical_actor(a) or a for a in actors})) or (
            tuple(sorted({*reading.actors, *reading.candidate_actors}))
        )
        if kind is None:
            kind = ClaimKind.ATTRIBUTION if named else reading.kind
        when = at or self.store.latest_post_time(incident_id) or datetime.now(UTC)
        self.vectors_for([text])  # status rules compare the finding's text by meaning
        finding_id = self.store.add_finding(
            incident_id, text, text_hash(text), kind, named, status, when,
            values=[v.as_dict() for v in reading.values],
        )
        with self.store.transaction():
            # no other worker evaluates the rules meanwhile (an alert resolved twice)
            self.store.lock_clustering([CLUSTERING, incident_id],
                                       self.settings.service.lease_seconds)
            self.engine().refresh_statuses(incident_id)
            self.monitor().review(when)  # a finding resolves the alerts it decides
        return next(f for f, _ in self.store.findings(incident_id) if f.id == finding_id)

    def incident(self, incident_id: str, *, store: Store | None = None) -> Incident:
        """A stored incident; :class:`InputError` naming it when there is none. Reads
        ``store`` when given (a read-only connection of the daemon's read pool)."""
        incident = (store or self.store).incident(incident_id)
        if incident is None:
            raise InputError(f"no incident {incident_id!r}: see `claimwatch incident list`")
        return incident

    def add_incident(self, incident: Incident) -> ProcessReport:
        """Store an incident (or update one) and link the stored posts of its window."""
        self.store.save_incident(incident)
        return self.backfill(incident.id)

    def narratives(
        self, incident_id: str | None = None, status: Status | None = None,
        kind: ClaimKind | None = None, *, singletons: bool = False, store: Store | None = None,
    ) -> list[Narrative]:
        """Live narratives, most active first: posts (with reposts and replies) in the last
        ``[narratives] active_minutes`` of event time (before the incident's latest post),
        then size. Single posts nobody reposted or answered are left out unless
        ``singletons``. Reads ``store`` when given."""
        store = store or self.store
        if incident_id is not None:
            self.incident(incident_id, store=store)
        window = timedelta(minutes=self.settings.narratives.active_minutes)
        out: list[Narrative] = []
        scope = [incident_id] if incident_id else [i.id for i in store.incidents()]
        for iid in scope:
            latest = store.latest_post_time(iid)
            since = latest - window if latest else None
            out.extend(store.narrative_summaries(iid, since=since))
        out = [
            n for n in out
            if (status is None or n.status is status) and (kind is None or n.kind is kind)
            and (singletons or not n.singleton)
        ]
        out.sort(key=lambda n: (-n.recent, -n.size, n.first_seen, n.id))
        return out

    def catch_up(self, chunk: int = 2000, *, older_than: float | None = None) -> ProcessReport:
        """Link and cluster stored posts never processed (after a crash between ingest's
        two transactions, or in a database from before narratives existed): the
        pipeline's own processing step, a chunk at a time, then one consolidation. With
        ``older_than`` (seconds since the epoch), only posts stored before then: those a
        dead worker left (the daemon's ``orphans`` job)."""
        pipeline = self.pipeline()
        total = ProcessReport()
        while rowids := (
            self.store.unprocessed_posts(chunk) if older_than is None
            else self.store.orphan_posts(older_than, chunk)
        ):
            report, _ = pipeline.process(rowids)
            total.linked += report.linked
            total.narratives += report.narratives
        if total.narratives:
            pipeline.consolidate_now()
        return total

    def backfill(self, incident_id: str) -> ProcessReport:
        """Link stored posts inside an incident's window to it and cluster their claims
        (for an incident added after its posts arrived)."""
        incident = self.store.incident(incident_id)
        if incident is None:
            return ProcessReport()
        self.index()  # every claim has its vector before clustering
        linker = self.linker(only=incident_id)
        rowids = self.store.post_rowids_between(incident.started_at, incident.ends_at)
        total = ProcessReport()
        with self._coordinated(incident_id):
            for start in range(0, len(rowids), 2000):
                report = self.engine().process(rowids[start : start + 2000], linker, mark=False)
                total.linked += report.linked
                total.narratives += report.narratives
            self.engine().consolidate()
        return total

    @contextmanager
    def _coordinated(self, incident_id: str) -> Iterator[None]:
        """Narratives changed outside a batch, as other workers expect it: the pipeline's
        coordinated transaction; without a pipeline (a CLI verb) the clustering locks, the
        narratives read again under them, and the clustering revision bumped."""
        if self._pipeline is not None:
            with self._pipeline.coordinated():
                yield
            return
        with self.store.transaction():
            self.store.lock_clustering([CLUSTERING, incident_id],
                                       self.settings.service.lease_seconds)
            self.engine().reload()
            yield
            _, clock = self.store.clustering_revision()
            self.store.bump_clustering_revision(clock, "cli")

    def term_stats(self, store: Store | None = None) -> Bm25:
        """BM25 statistics of every stored claim, brought up to date (incrementally)."""
        if self._terms is None:
            self._terms = Bm25()
        while batch := (store or self.store).claim_texts_after(self._terms_upto):
            self._terms.add([t for _, t in batch])
            self._terms_upto = batch[-1][0]
        return self._terms

    def query(
        self, text: str, k: int = 10, incident_id: str | None = None, *,
        store: Store | None = None,
    ) -> list[QueryHit]:
        """The ``k`` stored claims nearest to ``text``, best first, each with the
        narratives it is in. Claims with exactly the same text are folded into one hit
        (``same_text`` counts the others). With ``incident_id``, only claims in that
        incident's narratives.

        Ranking: the dense (FAISS) candidates, at least 50, re-ranked by the fusion of
        their cosine similarity with BM25 under the whole corpus's term weights
        (:data:`tracker.search.retrieval.FUSION_WEIGHT`): that is ``score``; ``similarity`` is
        the cosine similarity. On CheckThat! 2020 dev this ranking scores MAP@5 .852
        against .800 for dense alone. Reads ``store`` when given."""
        store = store or self.store
        if incident_id is not None:
            self.incident(incident_id, store=store)
        index = self.index()
        fetch = max(50, k * 4 + 10)
        stats = self.term_stats(store)

        def encode_and_search() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
            query = self.embedder.encode([text])
            return query, index.search(query, fetch)

        # the first search in the same trip to the model thread as the encoding
        vector, (scores, ids) = self.worker.call(encode_and_search)
        while True:
            found = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
            rows = store.claims([i for _, i in found])  # once: for the rerank and the hits
            hits = self._hits(store, rows, self._rerank(text, found, rows, stats), k,
                              incident_id)
            if len(hits) >= k or len(found) < fetch or fetch >= len(index):
                return hits
            fetch *= 4
            scores, ids = self.worker.call(index.search, vector, fetch)

    def _rerank(
        self, text: str, found: list[tuple[float, int]], rows: Mapping[int, ClaimRow],
        stats: Bm25,
    ) -> list[tuple[float, float, int]]:
        """``found`` (cosine, claim id) as (fused score, cosine, claim id), best first."""
        if not found:
            return []
        texts = [rows[i].text if i in rows else "" for _, i in found]
        dense = np.array([s for s, _ in found], dtype=np.float64)
        fused = fuse(dense, stats.scores(text, texts))
        ranked = [(float(fused[j]), cosine, cid) for j, (cosine, cid) in enumerate(found)]
        ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
        return ranked

    def _hits(
        self, store: Store, rows: Mapping[int, ClaimRow], found: list[tuple[float, float, int]],
        k: int, incident_id: str | None,
    ) -> list[QueryHit]:
        memberships = store.claim_narratives(list(rows), incident_id)
        counts = store.same_text_counts([r.text_hash for r in rows.values()])
        hits: list[QueryHit] = []
        seen: set[str] = set()
        for score, cosine, claim_id in found:
            row = rows.get(claim_id)
            if row is None or row.text_hash in seen:
                continue
            if incident_id is not None and claim_id not in memberships:
                continue
            seen.add(row.text_hash)
            hits.append(
                QueryHit(
                    claim_id=row.claim_id, post_id=row.post_id, source=row.source,
                    score=score, similarity=cosine, text=row.text, author=row.author,
                    created_at=row.created_at,
                    same_text=counts.get(row.text_hash, 1) - 1,
                    narratives=tuple(memberships.get(claim_id, ())),
                )
            )
            if len(hits) == k:
                break
        return hits
