"""The daemon behind ``claimwatch run``: one process, one event loop, an aiohttp application
(the HTTP API of :mod:`tracker.daemon.api`) and an APScheduler 3.x ``AsyncIOScheduler`` running
(see :mod:`tracker.daemon.jobs`):

- ``poll:NAME`` per enabled source, every ``interval_seconds`` (a little jitter): fetch what
  is new since the saved cursor, commit it through the pipeline, and only then save the new
  cursor. A failing source logs its name and reason and is retried with exponential backoff
  (the reset time of a rate limit when the server gave one) while the others carry on; a
  disabled source (an X source without a token) logs one line at start and is never polled;
- ``consolidate`` every ``[service] consolidate_seconds``: merge and relabel narratives;
- ``evaluate`` every ``evaluate_seconds``: pick up incidents changed by the CLI, then
  evaluate the alert rules at the current time (alerts on narratives gone quiet resolve);
- ``drain`` every ``drain_seconds`` (and at once after a batch raised alerts): send due
  alert deliveries from the outbox;
- ``save-index`` every ``save_index_seconds``: save the FAISS index when it changed;
- ``follow`` every ``follow_seconds``: claims committed by another process (``claimwatch
  ingest`` into this database, another worker) are added to the FAISS index from their
  stored vectors, and to the BM25 statistics, so a query answers the same whichever way
  the posts came, and the index saved at exit holds them (the next start need not rebuild);
- ``orphans`` every ``[service] lease_seconds``: posts stored but left unprocessed longer
  than that (their worker died between its two transactions) are linked and clustered.

Several workers (``claimwatch run`` processes) may share one database. Each has a worker
id (host, pid and a random suffix: in the log and ``/healthz`` detail). A source is polled
by the worker holding its lease (:mod:`tracker.store.leases`); clustering and rule
evaluation run under the clustering locks (:meth:`tracker.pipeline.Pipeline.coordinated`);
each drain claims the deliveries it sends (:mod:`alerts.outbox`); ``follow`` brings in the
others' claims. A worker killed mid-burst leaves leases and claims that run out after
``lease_seconds``, and posts that the ``orphans`` job takes up.

Posts from sources and from ``POST /v1/posts`` go through one
:class:`~tracker.daemon.intake.Intake` queue, processed one batch at a time (small batches
that wait together are merged, up to ``[ingest] batch_posts`` posts); a pushed batch is
answered only after it is committed; a post the pipeline fails on is rejected alone,
its neighbours stored (see :mod:`tracker.daemon.intake`). The model and FAISS stay on the
runtime's model worker thread, SQLite writes on the pipeline's writer thread, reads on the
:class:`~tracker.store.pool.ReadPool` (read-only WAL connections: a read never waits for
the writer, and has ``[service] read_timeout_seconds``): the loop only waits.

SIGTERM or SIGINT: stop accepting (POST answers 503, then the listening socket closes),
finish the requests and the batch in flight, drain what the outbox can send quickly, save
the index, log a one-line summary and return, all within ``[service] grace_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import socket
import sqlite3
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from alerts.channels.base import Channel
from alerts.channels.registry import build_channels, close_channels
from alerts.outbox import Drainer
from tracker.config.settings import PostgresDatabase, Settings
from tracker.daemon.api import build_app, server_options
from tracker.daemon.intake import Intake
from tracker.daemon.jobs import Cursor, Job, Poller, Running, SourceHealth, start_scheduler
from tracker.daemon.metrics import Metrics, TimedEmbedder
from tracker.daemon.page import add_page_routes
from tracker.errors import ConfigError, IndexFileError, ModelError, StoreError
from tracker.index.claim_index import ClaimIndex
from tracker.models import Alert, Post
from tracker.pipeline import Outcome, Pipeline
from tracker.runtime import Runtime, shared_embedder
from tracker.sources.registry import build_source
from tracker.store import Store
from tracker.store.pool import ReadPool

__all__ = [
    "LOOP_PROBE_SECONDS",
    "READ_CONNECTIONS",
    "Daemon",
    "Summary",
    "run_daemon",
    "serve",
    "systemic",
]

log = logging.getLogger("claimwatch.service")

READ_CONNECTIONS = 4
"""Read-only connections (and threads) of the daemon's read pool."""

