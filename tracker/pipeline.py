"""One batch of posts in, everything after it in order: dedupe, claims, vectors, store, index.

The order is what makes a crash harmless: vectors are computed first, then posts, claims
and new vectors are committed in one transaction, and only then added to the FAISS index.
The index is therefore never ahead of the database, and whatever it lacks after a crash is
added back from the stored vectors when it is next opened.

Several workers may share one database. Reading, claims and embedding run in parallel in
each; what follows a commit (linking, clustering, rule evaluation, consolidation) runs in
:meth:`Pipeline.coordinated`: one transaction holding the clustering locks of every
incident the batch can touch and of the monitor's cross-incident state
(:meth:`~tracker.store.leases.LeaseTables.lock_clustering`; SQLite's ``BEGIN IMMEDIATE``
serialises writers by itself), in which the worker first reads narratives again when the
clustering revision shows another worker changed them since its own last change. So
narrative ids and alert decisions are what one worker would have made for the same order
of posts.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import numpy as np

from tracker.claims.extract import ClaimExtractor
from tracker.embedding.base import Embedder
from tracker.embedding.worker import ModelWorker
from tracker.errors import PostError
from tracker.index.claim_index import ClaimIndex
from tracker.ingest.normalize import text_hash
from tracker.ingest.tiers import TierResolver
from tracker.linking.incidents import IncidentLinker
from tracker.models import Alert, Claim, ClaimKind, Post, Stance, Tier
from tracker.narratives.engine import NarrativeEngine, ProcessReport
from tracker.rules.monitor import AlertMonitor
from tracker.store import NewPost, Store
from tracker.store.leases import CLUSTERING

__all__ = ["BatchResult", "IngestReport", "Outcome", "Pipeline", "Rejected", "reject"]

T = TypeVar("T")


class Outcome(enum.StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that was not taken: where it was (line number, or item index) and why."""

    line: int
    reason: str


@dataclass(slots=True)
class BatchResult:
    """Per post, in the order given: stored or duplicate; and the counts behind them."""

    outcomes: list[Outcome]
    claims: int = 0
    embedded: int = 0
    reused: int = 0
    linked: int = 0
    narratives: int = 0
    alerts: list[Alert] = field(default_factory=list)


