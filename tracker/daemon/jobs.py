"""The daemon's scheduled work: polling the sources (with backoff after failures), the
periodic jobs under APScheduler, and the tasks in flight a stop waits for.

- :func:`retry_delay`: seconds before a failed source is polled again, a pure function;
- :class:`Poller`: one poll of one source: fetch what is new since the saved cursor, hand
  it to the intake, save the new cursor only once the posts are committed; a failure is
  logged with the source's name and reason and recorded in its :class:`SourceHealth`.
  With several workers on one database, a poll first takes (or renews) the source's lease
  ``source:<name>``; while another worker holds it the poll is skipped quietly (counted in
  the source's health), and the cursor is read from the database before every poll, since
  another worker may have moved it;
- :class:`Job` and :func:`start_scheduler`: the schedule, one ``AsyncIOScheduler`` job per
  :class:`Job`, never two runs of one job at once;
- :class:`Running`: every job and spawned task in flight, each failure logged with what
  failed (the daemon carries on).

May import: the shared nouns, :mod:`tracker.sources` (the Protocol and its errors),
:mod:`tracker.daemon.intake` and :mod:`tracker.daemon.metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from alerts.retry import backoff
from tracker.daemon.intake import IntakeClosed, Result
from tracker.daemon.metrics import Metrics
from tracker.errors import SourceError
from tracker.models import Post
from tracker.sources.base import RateLimitError, Source
from tracker.views import iso

__all__ = [
    "MAX_BACKOFF_SECONDS",
    "Cursor",
    "Job",
    "Poller",
    "Running",
    "SourceHealth",
    "retry_delay",
    "start_scheduler",
]

log = logging.getLogger("claimwatch.service")

MAX_BACKOFF_SECONDS = 900.0
"""A failing source is retried at least this often (seconds), unless its interval is longer
or a rate limit says to wait longer."""

Work = Callable[[], Awaitable[None]]
Cursor = dict[str, Any]
"""Where a source stopped (opaque to the daemon; see :mod:`tracker.store.cursors`)."""


# Source types that search for the open incidents' terms (the others read fixed feeds)
SEARCHING = frozenset({"x", "bluesky", "gdelt"})


def retry_delay(
    failures: int, interval: float, *, reset_in: float | None = None,
    cap: float = MAX_BACKOFF_SECONDS,
) -> float:
    """Seconds to wait before polling a source again after ``failures`` failed polls in a
    row (1 for the first): ``interval`` doubled per further failure, at most
    ``max(cap, interval)``, and never less than ``reset_in`` (seconds until a rate limit
    resets) when given."""
    delay = backoff(failures, interval, max(cap, interval))
    if reset_in is not None:
        delay = max(delay, reset_in)
    return delay


@dataclass(slots=True)
class SourceHealth:
    """What ``/healthz`` says of one source. Times are UTC; ``retry_at`` is monotonic."""

    name: str
    type: str
    interval: float
    disabled: str | None = None
    last_poll: datetime | None = None
    ok: bool | None = None
    reason: str | None = None
    polls: int = 0
    failures: int = 0  # in a row
    posts: int = 0  # stored by this process
    retry_at: float = 0.0
    skipped: int = 0  # polls left to the worker holding the source's lease
    held_by: str | None = None  # that worker, when the last poll was skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "disabled": self.disabled, "last_poll": iso(self.last_poll),
            "ok": self.ok, "reason": self.reason, "polls": self.polls,
            "failures": self.failures, "posts": self.posts, "skipped": self.skipped,
            "held_by": self.held_by,
        }


class Poller:
    """Polls the sources added with :meth:`add`.

    ``submit`` queues posts and returns once they are committed; ``cursor`` reads a
    source's saved cursor and ``save_cursor`` writes one (on the writer); ``before_search``
    runs before each poll of a source whose terms come from the incidents (X), so it
    searches for the open incidents' terms as they are now. ``lease`` (when given) takes or
    renews the source's lease for this worker and says who holds it: None when this worker
    does, else the other worker's id (the poll is skipped)."""

    def __init__(
        self, submit: Callable[[list[Post]], Awaitable[list[Result]]], *,
        cursor: Callable[[str], Awaitable[Cursor | None]],
        save_cursor: Callable[[str, Cursor], Awaitable[None]],
        before_search: Work, metrics: Metrics,
        lease: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._submit = submit
        self._lease = lease
        self._cursor = cursor
        self._save_cursor = save_cursor
        self._before_search = before_search
        self._metrics = metrics
        self.sources: dict[str, Source] = {}
        self.health: dict[str, SourceHealth] = {}
        self._timeouts: dict[str, float] = {}
        self._searches: set[str] = set()
        self.polls = 0  # all sources, since start
        self.errors = 0

    def add(self, name: str, kind: str, source: Source, *, interval: float,
            timeout: float) -> None:
        """Poll ``source`` as ``name`` (of type ``kind``), every ``interval`` seconds, each
        poll given ``timeout`` seconds (plus 5)."""
        self.sources[name] = source
        self.health[name] = SourceHealth(name, kind, interval, disabled=source.disabled_reason)
        self._timeouts[name] = timeout
        if kind in SEARCHING:  # a search of the incidents' terms: refresh them first
            self._searches.add(name)

    async def poll(self, name: str) -> None:
        """One poll of source ``name``, unless it is backing off after failures."""
        health = self.health[name]
        if time.monotonic() < health.retry_at:
            return
        source = self.sources[name]
        if self._lease is not None:
            holder = await self._lease(name)
            if holder is not None:  # another worker polls it: quietly leave it to them
                health.skipped += 1
                health.held_by = holder
                return
            health.held_by = None
        if name in self._searches:
            await self._before_search()
        cursor = await self._cursor(name)  # from the database: another worker may have moved it
        try:
            async with asyncio.timeout(self._timeouts[name] + 5.0):
                poll = await source.poll(cursor)
        except (SourceError, TimeoutError) as exc:
            self._failed(health, exc)
            return
        except Exception as exc:  # a bug in a source must not stop its polling for good
            if not health.failures:
                log.exception("source %s failed unexpectedly", name)
            self._failed(health, SourceError(
                f"source {name}: unexpected {type(exc).__name__}: {exc}"))
            return
        posts = list(poll.posts)
        if posts:
            try:
                await self._submit(posts)
            except IntakeClosed:
                return  # stopping: the cursor stays, the next start polls again
        if poll.cursor is not None and poll.cursor != cursor:
            await self._save_cursor(name, poll.cursor)
        if health.failures:
            log.info("source %s is back after %d failed polls", name, health.failures)
        health.last_poll = datetime.now(UTC)
        health.ok, health.reason, health.failures, health.retry_at = True, None, 0, 0.0
        health.polls += 1
        self.polls += 1
        self._metrics.source_polls.labels(name).inc()

    def _failed(self, health: SourceHealth, exc: Exception) -> None:
        if isinstance(exc, TimeoutError):
            exc = SourceError(f"source {health.name}: the poll took too long")
        health.last_poll = datetime.now(UTC)
        health.ok, health.reason = False, str(exc)
        health.failures += 1
        health.polls += 1
        self.polls += 1
        self.errors += 1
        self._metrics.source_errors.labels(health.name).inc()
        reset_in = None
        if isinstance(exc, RateLimitError) and exc.reset_at is not None:
            reset_in = (exc.reset_at - datetime.now(UTC)).total_seconds()
        delay = retry_delay(health.failures, health.interval, reset_in=reset_in)
        # The job fires every interval: become due just before the firing after the delay
        # (after a rate limit, not before it resets).
        early = health.interval / 2 if reset_in is None else 0.0
        health.retry_at = time.monotonic() + delay - early
        transient = getattr(exc, "transient", True)
        log.log(logging.WARNING if transient else logging.ERROR,
                "%s; failed %d times in a row, next try in about %.0f s", exc,
                health.failures, delay)


class Running:
    """The jobs and spawned tasks in flight. Once :meth:`close` is called, scheduled jobs
    are skipped and nothing new is spawned; :meth:`wait` lets a stop wait for the rest."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def close(self) -> None:
        self.closed = True

    def job(self, what: str, fn: Work) -> Work:
        """``fn`` as a scheduler job: skipped once closed, tracked, failures logged."""

        async def job() -> None:
            if self.closed:
                return
            await self.tracked(what, fn)

        return job

    async def tracked(self, what: str, fn: Work) -> None:
        """Await ``fn`` as a tracked task; a failure is logged as ``what failed``."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await fn()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        finally:
            if task is not None:
                self._tasks.discard(task)

    def spawn(self, what: str, fn: Work) -> None:
        """Run ``fn`` now in a task of its own, tracked like a job (not once closed)."""
        if self.closed:
            return
        task = asyncio.create_task(self.tracked(what, fn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, timeout: float) -> None:
        """Wait at most ``timeout`` seconds for everything in flight to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, timeout))


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job: ``fn`` every ``seconds`` (plus up to ``jitter`` seconds), the
    first time at once when ``now`` (else after one interval). ``id`` names it in
    APScheduler (``poll:NAME``, ``drain`` ...)."""

    id: str
    seconds: float
    fn: Work
    jitter: float
    now: bool = False


def start_scheduler(jobs: Sequence[Job]) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` (UTC) running ``jobs``, started on the running loop: a job
    is never run twice at once, missed firings are coalesced into one."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for job in jobs:
        # next_run_time=None would add the job paused: leave it out to start after one
        # interval
        first: dict[str, Any] = {"next_run_time": now} if job.now else {}
        scheduler.add_job(
            job.fn, "interval", seconds=job.seconds, jitter=job.jitter, id=job.id,
            misfire_grace_time=max(30, int(job.seconds)),
            max_instances=1, coalesce=True, replace_existing=True, **first,
        )
    scheduler.start()
    return scheduler
