"""The daemon's reads and its event loop, in-process: a real ``Daemon`` serving its HTTP API
on 127.0.0.1, the real model, a real SQLite database in a temp folder, real germanwings
posts pushed through ``POST /v1/posts``.

- reads go through the read pool: while the writer thread holds a transaction open, every
  GET answers (and sees the last commit, not the write in progress);
- a read past ``[service] read_timeout_seconds`` is stopped: a clear error, a 503;
- the event loop only waits: while a batch of 1,536 posts is parsed, embedded, stored and
  clustered, the loop's worst stall is a small part of the batch's time (both measured in
  the same run; the figures are printed, ``-s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from conftest import GERMANWINGS, GERMANWINGS_INCIDENT, write_config

from tracker.config.settings import load_settings
from tracker.daemon.metrics import Metrics
from tracker.daemon.service import Daemon
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import ReadTimeoutError
from tracker.models import Incident
from tracker.runtime import Runtime
from tracker.store import MIGRATIONS, Store
from tracker.store.pool import ReadPool

TOKEN = "reads-token-41c"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def germanwings_posts(n: int) -> list[dict[str, Any]]:
    """The first ``n`` posts of the germanwings thread file, as pushed JSON objects."""
    out: list[dict[str, Any]] = []
    with GERMANWINGS.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                out.append(json.loads(line))
            if len(out) == n:
                break
    return out


@dataclass
class Served:
    daemon: Daemon
    runtime: Runtime
    base: str
    http: aiohttp.ClientSession

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, params=params, headers=AUTH) as response:
            return response.status, await response.json()

    async def push(self, body: bytes) -> tuple[int, Any]:
        async with self.http.post(self.base + "/v1/posts", data=body, headers=AUTH) as response:
            return response.status, await response.json()


@contextlib.asynccontextmanager
async def serve_daemon(folder: Path, extra: str = "") -> AsyncIterator[Served]:
    config = write_config(folder, GERMANWINGS_INCIDENT + "\n[service]\nport = 0\n" + extra)
    settings = load_settings(config, environ={})
    runtime = Runtime(settings)
    daemon = Daemon(settings, runtime, Metrics(), environ={"CLAIMWATCH_API_TOKEN": TOKEN})
    runner = daemon.runner(access_log=None)
    try:
        await runner.setup()  # starts the daemon: pipeline, model, jobs
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            yield Served(daemon, runtime, f"http://127.0.0.1:{port}", http)
    finally:
        await runner.cleanup()  # stops the daemon
        await asyncio.to_thread(runtime.close)


@pytest.fixture
async def served(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> AsyncIterator[Served]:
    async with serve_daemon(tmp_path) as item:
        yield item


async def test_every_get_answers_while_the_writer_holds_a_transaction(served: Served) -> None:
    status, pushed = await served.push(json.dumps(germanwings_posts(60)).encode())
    assert status == 202 and pushed["accepted"] == 60
    status, listed = await served.get("/v1/narratives", incident="germanwings", all="1")
    assert status == 200 and listed
    narrative_id = listed[0]["id"]

    events: list[str] = []
    held, answered = threading.Event(), threading.Event()
    store = served.runtime.store
    late = Incident("late-incident", "Written while the reads run", datetime.now(UTC))

    def hold_the_writer() -> None:
        """On the pipeline's writer thread, as a clustering transaction would be: BEGIN
        IMMEDIATE, a write, then wait (at most a minute) until the reads have answered."""
        with store.transaction():
            store.save_incident(late)
            events.append("writer holds")
            held.set()
            answered.wait(60)
        events.append("writer released")

    writer = asyncio.ensure_future(served.daemon.pipeline.run_db(hold_the_writer))
    assert await asyncio.to_thread(held.wait, 60)
    reads = await asyncio.gather(
        served.get("/v1/narratives", incident="germanwings", all="1"),
        served.get(f"/v1/narratives/{narrative_id}"),
        served.get("/v1/query", q="the plane crashed in the French Alps", k="5",
                   incident="germanwings"),
        served.get("/v1/incidents"),
        served.get("/v1/alerts"),
        served.get("/healthz"),
    )
    events.append("reads answered")
    answered.set()
    await writer

    assert events == ["writer holds", "reads answered", "writer released"]
    assert [status for status, _ in reads] == [200] * 6
    (_, narratives), (_, detail), (_, hits), (_, incidents), _, _ = reads
    assert [n["id"] for n in narratives] == [n["id"] for n in listed]
    assert detail["id"] == narrative_id
    assert hits and all(h["narratives"] for h in hits)
    # the reads saw the last commit, not the write in progress; afterwards they see it
    assert [i["id"] for i in incidents] == ["germanwings"]
    status, incidents = await served.get("/v1/incidents")
    assert sorted(i["id"] for i in incidents) == ["germanwings", "late-incident"]


SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000000)"
        " SELECT count(*) FROM n")


def test_a_read_past_its_time_limit_is_stopped_and_the_connection_serves_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "claimwatch.db"
    Store(path).close()
    pool = ReadPool(path, size=1, timeout=0.2)
    try:
        with pytest.raises(ReadTimeoutError, match=r"read_timeout_seconds"):
            pool.call(lambda store: store._one(SLOW))  # minutes of work: stopped
        assert pool.call(lambda store: store.schema_version) == len(MIGRATIONS)
        assert pool.call(lambda store: store._one("SELECT count(*) FROM posts")[0]) == 0
    finally:
        pool.close()


async def test_a_slow_read_answers_503_with_the_setting_to_change(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # a limit no read can meet: every statement is stopped at its first look at the clock
    async with serve_daemon(tmp_path, "read_timeout_seconds = 1e-9\n") as served:
        status, pushed = await served.push(json.dumps(germanwings_posts(20)).encode())
        assert status == 202 and pushed["accepted"] == 20
        status, body = await served.get("/v1/narratives", incident="germanwings", all="1")
        assert status == 503
        assert "read_timeout_seconds" in body["error"]
        status, _ = await served.get("/healthz")
        assert status == 200


async def loop_stalls(stop: asyncio.Event, record: Callable[[float], None]) -> None:
    """Sleep 5 ms at a time until ``stop``; record each wake-up's delay past the 5 ms."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = loop.time()
        record(now - last - 0.005)
        last = now


async def test_the_event_loop_only_waits_while_a_large_batch_is_pushed(served: Served) -> None:
    posts = germanwings_posts(1536)
    body = json.dumps(posts).encode()  # the client's own work, before the clock starts
    worst = [0.0]
    stop = asyncio.Event()
    probe = asyncio.ensure_future(loop_stalls(stop, lambda gap: worst.__setitem__(
        0, max(worst[0], gap))))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    async with served.http.post(served.base + "/v1/posts", data=body, headers=AUTH) as response:
        status, raw = response.status, await response.read()
    took = time.perf_counter() - started
    stop.set()
    await probe
    answer = json.loads(raw)
    print(f"\nPOST /v1/posts of {len(posts)} posts: {took:.2f} s to the 202 (parsed, "
          f"embedded, stored, clustered); worst event-loop stall {worst[0] * 1000:.1f} ms "
          f"({worst[0] / took:.4f} of the batch's time)")
    assert status == 202
    assert answer["accepted"] + answer["duplicates"] == len(posts) and answer["accepted"] > 1400
    assert worst[0] < took / 5
