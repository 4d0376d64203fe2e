"""Reads on a pool: read-only connections to the database (SQLite in WAL mode, or
PostgreSQL with ``default_transaction_read_only``), each on a thread of its own, so a read
never waits for the writer's transaction (it sees the last commit) and never holds up the
event loop.

``await pool.run(fn)`` calls ``fn(store)`` on a free read-only :class:`~tracker.store.Store`
(at most ``size`` reads at once; more wait for a free connection). Each call has a time
limit: once ``timeout`` seconds have passed since it started, SQLite interrupts the statement
running then (or the next one; PostgreSQL: ``statement_timeout`` stops each statement at
the limit) and the call raises
:class:`~tracker.errors.ReadTimeoutError`. Python work between statements is not
interrupted; the limit bounds what the database does for one read.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tracker.errors import ReadTimeoutError
from tracker.store import PostgresTarget, Store

__all__ = ["ReadPool"]

T = TypeVar("T")

class ReadPool:
    """``size`` read-only connections to the database at ``target`` (a SQLite path, a
    PostgreSQL URL or target) on as many threads, opened on first use; reads limited to
    ``timeout`` seconds each. Close it at exit."""

    def __init__(
        self, target: str | Path | PostgresTarget, *, size: int = 4, timeout: float = 10.0
    ) -> None:
        self.target = target
        self.size = max(1, size)
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="claimwatch-reads")
        self._free: queue.SimpleQueue[Store] = queue.SimpleQueue()
        self._opened: list[Store] = []
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, fn: Callable[[Store], T], *, limited: bool = True) -> T:
        """``fn(store)`` on a pool thread with a free read-only store; its result. Raises
        :class:`~tracker.errors.ReadTimeoutError` past the time limit (none when not
        ``limited``: a warm-up that reads everything once)."""
        if self._closed:
            raise RuntimeError("the read pool is closed")
        call = functools.partial(self.call, fn, limited=limited)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def call(self, fn: Callable[[Store], T], *, limited: bool = True) -> T:
        """``fn(store)`` on the calling thread with a free read-only store, under the time
        limit (what :meth:`run` does on a pool thread)."""
        store = self._take()
        try:
            if not limited:
                return fn(store)
            with store._db.time_limit(self.timeout):
                return fn(store)
        except ReadTimeoutError as exc:
            raise ReadTimeoutError(
                f"the read was stopped after {self.timeout:g} s ([service] "
                "read_timeout_seconds): the daemon is busy or the question is too "
                "broad; retry, or narrow it (an incident, a lower limit)"
            ) from exc
        finally:
            self._free.put(store)

    def _take(self) -> Store:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._opened) < self.size:
                store = Store(self.target, readonly=True)
                self._opened.append(store)
                return store
        return self._free.get()  # every connection is busy: the next one freed

    def close(self) -> None:
        """Wait for the reads in flight, then close every connection."""
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