LOOP_PROBE_SECONDS = 0.01
"""How often the loop watcher wakes; how late it wakes is the loop's stall (seconds)."""

FOLLOW_LOOKBACK = 20_000
"""Claim ids below the highest seen that ``follow`` looks at again: on PostgreSQL ids are
handed out before commit, so another worker's claims can become visible after higher ones."""


def worker_id() -> str:
    """This process's worker id: host, pid and a random suffix (``host:1234:a1b2c3``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(slots=True)
class Summary:
    """What one run of the daemon did, for the line logged at exit."""

    started: float = field(default_factory=time.monotonic)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    polls: int = 0
    poll_errors: int = 0
    alerts: int = 0
    sent: int = 0
    pending: int = 0
    unfinished: int = 0
    vectors: int = 0
    index_saved: bool = False

    def line(self) -> str:
        """One line: counts since start, deliveries left, the index."""
        seconds = time.monotonic() - self.started
        index = f"index saved ({self.vectors} vectors)" if self.index_saved else (
            f"index unchanged ({self.vectors} vectors)")
        left = f", {self.unfinished} queued posts left unprocessed" if self.unfinished else ""
        return (
            f"claimwatch stopped after {seconds:.0f} s: {self.stored} posts stored, "
            f"{self.duplicates} duplicates, {self.rejected} rejected; {self.polls} polls "
            f"({self.poll_errors} failed); {self.alerts} alert events; {self.sent} deliveries "
            f"sent, {self.pending} pending; {index}{left}"
        )


class Daemon:
    """The daemon's state: pipeline, intake, read pool, sources, scheduler, outbox drainer.

    Build one per run, serve :meth:`application` (its ``cleanup_ctx`` starts and stops the
    daemon, as :func:`serve` does) and call :meth:`request_stop` to shut it down. It is
    what :class:`tracker.daemon.api.Service` describes."""

    def __init__(
        self, settings: Settings, runtime: Runtime, metrics: Metrics, *,
        environ: Mapping[str, str],
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.metrics = metrics
        self.environ = environ
        service = settings.service
        self.token: str | None = (environ.get(service.token_env) or "").strip() or None
        self.read_token: str | None = (
            (environ.get(service.read_token_env) or "").strip() or None)
        self.database = settings.database_label
        self.reads = ReadPool(settings.database, size=READ_CONNECTIONS,
                              timeout=service.read_timeout_seconds)
        self.intake = Intake(self._process, capacity=service.queue_batches,
                             max_posts=settings.ingest.batch_posts, systemic=systemic)
        metrics.watch_queue(lambda: self.intake.depth)
        self.summary = Summary()
        self.worker = worker_id()
        self.poller = Poller(
            self.intake.submit, cursor=self._cursor, save_cursor=self._save_cursor,
            before_search=self._refresh_incidents, metrics=metrics, lease=self._lease,
        )
        self.running = Running()
        self.accepting = False
        self.stopping = False
        self.stopped = asyncio.Event()
        self.deadline = float("inf")  # monotonic, once a stop is requested
        self._pipeline: Pipeline | None = None
        self._drainer: Drainer | None = None
        self._channels: dict[str, Channel] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._terms: tuple[str, ...] = ()
        self._incidents: dict[str, tuple[Any, ...]] | None = None
        self._drain_lock = asyncio.Lock()
        # Runtime.query updates its BM25 statistics in place: one query at a time.
        self.query_lock = asyncio.Lock()
        self._since_consolidate = 0
        self._watcher: asyncio.Task[None] | None = None
        # Held while a batch is processed, and while other processes' claims are added to
        # the index: every claim this daemon committed is in the index by then.
        self._index_lock = asyncio.Lock()
        self._followed = 0  # claims up to this id are in the index
        self.followed = 0  # claims of other processes added to the index since start

    @property
    def health(self) -> dict[str, SourceHealth]:
        """Per source, what ``/healthz`` shows of it."""
        return self.poller.health

    # -- life cycle ---------------------------------------------------------------------

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the daemon has not started")
        return self._pipeline

    def application(self) -> web.Application:
        """The HTTP API serving this daemon; starting the app starts the daemon, cleaning
        it up stops it."""
        app = build_app(self)
        add_page_routes(app, self)  # the analyst's page at GET /
        app.cleanup_ctx.append(self.lifespan)
        return app

    def runner(self, **options: Any) -> web.AppRunner:
        """An ``AppRunner`` of :meth:`application` with the server options the API needs
        (:func:`tracker.daemon.api.server_options`: header timeout, no decompression by
        aiohttp), ``options`` added."""
        return web.AppRunner(self.application(),
                             **{**server_options(self.settings.service), **options})

    def request_stop(self) -> None:
        """Begin a graceful stop (the signal handler): refuse new posts at once; the
        deadline is ``[service] grace_seconds`` from now."""
        if self.stopping:
            return
        log.info("stopping: finishing the work in flight (at most %g s)",
                 self.settings.service.grace_seconds)
        self.stopping = True
        self.accepting = False
        self.running.close()
        self.deadline = time.monotonic() + self.settings.service.grace_seconds
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        self.stopped.set()

    def remaining(self) -> float:
        """Seconds left before the stop deadline (inf before a stop is requested)."""
        return self.deadline - time.monotonic()

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """The aiohttp ``cleanup_ctx``: start everything, yield while serving, stop."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Open the index and pipeline (catching up on unprocessed posts), load the model,
        build channels and sources, schedule the jobs and start taking posts."""
        settings = self.settings
        try:
            self._channels = build_channels(
                [c.model_dump() for c in settings.channels], environ=self.environ
            )
            for spec in settings.sources:
                source = build_source(spec, terms=lambda: self._terms, environ=self.environ)
                self.poller.add(spec.name, spec.type, source, interval=spec.interval_seconds,
                                timeout=spec.timeout_seconds)
            self._pipeline = await asyncio.to_thread(self.runtime.pipeline)
            self._pipeline.holder = self.worker
            embedder = self.runtime.embedder
            await self.runtime.worker.run(lambda: embedder.dim)  # load the model now
            index = self.runtime.index()
            self._followed = await self.runtime.worker.run(
                lambda: int(index.ids().max(initial=0)))
            await self._refresh_incidents()
        except BaseException:
            await self._close_connections()
            await asyncio.to_thread(self.reads.close)
            raise
        self._drainer = Drainer(
            self.runtime.store.outbox, self._channels, self.runtime.retry_policy(),
            blocking=self._writer, on_result=self._delivery_result,
            holder=self.worker, claim_seconds=settings.service.lease_seconds,
        )
        self.intake.start()
        self._scheduler = start_scheduler(self._jobs())
        self.accepting = True
        self._watcher = asyncio.create_task(self._watch_loop(), name="claimwatch-loop-watch")
        self.running.spawn("warm-query", self._warm_query)
        for health in self.health.values():
            if health.disabled:
                log.warning("%s", health.disabled)
        log.info("ready: worker %s; %d sources polled, %d disabled; %d channels; database %s",
                 self.worker, sum(1 for h in self.health.values() if not h.disabled),
                 sum(1 for h in self.health.values() if h.disabled), len(self._channels),
                 self.database)

    def _jobs(self) -> list[Job]:
        """A poll job per enabled source (the first at once), then the periodic jobs."""
        s = self.settings.service
        jobs = [
            Job(f"poll:{name}", health.interval,
                self.running.job(f"poll {name}", functools.partial(self.poller.poll, name)),
                jitter=min(5.0, health.interval / 10), now=True)
            for name, health in self.health.items() if not health.disabled
        ]
        for job_id, seconds, fn in (
            ("consolidate", s.consolidate_seconds, self._consolidate),
            ("evaluate", s.evaluate_seconds, self._evaluate),
            ("drain", s.drain_seconds, self._drain),
            ("save-index", s.save_index_seconds, self._save_index),
            ("follow", s.follow_seconds, self._follow),
            ("orphans", s.lease_seconds, self._orphans),
        ):
            jobs.append(Job(job_id, seconds, self.running.job(job_id, fn),
                            jitter=min(1.0, seconds / 20), now=job_id == "drain"))
        return jobs

    async def stop(self) -> None:
        """Finish the jobs and batches in flight, drain quickly, save the index, close
        connections and log the summary; within the grace period set by
        :meth:`request_stop` (called here if it was not)."""
        self.request_stop()
        grace = self.settings.service.grace_seconds
        if self._watcher is not None:
            self._watcher.cancel()
        await self.running.wait(self.remaining() * 0.5)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # the shutdown runs on the loop
        finished = await self.intake.close(timeout=max(0.0, self.remaining() * 0.6))
        if not finished:
            self.summary.unfinished = self.intake.in_flight
            log.warning("the batch in flight did not finish within the grace period; its "
                        "posts are unacknowledged and will be caught up at the next start")
        if self._drainer is not None:
            budget = min(max(0.0, self.remaining() - 2.0), max(1.0, grace * 0.25))
            if budget > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(budget + 1.0), self._drain_lock:
                        report = await self._drainer.drain_until_settled(budget)
                        self.summary.sent += report.sent
        try:
            if self._pipeline is not None:
                await self._release_leases()
                await self._save_index()
                self.summary.vectors = len(self.runtime.index())
                self.summary.pending = (
                    await self.reads.run(lambda store: store.outbox.counts())
                )["pending"]
        finally:
            await self._close_connections()
            await asyncio.to_thread(self.reads.close)
            self.summary.polls, self.summary.poll_errors = self.poller.polls, self.poller.errors
            log.info("%s", self.summary.line())

    async def _close_connections(self) -> None:
        for source in self.poller.sources.values():
            try:
                await source.close()
            except Exception:  # closing must not stop the others
                log.exception("closing source failed")
        await close_channels(self._channels)

    async def _watch_loop(self) -> None:
        """Wake every :data:`LOOP_PROBE_SECONDS` until cancelled; the worst delay past it
        is the ``claimwatch_loop_stall_max_seconds`` metric (the loop only waits: work that
        holds it, or the GIL, for long shows here)."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        last = loop.time()
        while True:
            await asyncio.sleep(LOOP_PROBE_SECONDS)
            now = loop.time()
            if now - last - LOOP_PROBE_SECONDS > worst:
                worst = now - last - LOOP_PROBE_SECONDS
                self.metrics.loop_stall.set(worst)
            last = now

    async def _warm_query(self) -> None:
        """Count the stored claims' terms for BM25 now, not in the first query (tens of
        seconds at a million claims: no read time limit)."""
        async with self.query_lock:
            await self.reads.run(self.runtime.term_stats, limited=False)

    async def _writer(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the pipeline's database writer thread."""
        return await self.pipeline.run_db(functools.partial(fn, *args, **kwargs))

    async def _lease(self, name: str) -> str | None:
        """Take or renew source ``name``'s lease: None when this worker holds it now, else
        the worker that does."""
        store = self.runtime.store
        key = f"source:{name}"
        seconds = self.settings.service.lease_seconds
        if await self.pipeline.run_db(store.acquire, key, self.worker, seconds):
            return None
        holder = await self.pipeline.run_db(store.holder_of, key)
        return holder or "another worker"

    async def _release_leases(self) -> None:
        """Give up this worker's source leases (stopping): another takes them at once."""
        for name in self.health:
            with contextlib.suppress(Exception):
                await self.pipeline.run_db(self.runtime.store.release, f"source:{name}",
                                           self.worker)

    async def _cursor(self, name: str) -> Cursor | None:
        return await self.reads.run(lambda store: store.cursor(name))

    async def _save_cursor(self, name: str, cursor: Cursor) -> None:
        await self.pipeline.run_db(self.runtime.store.set_cursor, name, cursor)

    # -- posts --------------------------------------------------------------------------

    async def _process(self, posts: list[Post]) -> list[Outcome]:
        """Store a batch through the pipeline (committed when this returns), and count."""
        started = time.perf_counter()
        async with self._index_lock:
            result = await self.pipeline.add_posts(posts)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        stored: Tally[tuple[str, str]] = Tally()
        duplicates: Tally[str] = Tally()
        tiers = self.pipeline.tiers
        for post, outcome in zip(posts, result.outcomes, strict=True):
            if outcome is Outcome.STORED:
                stored[(post.source, tiers.tier_of(post).value)] += 1
            else:
                duplicates[post.source] += 1
        for (source, tier), n in stored.items():
            self.metrics.posts.labels(source, tier).inc(n)
            if source in self.health:
                self.health[source].posts += n
        for source, n in duplicates.items():
            self.metrics.duplicates.labels(source).inc(n)
        self.summary.stored += stored.total()
        self.summary.duplicates += duplicates.total()
        self._since_consolidate += stored.total()
        self.metrics.claims.inc(result.claims)
        self.metrics.narratives.inc(result.narratives)
        self._alerted(result.alerts)
        return result.outcomes

    def _alerted(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            self.metrics.alerts.labels(alert.event.value).inc()
            log.info("alert %s %s: narrative %d of %s (%s)", alert.event.value, alert.rule,
                     alert.narrative_id, alert.incident_id, alert.severity)
        self.summary.alerts += len(alerts)
        if alerts:
            self.running.spawn("drain", self._drain)

    def reject(self, count: int) -> None:
        """Count pushed items rejected as malformed."""
        self.metrics.rejected.inc(count)
        self.summary.rejected += count

    # -- periodic jobs ------------------------------------------------------------------

    async def _consolidate(self) -> None:
        if not self._since_consolidate:
            return
        self._since_consolidate = 0
        merged = await self.pipeline.consolidate()
        resolved = self.pipeline.take_merge_alerts()
        if merged:
            log.info("consolidated: %d narratives merged, %d alerts of merged narratives "
                     "resolved", merged, len(resolved))

    async def _evaluate(self) -> None:
        await self._refresh_incidents()
        alerts = await self.pipeline.run_db(self.pipeline.evaluate_now, datetime.now(UTC))
        self._alerted(alerts)

    async def _orphans(self) -> None:
        """Process the posts stored more than ``lease_seconds`` ago and never processed:
        their worker died between committing them and clustering them."""
        before = time.time() - self.settings.service.lease_seconds
        report = await self.pipeline.run_db(
            functools.partial(self.runtime.catch_up, older_than=before))
        if report.linked or report.narratives:
            log.info("orphaned posts processed: %d links, %d narratives", report.linked,
                     report.narratives)

    async def _drain(self) -> None:
        if self._drainer is None:
            return
        async with asyncio.timeout(300.0), self._drain_lock:
            report = await self._drainer.drain()
        self.summary.sent += report.sent

    async def _follow(self) -> None:
        await self.follow()

    async def follow(self) -> int:
        """Add the claims other processes committed since the last look (ids above the
        highest looked at, not in the index) to the index, from their stored vectors, and
        bring the BM25 statistics up to date; how many were added. Runs while no batch is
        being processed, so every claim of this daemon's own is in the index already."""
        added = 0
        async with self._index_lock:
            index = self.runtime.index()
            model = self.runtime.embedder.name
            after = max(0, self._followed - FOLLOW_LOOKBACK)
            while True:
                found = await self.reads.run(functools.partial(_claim_ids_after, after=after))
                if not len(found):
                    break
                missing = await self.runtime.worker.run(_not_held, index, found)
                if len(missing):
                    parts = await self.reads.run(
                        functools.partial(_vectors, model=model, ids=missing), limited=False)
                    for part_ids, vectors in parts:
                        await self.runtime.worker.run(
                            functools.partial(index.add, replace=False), part_ids, vectors)
                        added += len(part_ids)
                    unembedded = len(missing) - sum(len(i) for i, _ in parts)
                    if unembedded:
                        log.warning("%d claims of another process have no stored vector for "
                                    "%s: not searchable until `claimwatch index rebuild`",
                                    unembedded, model)
                self._followed = max(self._followed, int(found[-1]))
                after = int(found[-1])
        if added:
            self.followed += added
            log.info("%d claims committed by another process added to the index", added)
            async with self.query_lock:
                await self.reads.run(self.runtime.term_stats, limited=False)
            # their narratives are read again by the next batch: the clustering revision
            # has moved (tracker.pipeline.Pipeline.coordinated)
        return added

    async def _save_index(self) -> None:
        index = self.runtime.index()
        if index.dirty:
            await self.runtime.worker.run(index.save)
            self.summary.index_saved = True

    def _delivery_result(self, channel: str, outcome: str) -> None:
        self.metrics.deliveries.labels(channel, outcome).inc()

    async def _refresh_incidents(self) -> None:
        """Read the incidents (the CLI may have added, changed or closed one): the X
        sources' terms are those of the open ones; when any changed, posts are linked
        against the new set from now on, and the stored posts in the window of a new or
        changed one are linked to it (those that arrived after the CLI linked them)."""
        incidents = await self.reads.run(lambda store: store.incidents())
        now = datetime.now(UTC)
        terms: list[str] = []
        for incident in incidents:
            if incident.closed_at is None and incident.ends_at >= now:
                terms.extend(t for t in incident.terms if t not in terms)
        self._terms = tuple(terms)
        signature = {
            i.id: (i.title, i.description, i.terms, i.started_at, i.window_hours, i.closed_at)
            for i in incidents
        }
        if self._incidents is not None and signature != self._incidents:
            changed = [i for i, sig in signature.items() if self._incidents.get(i) != sig]
            log.info("incidents changed (%s): linking against %d incidents from now on",
                     ", ".join(changed) or "removed", len(incidents))
            await self.pipeline.run_db(self._relink_coordinated, changed)
        self._incidents = signature

    def _relink_coordinated(self, changed: list[str]) -> None:
        """:meth:`_relink` in one coordinated transaction (the clustering locks held)."""
        with self.pipeline.coordinated():
            self._relink(changed)

    def _relink(self, changed: list[str]) -> None:
        """On the writer thread: narratives read again, a fresh linker, and the posts in
        the window of each changed incident linked to it (linking is idempotent)."""
        pipeline = self.pipeline
        pipeline.engine.reload()
        pipeline.linker = self.runtime.linker()
        for incident_id in changed:
            report = self.runtime.backfill(incident_id)
            if report.linked:
                log.info("incident %s: %d stored posts linked", incident_id, report.linked)

    # -- health -------------------------------------------------------------------------

    async def healthz(self, *, detail: bool = False) -> tuple[bool, dict[str, Any]]:
        """Whether the daemon is healthy, and what ``GET /healthz`` shows: to anyone, up
        or not, queue depth and each source's last poll; with ``detail`` (a reader) also
        the database file, the database's error and each source's reason."""
        database_ok, problem = await asyncio.to_thread(_database_reachable, self.settings.database)
        sources = {name: h.as_dict() for name, h in self.health.items()}
        if not detail:
            for shown in sources.values():
                shown["held_by"] = None
                shown["reason"] = None if shown["ok"] is not False else "failing"
                shown["disabled"] = "disabled" if shown["disabled"] else None
        payload: dict[str, Any] = {
            "status": "ok" if database_ok else "degraded",
            "accepting": self.accepting,
            "database_ok": database_ok,
            "queue_depth": self.intake.depth,
            "queue_capacity": self.intake.capacity,
            "uptime_seconds": round(time.monotonic() - self.summary.started, 1),
            "sources": sources,
        }
        if detail:
            payload["database"] = self.database
            payload["worker"] = self.worker
            payload["followed_claims"] = self.followed
            if problem:
                payload["database_error"] = problem
        return database_ok, payload

    def retry_after(self) -> int:
        """Seconds a client refused with 429 should wait: a guess from the queue depth."""
        return max(1, min(60, self.intake.depth))


def _claim_ids_after(store: Store, *, after: int) -> np.ndarray:
    """(n,) int64: ids of the claims above ``after``, ascending (at most 20,000)."""
    return np.asarray([i for i, _ in store.claim_texts_after(after, 20_000)], dtype=np.int64)


def _not_held(index: ClaimIndex, ids: np.ndarray) -> np.ndarray:
    """Those of ``ids`` (ascending, unique) that ``index`` does not hold."""
    return np.setdiff1d(ids, index.ids(), assume_unique=True)


def _vectors(store: Store, *, model: str, ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The stored vectors of claims ``ids`` for ``model``, as (ids, vectors) parts."""
    return list(store.iter_claim_vectors(model, ids))


def systemic(exc: Exception) -> bool:
    """Whether a failure processing a batch is the database's, the disk's or the model's
    rather than one post's: such a batch is not split post by post (each would fail the
    same way); its callers are told to send it again."""
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
        return True
    return isinstance(exc, StoreError | IndexFileError | ModelError | OSError | MemoryError)


def _database_reachable(target: Path | PostgresDatabase) -> tuple[bool, str | None]:
    """Open the database (SQLite file or PostgreSQL) read-only on a connection of its own
    and read its schema version from it."""
    try:
        store = Store(target, readonly=True)
        try:
            store.schema_version  # noqa: B018 - a read that reaches the database
        finally:
            store.close()
        return True, None
    except (StoreError, sqlite3.Error) as exc:
        return False, str(exc)


async def serve(
    settings: Settings, runtime: Runtime, metrics: Metrics, *,
    environ: Mapping[str, str], ready: Callable[[str, int], None] | None = None,
) -> Summary:
    """Run the daemon until SIGTERM or SIGINT, then stop gracefully; the summary.

    ``ready`` is called with the bound host and port once the API listens. Raises
    :class:`~tracker.errors.ConfigError` when the address cannot be bound."""
    daemon = Daemon(settings, runtime, metrics, environ=environ)
    service = settings.service
    runner = daemon.runner(
        handle_signals=False, access_log=None,
        shutdown_timeout=max(0.5, service.grace_seconds * 0.3),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop)
    try:
        await runner.setup()
        try:
            if not daemon.stopping:
                site = web.TCPSite(runner, service.host, service.port)
                try:
                    await site.start()
                except OSError as exc:
                    raise ConfigError(
                        f"cannot listen on {service.host}:{service.port}: "
                        f"{exc.strerror or exc}; set [service] host and port (or "
                        "CLAIMWATCH_SERVICE__PORT) to a free address"
                    ) from None
                host, port = next(
                    ((str(a[0]), int(a[1])) for a in runner.addresses if isinstance(a, tuple)),
                    (service.host, service.port),
                )
                log.info("listening on http://%s:%d", host, port)
                if ready is not None:
                    ready(host, port)
                await daemon.stopped.wait()
        finally:
            await runner.cleanup()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return daemon.summary


def run_daemon(settings: Settings, *, environ: Mapping[str, str] | None = None) -> Summary:
    """``claimwatch run``: build the runtime (embedding timed for the metrics), serve
    until a signal, close everything; the summary."""
    environ = os.environ if environ is None else environ
    metrics = Metrics()
    embedder = TimedEmbedder(shared_embedder(settings.embedding), metrics.embed_seconds)
    with Runtime(settings, embedder) as runtime:
        return asyncio.run(serve(settings, runtime, metrics, environ=environ))