@dataclass(slots=True)
class IngestReport:
    """The summary of one ingest: records read, posts stored, duplicates, rejected lines,
    claims stored, texts embedded, and claims whose vector was reused (never re-embedded)."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    claims: int = 0
    embedded: int = 0
    reused: int = 0
    linked: int = 0
    narratives: int = 0
    alerts: int = 0
    rejects: list[Rejected] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def add(self, batch: BatchResult) -> None:
        self.stored += batch.outcomes.count(Outcome.STORED)
        self.duplicates += batch.outcomes.count(Outcome.DUPLICATE)
        self.claims += batch.claims
        self.embedded += batch.embedded
        self.reused += batch.reused
        self.linked += batch.linked
        self.narratives += batch.narratives
        self.alerts += len(batch.alerts)

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "claims": self.claims,
            "embedded": self.embedded,
            "reused": self.reused,
            "linked": self.linked,
            "narratives": self.narratives,
            "alerts": self.alerts,
            "rejected_lines": [{"line": r.line, "reason": r.reason} for r in self.rejects],
        }


def reject(
    line: int, error: PostError, rejects: list[Rejected],
    on_reject: Callable[[Rejected], None] | None,
) -> None:
    """Record a rejected record and tell ``on_reject``: ingest and replay share this."""
    rejected = Rejected(line, str(error))
    rejects.append(rejected)
    if on_reject is not None:
        on_reject(rejected)


def _with_tier(post: Post, tier: Tier) -> Post:
    """``post`` with ``tier`` (``post`` itself when it has it already)."""
    return post if post.tier is tier else replace(post, tier=tier)


class KindReader(Protocol):
    """The second claim reader: from claims and their vectors (one (n, dim) float32 row
    each), the claims with their kinds read again by meaning (nearness to example
    sentences), in order."""

    def refine_kinds(self, claims: Sequence[Claim], vectors: np.ndarray) -> list[Claim]: ...


class StanceReading(Protocol):
    """Reads replies' stances toward what they answer, from their texts (and a vector
    each, when there is one), in order."""

    def read_all(self, replies: Sequence[tuple[str, np.ndarray | None]]) -> list[Stance]: ...


@dataclass(slots=True)
class _Read:
    """A fresh post with the claims read from it, before vectors are known."""

    post: Post
    digest: str
    claims: list[Claim]


@dataclass(slots=True)
class _Staged:
    """A batch read but not yet embedded: outcomes so far, where the fresh posts were,
    their claims, the claim texts by hash and the vectors found cached."""

    outcomes: list[Outcome]
    fresh_at: list[int]
    read: list[_Read]
    texts: dict[str, str]
    cached: dict[str, np.ndarray]


@dataclass(slots=True)
class _Prepared:
    """A batch ready to commit: outcomes so far, where the fresh posts were, their rows
    with claims, cached and new vectors by text hash, and how many texts were embedded."""

    outcomes: list[Outcome]
    fresh_at: list[int]
    new_posts: Sequence[NewPost]
    cached: dict[str, np.ndarray]
    new_vectors: dict[str, np.ndarray]
    embedded: int


async def _after(
    before: asyncio.Future[Any] | None, step: Callable[[], Awaitable[T]]
) -> T:
    """``step()`` once ``before`` is done (batches in order); when ``before`` failed, stop
    here (CancelledError): its error is the one raised."""
    if before is not None:
        await asyncio.wait([before])
        if before.exception() is not None:
            raise asyncio.CancelledError
    return await step()


class Pipeline:
    """Runs batches of posts through claims, embedding, the store and the index.

    Model and FAISS work runs on ``worker``'s thread; database writes on one writer
    thread of the pipeline's own. Call from a running event loop.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        index: ClaimIndex,
        worker: ModelWorker,
        extractor: ClaimExtractor,
        tiers: TierResolver,
        engine: NarrativeEngine,
        linker: IncidentLinker,
        monitor: AlertMonitor | None = None,
        kinds: KindReader | None = None,
        stance: StanceReading | None = None,
        reader: Store | None = None,
        holder: str | None = None,
        lock_seconds: float = 30.0,
    ) -> None:
        self.store = store
        # this worker's id in the clustering revision; how long to wait for another's locks
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.lock_seconds = lock_seconds
        self._revision: int | None = None  # the clustering revision last seen (None: never)
        self._coordinating = False
        # reads before the first write of a batch (dedupe, cached vectors) go to a
        # read-only connection on a thread of their own, so the next batch is read and
        # embedded while the writer still clusters the last one
        self.reader = reader if reader is not None else store
        self.embedder = embedder
        self.index = index
        self.worker = worker
        self.extractor = extractor
        self.tiers = tiers
        self.engine = engine
        self.linker = linker
        self.monitor = monitor
        self.kinds = kinds
        self.stance = stance
        # claims of texts embed_ahead read (a replay), by text hash: read once
        self._read_ahead: dict[str, list[Claim]] = {}
        self.merge_alerts: list[Alert] = []  # see take_merge_alerts
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claimwatch-db")
        self._reads = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="claimwatch-read")
            if self.reader is not store else self._writer
        )

    async def _db(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _read(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reads, fn, *args)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        if self._reads is not self._writer:
            self._reads.shutdown(wait=True)

    def _claims_of(self, posts: Iterable[Post]) -> list[_Read]:
        memo: dict[str, list[Claim]] = {}
        out: list[_Read] = []
        for post in posts:
            digest = text_hash(post.text)
            if post.is_repost:
                claims: list[Claim] = []
            elif digest in memo:
                claims = memo[digest]
            elif digest in self._read_ahead:  # read by embed_ahead: not read again
                claims = memo[digest] = self._read_ahead[digest]
            else:
                claims = memo[digest] = self.extractor.extract(post.text)
            out.append(_Read(_with_tier(post, self.tiers.tier_of(post)), digest, claims))
        return out

    def _finish(self, read: Sequence[_Read], vectors: dict[str, np.ndarray]) -> list[NewPost]:
        """The posts to store: each claim's kind read again by meaning, each reply's stance
        read (with its first claim's vector, when it has one)."""
        # every claim's vector, by its text (a text is hashed once)
        found: dict[str, np.ndarray | None] = {}
        for item in read:
            for c in item.claims:
                if c.text not in found:
                    found[c.text] = vectors.get(text_hash(c.text))
        claims = [list(item.claims) for item in read]
        if self.kinds is not None:
            # one matrix product for the batch's ``other`` claims that have a vector
            at = [
                (n, k, v) for n, item in enumerate(read) for k, c in enumerate(item.claims)
                if c.kind is ClaimKind.OTHER and (v := found[c.text]) is not None
            ]
            if at:
                todo = [claims[n][k] for n, k, _ in at]
                rows = np.vstack([v for _, _, v in at])
                refined = self.kinds.refine_kinds(todo, rows)
                for (n, k, _), claim in zip(at, refined, strict=True):
                    claims[n][k] = claim
        stances: list[Stance | None] = [None] * len(read)
        if self.stance is not None:
            replies = [
                n for n, item in enumerate(read)
                if item.post.reply_to is not None and not item.post.is_repost
            ]
            readings = self.stance.read_all([
                (read[n].post.text, found[claims[n][0].text] if claims[n] else None)
                for n in replies
            ])
            for n, stance in zip(replies, readings, strict=True):
                stances[n] = stance
        return [
            NewPost(item.post, item.digest, item_claims, stance)
            for item, item_claims, stance in zip(read, claims, stances, strict=True)
        ]

    async def add_posts(self, posts: Sequence[Post]) -> BatchResult:
        """Store a batch of posts; a post whose (source, id) is stored already, or that
        appears twice in the batch, is a duplicate and changes nothing."""
        prepared = await self._prepare(posts)
        if isinstance(prepared, BatchResult):
            return prepared
        return await self._commit(prepared)

    async def _prepare(self, posts: Sequence[Post]) -> _Prepared | BatchResult:
        """Dedupe against the store, read claims, embed what is not cached: everything
        before the first write (a BatchResult when every post is a duplicate)."""
        staged = await self._stage(posts)
        if isinstance(staged, BatchResult):
            return staged
        return await self._embed(staged)

    async def _stage(self, posts: Sequence[Post]) -> _Staged | BatchResult:
        """The reads before the model: dedupe against the store, claims read, vectors
        found cached (a BatchResult when every post is a duplicate)."""
        model = self.embedder.name
        existing = await self._read(self.reader.existing_keys, [(p.source, p.id) for p in posts])
        seen: set[tuple[str, str]] = set()
        fresh: list[Post] = []
        fresh_at: list[int] = []
        outcomes = [Outcome.DUPLICATE] * len(posts)
        for position, post in enumerate(posts):
            key = (post.source, post.id)
            if key in existing or key in seen:
                continue
            seen.add(key)
            fresh.append(post)
            fresh_at.append(position)
        if not fresh:
            return BatchResult(outcomes)

        # reading claims and stances is pure CPU work: off the event loop
        read = await asyncio.to_thread(self._claims_of, fresh)
        texts = {text_hash(c.text): c.text for item in read for c in item.claims}
        cached = await self._read(self.reader.embeddings, model, list(texts))
        return _Staged(outcomes, fresh_at, read, texts, cached)

    async def _embed(self, staged: _Staged) -> _Prepared:
        """Embed the texts not cached, then read kinds by meaning and replies' stances."""
        return await self._finished(staged, await self._encode(staged))

    async def _encode(self, staged: _Staged) -> dict[str, np.ndarray]:
        """The vectors of the staged texts not cached, by text hash (on the model thread)."""
        texts, cached = staged.texts, staged.cached
        missing = [h for h in texts if h not in cached]
        if not missing:
            return {}
        encoded = await self.worker.run(self.embedder.encode, [texts[h] for h in missing])
        return dict(zip(missing, encoded, strict=True))

    async def _finished(self, staged: _Staged, new_vectors: dict[str, np.ndarray]) -> _Prepared:
        """Kinds read by meaning and replies' stances, once the vectors are there."""
        cached = staged.cached
        new_posts = await asyncio.to_thread(self._finish, staged.read, {**cached, **new_vectors})
        return _Prepared(
            staged.outcomes, staged.fresh_at, new_posts, cached, new_vectors, len(new_vectors)
        )

    async def _commit(self, prep: _Prepared) -> BatchResult:
        """Commit a prepared batch, add its vectors to the index, link and cluster it and
        apply the rules."""
        model = self.embedder.name
        inserted, stored = await self._db(
            self.store.add_posts, prep.new_posts, model, prep.new_vectors
        )
        outcomes = prep.outcomes
        rowids: list[int] = []
        for position, rowid in zip(prep.fresh_at, inserted, strict=True):
            if rowid is not None:
                outcomes[position] = Outcome.STORED
                rowids.append(rowid)
        # the index add queues on the model thread (behind the next batch's encode, where
        # adds and searches belong): clustering and the rules, which never read the index,
        # do not wait for it
        added: asyncio.Future[None] | None = None
        if stored:
            vectors = {**prep.cached, **prep.new_vectors}
            ids = np.fromiter((c.id for c in stored), dtype=np.int64, count=len(stored))
            matrix = np.vstack([vectors[c.text_hash] for c in stored])
            added = asyncio.ensure_future(
                self.worker.run(functools.partial(self.index.add, replace=False), ids, matrix)
            )
        try:
            processed, alerts = await self._db(self.process, rowids)
        finally:
            if added is not None:
                await added
        return BatchResult(
            outcomes,
            claims=len(stored),
            embedded=prep.embedded,
            reused=max(0, len(stored) - prep.embedded),
            linked=processed.linked,
            narratives=processed.narratives,
            alerts=alerts,
        )

    async def embed_ahead(self, posts: Sequence[Post], chunk: int = 2048) -> int:
        """Embed and store, in large batches, the claim texts of posts about to be added
        in small ones (a replay in event-time order), so their batches find every vector
        cached. Returns how many texts were embedded."""
        model = self.embedder.name
        texts: dict[str, str] = {}
        for post in posts:
            if post.is_repost:
                continue
            digest = text_hash(post.text)
            if digest not in self._read_ahead:
                self._read_ahead[digest] = self.extractor.extract(post.text)
            texts.update((text_hash(c.text), c.text) for c in self._read_ahead[digest])
        cached = await self._db(self.store.embeddings, model, list(texts))
        missing = [h for h in texts if h not in cached]
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            encoded = await self.worker.run(self.embedder.encode, [texts[h] for h in part])
            await self._db(self.store.put_embeddings, model, dict(zip(part, encoded, strict=True)))
        return len(missing)

    @contextmanager
    def coordinated(self) -> Iterator[None]:
        """One transaction in which this worker alone changes narratives and alert states:
        the clustering locks of every incident the linker knows and of the monitor's
        cross-incident state are taken (waited for at most ``lock_seconds``), narratives
        and the monitor's clock are read again when another worker changed them since
        this one last did, and the clustering revision is bumped at the end (with the
        monitor's clock). Nested uses join the outer one. A failure rolls back and reads
        narratives again."""
        if self._coordinating:  # joined the outer one
            yield
            return
        store = self.store
        self._coordinating = True
        try:
            with store.transaction():
                keys = [CLUSTERING, *(i.id for i in self.linker.incidents)]
                store.lock_clustering(keys, self.lock_seconds)
                revision, clock = store.clustering_revision()
                if revision != self._revision:
                    self.engine.reload()
                    if self.monitor is not None and clock is not None:
                        self.monitor.resume(datetime.fromtimestamp(clock, UTC),
                                            [i.id for i in self.linker.incidents])
                yield
                now = self.monitor.clock if self.monitor is not None else None
                self._revision = store.bump_clustering_revision(
                    None if now is None else now.timestamp(), self.holder
                )
        except BaseException:
            self._revision = None
            self.engine.reload()
            raise
        finally:
            self._coordinating = False

    def process(self, rowids: Sequence[int]) -> tuple[ProcessReport, list[Alert]]:
        """Link and cluster stored posts, then evaluate the alert rules at the times they
        joined narratives: one :meth:`coordinated` transaction, so a crash keeps both or
        neither. Runs on the writer thread. Processing a post twice (an orphan taken up
        by two workers) changes nothing the second time: its links exist already."""
        with self.coordinated():
            report = self.engine.process(rowids, self.linker)
            alerts = self.monitor.evaluate(report.joins) if self.monitor else []
        return report, alerts

    def evaluate_now(self, until: datetime) -> list[Alert]:
        """Evaluate the rules at ``until`` (open alerts on narratives gone quiet resolve),
        coordinated with other workers. Runs on the writer thread."""
        if self.monitor is None:
            return []
        with self.coordinated():
            return self.monitor.evaluate([], until)

    async def run_db(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn`` on the pipeline's database writer thread."""
        return await self._db(fn, *args)

    async def consolidate(self) -> int:
        """Merge narratives that drifted together; the number of merges. Alerts left open
        on merged narratives are resolved (returned by :meth:`take_merge_alerts`)."""
        return await self._db(self.consolidate_now)

    def consolidate_now(self) -> int:
        """:meth:`consolidate` on the calling thread (the writer's, or before the pipeline
        serves anyone)."""
        with self.coordinated():
            merges = self.engine.consolidate()
            merged, self.engine.merged_alerts = self.engine.merged_alerts, []
            if self.monitor is not None and merged:
                self.merge_alerts.extend(self.monitor.resolve_merged(merged))
        return merges

    def take_merge_alerts(self) -> list[Alert]:
        """The alert events consolidation raised since the last call (merged narratives'
        alerts resolved), in order."""
        out, self.merge_alerts = self.merge_alerts, []
        return out

    async def ingest(
        self,
        items: AsyncIterator[tuple[int, Post | PostError]],
        batch_size: int,
        *,
        on_reject: Callable[[Rejected], None] | None = None,
        on_batch: Callable[[IngestReport], None] | None = None,
        stop_on_reject: bool = False,
    ) -> IngestReport:
        """Feed numbered records (a post, or the error that rejected it) through in
        batches. Rejected records are counted and reported, the rest go in. With
        ``stop_on_reject`` the first rejected record ends the run after the posts before
        it are committed."""
        report = IngestReport()
        batch: list[Post] = []
        # Batches are committed and clustered on the writer thread, in order, while the
        # next ones are read and embedded on the model thread: the model never waits for
        # the database. At most ``depth`` commits are in flight.
        depth = 2
        pending: list[asyncio.Task[BatchResult]] = []

        async def settle(keep: int) -> None:
            while len(pending) > keep:
                report.add(await pending.pop(0))
                if on_batch is not None:
                    on_batch(report)

        async def chained(
            before: asyncio.Task[BatchResult] | None, prep: Awaitable[_Prepared]
        ) -> BatchResult:
            prepared = await prep
            # the outcome of the batch before is collected by settle
            return await _after(before, lambda: self._commit(prepared))

        # the next batch is read (claims, cache) while the current one is embedded
        staged: asyncio.Task[_Staged | BatchResult] | None = None

        async def embed_and_commit(stage: _Staged | BatchResult) -> None:
            if isinstance(stage, BatchResult):
                await settle(0)  # keep the report in batch order
                report.add(stage)
                if on_batch is not None:
                    on_batch(report)
                return
            # kinds and stances are read while the model takes the next batch
            prepared = asyncio.ensure_future(self._finished(stage, await self._encode(stage)))
            try:
                await settle(depth - 1)
            except BaseException:
                prepared.cancel()
                await asyncio.gather(prepared, return_exceptions=True)
                raise
            before = pending[-1] if pending else None
            pending.append(asyncio.ensure_future(chained(before, prepared)))
            await asyncio.sleep(0)  # let it queue its write before the next batch's reads

        # batches go to the model one after another as soon as they are staged, not when
        # the reader has the next one: at most two in flight (one embedding, one waiting)
        embeds: list[asyncio.Task[None]] = []

        async def embed_staged(stage: asyncio.Task[_Staged | BatchResult]) -> None:
            await embed_and_commit(await stage)

        async def push(posts: list[Post] | None) -> None:
            nonlocal staged
            # one batch read at a time: the first batch's claims are not slowed by the
            # second's, so the model starts sooner
            following = asyncio.ensure_future(
                _after(staged, functools.partial(self._stage, posts))
            ) if posts else None
            if staged is not None:
                current, staged = staged, None
                if len(embeds) >= 2:
                    await embeds.pop(0)
                embeds.append(asyncio.ensure_future(_after(
                    embeds[-1] if embeds else None, functools.partial(embed_staged, current)
                )))
            staged = following
            if posts is None:
                while embeds:
                    await embeds.pop(0)

        try:
            async for line, item in items:
                report.read += 1
                if isinstance(item, PostError):
                    reject(line, item, report.rejects, on_reject)
                    if stop_on_reject:
                        break
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    await push(batch)
                    batch = []
            if batch:
                await push(batch)
            await push(None)
            await settle(0)
        finally:
            if staged is not None:
                await asyncio.gather(staged, return_exceptions=True)
            if embeds:
                await asyncio.gather(*embeds, return_exceptions=True)
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if report.stored:
            await self.consolidate()
        return report
