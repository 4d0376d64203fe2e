"""The intake queue in front of the pipeline: batches of posts (pushed over HTTP, or polled
from sources) processed one at a time, in order, each caller answered once its posts are
committed. Pushed batches are refused when the queue is full; polled ones always wait.

May import: the shared nouns and :mod:`tracker.pipeline` (for :class:`Outcome`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tracker.models import Post
from tracker.pipeline import Outcome

__all__ = ["Intake", "IntakeClosed", "IntakeFull", "Process"]

Process = Callable[[list[Post]], Awaitable[list[Outcome]]]
"""What the intake calls with each merged batch: the outcome of each post, in order, once
the batch is committed."""


class IntakeFull(Exception):  # noqa: N818 (a state, not a failure)
    """The intake queue holds ``capacity`` pushed batches already."""


class IntakeClosed(Exception):  # noqa: N818
    """The intake is shutting down and takes no more batches."""


@dataclass(slots=True)
class _Batch:
    posts: list[Post]
    future: asyncio.Future[list[Outcome]]


class Intake:
    """The processing queue: batches of posts processed one at a time, in order.

    ``offer`` (pushed batches) refuses with :class:`IntakeFull` when ``capacity`` batches
    wait already; ``submit`` (polled batches) always queues. Batches waiting together are
    merged into one call of ``process`` of at most ``max_posts`` posts (a larger batch is
    processed in slices of that size); each caller gets the outcomes of its own posts, in
    its order, once ``process`` has returned (committed)."""

    def __init__(self, process: Process, *, capacity: int, max_posts: int) -> None:
        self._process = process
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

    def offer(self, posts: list[Post]) -> asyncio.Future[list[Outcome]]:
        """Queue a pushed batch; raises :class:`IntakeFull` or :class:`IntakeClosed`."""
        if self.full:
            raise IntakeFull()
        return self._queue(posts)

    async def submit(self, posts: list[Post]) -> list[Outcome]:
        """Queue a batch whatever the depth and wait until it is committed."""
        return await self._queue(posts)

    def _queue(self, posts: list[Post]) -> asyncio.Future[list[Outcome]]:
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
        outcomes: list[Outcome] = []
        self.in_flight = len(posts)
        try:
            for start in range(0, len(posts), self.max_posts):
                outcomes.extend(await self._process(posts[start : start + self.max_posts]))
        except Exception as exc:
            for batch in group:
                if not batch.future.done():
                    batch.future.set_exception(exc)
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
