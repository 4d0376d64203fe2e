"""The one thread the model and FAISS run on (:class:`ModelWorker`), so that an event
loop awaiting their work never blocks and no two encodes compete for the CPU."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ModelWorker"]

T = TypeVar("T")


class ModelWorker:
    """One dedicated thread for the model and FAISS. ``await worker.run(fn, ...)`` from a
    loop, or ``worker.call(fn, ...)`` from plain code; either way ``fn`` runs there."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claimwatch-model")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
