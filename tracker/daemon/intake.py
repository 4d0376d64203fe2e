"""The intake queue in front of the pipeline: batches of posts (pushed over HTTP, or polled
from sources) processed one at a time, in order, each caller answered once its posts are
committed. Pushed batches are refused when the queue is full; polled ones always wait.

Batches waiting together are merged into one call of the pipeline; when that call fails,
no caller pays for another's post: each batch is tried again alone, and a batch that
fails alone is split in halves until the posts that fail on their own are found. Those are
:class:`Failed` (the caller rejects them with the reason); every other post is processed as
if the poison had never been sent. A failure the ``systemic`` predicate recognises (the
database or disk, not the post) is not split: the callers of the batches it hit get it.

May import: the shared nouns and :mod:`tracker.pipeline` (for :class:`Outcome`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tracker.models import Post
from tracker.pipeline import Outcome

__all__ = ["Failed", "Intake", "IntakeClosed", "IntakeFull", "Process", "Result"]

log = logging.getLogger("claimwatch.intake")

Process = Callable[[list[Post]], Awaitable[list[Outcome]]]
"""What the intake calls with each merged batch: the outcome of each post, in order, once
the batch is committed."""

REASON_CHARS = 300
"""At most this much of a failure's message goes into a :class:`Failed` reason."""


@dataclass(frozen=True, slots=True)
class Failed:
    """A post the pipeline failed on when it was processed alone: ``reason`` says how (the
    exception's type and message). Nothing of it was acknowledged."""

    reason: str


Result = Outcome | Failed
"""What a caller learns of each of its posts."""


class IntakeFull(Exception):  # noqa: N818 (a state, not a failure)
    """The intake queue holds ``capacity`` pushed batches already."""


class IntakeClosed(Exception):  # noqa: N818
    """The intake is shutting down and takes no more batches."""


@dataclass(slots=True)
class _Batch:
    posts: list[Post]
    future: asyncio.Future[list[Result]]


class Intake:
    """The processing queue: batches of posts processed one at a time, in order.

    ``offer`` (pushed batches) refuses with :class:`IntakeFull` when ``capacity`` batches
    wait already; ``submit`` (polled batches) always queues. Batches waiting together are
    merged into one call of ``process`` of at most ``max_posts`` posts (a larger batch is
    processed in slices of that size); each caller gets the outcomes of its own posts, in
    its order, once ``process`` has returned (committed). A post ``process`` fails on
    alone is :class:`Failed`; ``systemic(exc)`` says which failures are not the posts'
    fault (those fail the batches they hit, unsplit)."""

    def __init__(
        self, process: Process, *, capacity: int, max_posts: int,
        systemic: Callable[[Exception], bool] = lambda exc: False,
    ) -> None:
        self._process = process
        self._systemic = systemic
        self.capacity = capacity
        self.max_posts = max(1, max_posts)
        self._pending: deque[_Batch] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.in_flight = 0  # posts being processed now

    @property
    def depth(self) -> int:
        """Batches waiting (not counting the one being processed)."""
        return len(self._pending)

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.capacity

    def start(self) -> None:
        """Start processing (inside the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="claimwatch-intake")

    def offer(self, posts: list[Post]) -> asyncio.Future[list[Result]]:
        """Queue a pushed batch; raises :class:`IntakeFull` or :class:`IntakeClosed`."""
        if self.full:
            raise IntakeFull()
        return self._queue(posts)

    async def submit(self, posts: list[Post]) -> list[Result]:
        """Queue a batch whatever the depth and wait until it is committed."""
        return await self._queue(posts)

    def _queue(self, posts: list[Post]) -> asyncio.Future[list[Result]]:
        if self._closing:
            raise IntakeClosed()
        batch = _Batch(list(posts), asyncio.get_running_loop().create_future())
        self._pending.append(batch)
        self._wakeup.set()
        return batch.future

    async def close(self, timeout: float) -> bool:
        """Take no more batches; process those queued, waiting at most ``timeout``
        seconds. True when everything queued was processed."""
        self._closing = True
        self._wakeup.set()
        if self._task is None:
            return not self._pending
        done, _ = await asyncio.wait({self._task}, timeout=max(0.0, timeout))
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for batch in self._pending:
            if not batch.future.done():
                batch.future.set_exception(IntakeClosed())
        self._pending.clear()
        return bool(done)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            group = [self._pending.popleft()]
            size = len(group[0].posts)
            while self._pending and size + len(self._pending[0].posts) <= self.max_posts:
                group.append(self._pending.popleft())
                size += len(group[-1].posts)
            await self._handle(group)

    async def _handle(self, group: list[_Batch]) -> None:
        posts = [p for b in group for p in b.posts]
        self.in_flight = len(posts)
        try:
            try:
                outcomes: list[Result] = list(await self._slices(posts))
            except Exception as exc:
                if self._systemic(exc):
                    for batch in group:
                        if not batch.future.done():
                            batch.future.set_exception(exc)
                    return
                await self._isolate(group, exc)
                return
        except BaseException:
            for batch in group:
                if not batch.future.done():
                    batch.future.cancel()
            raise
        finally:
            self.in_flight = 0
        at = 0
        for batch in group:
            if not batch.future.done():
                batch.future.set_result(outcomes[at : at + len(batch.posts)])
            at += len(batch.posts)

    async def _slices(self, posts: list[Post]) -> list[Outcome]:
        """``process`` over ``posts`` in slices of at most ``max_posts``."""
        outcomes: list[Outcome] = []
        for start in range(0, len(posts), self.max_posts):
            outcomes.extend(await self._process(posts[start : start + self.max_posts]))
        return outcomes

    async def _isolate(self, group: list[_Batch], exc: Exception) -> None:
        """After ``group`` failed together with ``exc``: each batch alone (split when it
        fails alone too), each caller answered with its own posts' results."""
        log.warning("a merged batch of %d posts from %d callers failed (%s: %s); trying "
                    "each alone", sum(len(b.posts) for b in group), len(group),
                    type(exc).__name__, _short(exc))
        for batch in group:
            if batch.future.done():
                continue
            try:
                if len(group) == 1:  # it failed alone already: split it at once
                    results = await self._split(batch.posts, exc)
                else:
                    results = await self._alone(batch.posts)
            except Exception as failure:  # systemic
                batch.future.set_exception(failure)
            else:
                batch.future.set_result(results)

    async def _alone(self, posts: list[Post]) -> list[Result]:
        """``posts`` processed on their own; split in halves when that fails."""
        try:
            return list(await self._slices(posts))
        except Exception as exc:
            if self._systemic(exc):
                raise
            return await self._split(posts, exc)

    async def _split(self, posts: list[Post], exc: Exception) -> list[Result]:
        """The results of ``posts``, which failed together with ``exc``: a single post is
        :class:`Failed`; more are tried again in two halves."""
        if len(posts) == 1:
            post = posts[0]
            log.warning("post %r of source %r was not stored: %s: %s", post.id[:80],
                        post.source[:80], type(exc).__name__, _short(exc))
            log.debug("the failure", exc_info=exc)
            return [Failed(f"the post could not be processed: {type(exc).__name__}: "
                           f"{_short(exc)}")]
        middle = len(posts) // 2
        return [*await self._alone(posts[:middle]), *await self._alone(posts[middle:])]


def _short(exc: BaseException) -> str:
    """The message of ``exc``, cut to :data:`REASON_CHARS`, lone surrogates escaped (it
    goes into logs and JSON)."""
    text = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + "..."
