"""Two `claimwatch run` workers on one database (issue 15): real subprocesses sharing a
database, a real RSS feed and a real webhook receiver on 127.0.0.1 (aiohttp on a thread).

One scenario per database engine, two daemon starts each (the model loads per process):
the same posts pushed to both workers and one feed polled by both are each stored once;
each story is clustered into one narrative, as a single worker clusters the same posts;
every alert reaches the receiver once (its idempotency keys are unique); then the worker
holding the feed's lease is killed with SIGKILL in the middle of a burst while the
receiver refuses deliveries, and the survivor takes over its feed, its unprocessed posts
and its pending deliveries, and stores every acknowledged post exactly once.

In-process, two runtimes (two workers' pipelines, each with its own connection) take
turns with batches of germanwings posts and decide exactly as one pipeline does.

Conditions are polled with a deadline; no duration is asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import pytest
from aiohttp import web
from conftest import (
    CACHE_DIR,
    GERMANWINGS,
    GERMANWINGS_INCIDENT,
    ROOT,
    PostgresServer,
    run_cli,
)

from tracker.config.settings import load_settings
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import StoreError
from tracker.ingest.records import parse_post
from tracker.models import Alert, AlertEvent, ClaimKind, Post, Status
from tracker.runtime import Runtime
from tracker.store import Store
from tracker.store.outbox import DeliveryState

T = TypeVar("T")

API_TOKEN = "workers-token-31c7"
SECRET = "workers-secret-8e2"
FEED = "desk-feed"


# --------------------------------------------------------------------------- the store's part


def test_a_lease_is_held_by_one_worker_until_it_runs_out(store_target: str) -> None:
    one, two = Store(store_target), Store(store_target)  # two workers' connections
    try:
        t = 1_000_000.0
        assert one.acquire("source:feed", "w1", 30, now=t)
        assert not two.acquire("source:feed", "w2", 30, now=t + 1), "held by w1"
        assert two.holder_of("source:feed", now=t + 1) == "w1"
        assert one.acquire("source:feed", "w1", 30, now=t + 20), "its holder renews it"
        assert not two.acquire("source:feed", "w2", 30, now=t + 40), "renewed until t + 50"
        assert two.acquire("source:feed", "w2", 30, now=t + 51), "w1 stopped renewing"
        assert not one.acquire("source:feed", "w1", 30, now=t + 52)
        one.release("source:feed", "w1")  # not its lease any more: nothing happens
        assert one.holder_of("source:feed", now=t + 52) == "w2"
        two.release("source:feed", "w2")
        assert one.holder_of("source:feed", now=t + 52) is None
        assert one.acquire("source:feed", "w1", 30, now=t + 53), "released: free at once"
        assert two.acquire("source:other", "w2", 30, now=t + 53), "leases are by name"
    finally:
        one.close()
        two.close()


HOLD_LOCK = """
import sys, time
from tracker.store import Store
store = Store(sys.argv[1])
with store.transaction():
    store.lock_clustering(["*", "nushki"], 60)
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_clustering_lock_is_waited_for_within_its_limit_and_freed_by_its_holders_death(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_database()
    other = Store(url)  # migrated before the holder starts
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, url], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as holder:
        try:
            _hold_then_kill(holder, other)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(30)
            other.close()


def _hold_then_kill(holder: subprocess.Popen[bytes], other: Store) -> None:
    """Another worker waits for the held clustering lock at most its limit, takes
    another incident's at once, and takes the held one as soon as its holder is killed."""
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"locked"
    with pytest.raises(StoreError, match="lock"), other.transaction():
        other.lock_clustering(["nushki"], 0.3)  # a hung holder blocks nobody for ever
    with other.transaction():
        other.lock_clustering(["elsewhere"], 0.3)  # another incident is not held
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    with other.transaction():  # its connection dropped: the lock went with it
        other.lock_clustering(["*", "nushki"], 30)
        assert other.clustering_revision() == (0, None)


def _alert(alert_id: str, at: datetime) -> Alert:
    return Alert(
        alert_id=alert_id, event=AlertEvent.RAISED, rule="outrunning", incident_id="nushki",
        incident_title="Nushki bus bombing", narrative_id=1, label="TTP is behind it",
        kind=ClaimKind.ATTRIBUTION, actors=("TTP",), status=Status.SPECULATIVE,
        severity="low", at=at, spread_rate=0.6, verified_rate=0.0, ratio=3.0, posts=6,
        authors=6, reach=600, window_minutes=10.0, first_seen=at, minutes_since_incident=25.0,
    )


def test_two_drainers_take_different_deliveries_and_a_dead_ones_come_due(store_target: str) -> None:
    one, two = Store(store_target), Store(store_target)
    try:
        t = 2_000_000.0
        at = datetime(2026, 11, 20, 10, tzinfo=UTC)
        for n in range(3):
            one.outbox.enqueue(_alert(f"a-{n}", at), ["desk", "mail"], now=t)
        mine = one.outbox.claim_due("w1", 30, now=t + 1, limit=4)
        theirs = two.outbox.claim_due("w2", 30, now=t + 1, limit=100)
        assert len(mine) == 4 and len(theirs) == 2
        assert not {d.id for d, _, _ in mine} & {d.id for d, _, _ in theirs}
        assert [a.alert_id for _, a, _ in mine] == ["a-0", "a-0", "a-1", "a-1"], "oldest first"
        assert not two.outbox.claim_due("w2", 30, now=t + 2), "all claimed"
        assert one.outbox.renew_claim(mine[3][0].id, "w1", 30, now=t + 2), "still w1's"
        assert not two.outbox.renew_claim(mine[3][0].id, "w2", 30, now=t + 2), "not w2's"
        # w1 sends one, fails one (retry at t + 5), then dies holding the other two
        one.outbox.sent(mine[0][0].id, "HTTP 200", now=t + 2)
        one.outbox.failed(mine[1][0].id, "HTTP 503", attempts=1, retry_at=t + 5, now=t + 2)
        for delivery, _, _ in theirs:
            two.outbox.sent(delivery.id, "HTTP 200", now=t + 2)
        retried = two.outbox.claim_due("w2", 30, now=t + 6)
        assert [d.id for d, _, _ in retried] == [mine[1][0].id], "the failed one, when due"
        two.outbox.sent(retried[0][0].id, "HTTP 200", now=t + 6)
        assert not two.outbox.claim_due("w2", 30, now=t + 30), "w1's claims still hold"
        assert [d.id for d, _, _ in two.outbox.claim_due("w2", 30, now=t + 32)] == [
            mine[2][0].id], "w1's first claim ran out at t + 31; the renewed one holds"
        assert not one.outbox.renew_claim(mine[2][0].id, "w1", 30, now=t + 33), (
            "w1, back from a stall, must not send what w2 took over")
        taken_over = [mine[2], *two.outbox.claim_due("w2", 30, now=t + 33)]
        assert sorted(d.id for d, _, _ in taken_over) == sorted(d.id for d, _, _ in mine[2:])
        for delivery, _, _ in taken_over:
            two.outbox.sent(delivery.id, "HTTP 200", now=t + 33)
        assert one.outbox.counts()[DeliveryState.SENT.value] == 6
        assert one.outbox.counts()[DeliveryState.PENDING.value] == 0
    finally:
        one.close()
        two.close()


# --------------------------------------------------------------------------- two pipelines


def _germanwings(n: int) -> list[Post]:
    lines = GERMANWINGS.read_text(encoding="utf-8").splitlines()[:n]
    return [parse_post(json.loads(line), default_source="x", max_text_chars=20_000)
            for line in lines]


def _outcome(store: Store) -> tuple[list[Any], list[Any]]:
    """The live narratives (id, kind, actors) and every alert event (event, rule,
    narrative, event time, severity), in order."""
    narratives = [
        (s.id, s.kind.value, s.actors) for s in store.narrative_states()
    ]
    alerts = [(a.event.value, a.rule, a.narrative_id, a.at, a.severity)
              for a, _ in reversed(store.outbox.alerts(limit=100_000))]
    return sorted(narratives), alerts


BATCHES = 60
"""Posts per batch handed to a pipeline."""


def _turns_settings(folder: Path, target: str) -> Any:
    folder.mkdir()
    path = folder / "claimwatch.toml"
    path.write_text(f"[storage]\n{storage_line(target)}\n[embedding]\n"
                    f'cache_dir = "{CACHE_DIR}"\n[index]\ndir = "{folder / "indexes"}"\n'
                    + GERMANWINGS_INCIDENT, encoding="utf-8")
    return load_settings(path, environ={})


@pytest.fixture(scope="module")
def one_worker(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder,
) -> tuple[list[Post], tuple[list[Any], list[Any]]]:
    """600 germanwings posts and what one worker makes of them in batches of
    :data:`BATCHES` (on a SQLite file of its own: the engines agree, see
    tests/test_store_backends.py). Once for the module: every engine compares with it."""
    posts = _germanwings(600)
    folder = tmp_path_factory.mktemp("one-worker")
    alone = Runtime(_turns_settings(folder / "w", str(folder / "alone.db")), embedder)

    async def run() -> None:
        for start in range(0, len(posts), BATCHES):
            await alone.pipeline().add_posts(posts[start : start + BATCHES])

    try:
        asyncio.run(run())
        return posts, _outcome(alone.store)
    finally:
        alone.close()


async def test_two_pipelines_taking_turns_decide_as_one_would(
    tmp_path: Path, store_target: str, embedder: SentenceTransformerEmbedder,
    one_worker: tuple[list[Post], tuple[list[Any], list[Any]]],
) -> None:
    """Batches handed in turn to two workers' pipelines on one database give the same
    narratives (ids, kinds, actors) and alert events (event, rule, narrative, event time,
    severity) as one pipeline given the same batches."""
    posts, expected = one_worker
    one = Runtime(_turns_settings(tmp_path / "one", store_target), embedder)
    two = Runtime(_turns_settings(tmp_path / "two", store_target), embedder)
    try:
        for n, start in enumerate(range(0, len(posts), BATCHES)):
            await (one if n % 2 == 0 else two).pipeline().add_posts(
                posts[start : start + BATCHES])
        got = _outcome(one.store)
        assert got == expected
        assert len(got[0]) > 20 and got[1], "a real test: many narratives, some alerts"
    finally:
        one.close()
        two.close()


# --------------------------------------------------------------------------- upstream


@dataclass
class Receipt:
    key: str
    status: int


@dataclass
class Upstream:
    """An RSS feed and a webhook receiver on one local aiohttp server (its own thread)."""

    feed: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    hook_status: int = 200
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed.xml", self._feed)
        app.router.add_post("/hooks/desk", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _feed(self, request: web.Request) -> web.Response:
        with self.lock:
            items = list(self.feed)
        body = "".join(
            f"<item><title>{escape(i['text'])}</title><guid isPermaLink=\"false\">{i['id']}"
            f"</guid><pubDate>{format_datetime(i['at'], usegmt=True)}</pubDate>"
            f"<author>{i['author']}</author></item>"
            for i in items
        )
        xml = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
               f"<title>Desk</title><link>https://desk.example/</link>{body}</channel></rss>")
        return web.Response(text=xml, content_type="application/rss+xml")

    async def _hook(self, request: web.Request) -> web.Response:
        await request.read()
        with self.lock:
            status = self.hook_status
            self.receipts.append(Receipt(request.headers["Idempotency-Key"], status))
        return web.Response(status=status, text="noted")

    def add_item(self, item_id: str, text: str, author: str, at: datetime) -> None:
        with self.lock:
            self.feed.insert(0, {"id": item_id, "text": text, "author": author, "at": at})

    def delivered(self) -> list[str]:
        """Idempotency keys of the deliveries the receiver accepted (2xx), in order."""
        with self.lock:
            return [r.key for r in self.receipts if 200 <= r.status < 300]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- workers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], T], workers: list[Worker],
             timeout: float = 120.0) -> T:
    """Poll ``check`` until it gives something truthy; fail naming ``what`` at the
    deadline, or at once when a worker that should live died."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        for worker in workers:
            if worker.proc.poll() is not None:
                pytest.fail(f"worker {worker.name} exited waiting for {what}:\n{worker.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name}\n{w.log()[-3000:]}" for w in workers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)


class Worker:
    """``claimwatch run`` as a subprocess, its stderr in a file."""

    def __init__(self, name: str, config: Path, port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log
        self._log = log.open("ab")
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "CLAIMWATCH_API_TOKEN": API_TOKEN,
               "CW_TEST_SECRET": SECRET}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", "--config", str(config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log, env=env,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                         method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def push(self, posts: list[dict[str, Any]]) -> dict[str, Any]:
        status, body = self.request("POST", "/v1/posts", json.dumps(posts).encode())
        assert status == 202, (self.name, status, body)
        return dict(body)

    def health(self) -> dict[str, Any] | None:
        try:
            status, body = self.request("GET", "/healthz")
        except OSError:
            return None
        return body if status == 200 else None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=90)
        finally:
            if not self._log.closed:
                self._log.close()


def worker_config(folder: Path, name: str, storage: str, port: int, upstream: Upstream) -> Path:
    """A worker's settings: the shared database, an index folder of its own, one feed,
    one webhook channel, short job intervals and a 3 s lease."""
    started = datetime.now(UTC) - timedelta(hours=3)
    path = folder / f"{name}.toml"
    path.write_text(f"""
[storage]
{storage}

[embedding]
cache_dir = "{CACHE_DIR}"

[index]
dir = "{folder / ("indexes-" + name)}"

[service]
port = {port}
drain_seconds = 0.5
evaluate_seconds = 1.0
consolidate_seconds = 2.0
follow_seconds = 0.5
lease_seconds = 3.0
grace_seconds = 10.0

[outbox]
backoff_seconds = 0.2
max_backoff_seconds = 1.0
max_attempts = 1000

[[incidents]]
id = "nushki"
title = "Nushki bus bombing"
description = "A bomb exploded near a bus in Nushki, Balochistan."
started_at = "{started.isoformat()}"
terms = ["Nushki"]

[[rules]]
name = "outrunning-verified"
window_minutes = 240
ratio = 1.0
min_posts = 4
min_authors = 3
verified_floor = 0.01
cooldown_minutes = 600
resolve_after_minutes = 600

[[channels]]
name = "desk"
type = "webhook"
url = "{upstream.url('/hooks/desk')}"
secret_env = "CW_TEST_SECRET"
timeout_seconds = 5

[[sources]]
name = "{FEED}"
type = "rss"
url = "{upstream.url('/feed.xml')}"
interval_seconds = 1
""", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- posts

TTP = [
    "Sources say the TTP is behind the Nushki blast",
    "The TTP is behind the Nushki blast, sources say",
    "Reports say the TTP carried out the Nushki bombing",
    "Sources claim the TTP was behind the Nushki bus blast",
]
BLA = [
    "Sources say the BLA carried out the Nushki blast",
    "The BLA is said to be behind the Nushki bus bombing",
    "Reports claim the BLA was behind the Nushki blast",
]


def post(pid: str, text: str, author: str, at: datetime) -> dict[str, Any]:
    return {"id": pid, "source": "push", "author": author, "text": text,
            "created_at": at.isoformat()}


def stored_posts(store: Store) -> list[dict[str, Any]]:
    """Every stored post as a post object, in the order stored."""
    far = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    rowids = sorted(store.post_rowids_between(*far))
    return [
        {"id": p.ext_id, "source": p.source, "author": p.author, "text": p.text,
         "tier": p.tier.value, "created_at": p.created_at.isoformat()}
        for p in sorted(store.posts_for_processing(rowids, "all-MiniLM-L6-v2"),
                        key=lambda p: p.rowid)
    ]


def stories(store: Store) -> Counter[tuple[str, tuple[str, ...]]]:
    """Live narratives by (kind, actors): how many tell each story."""
    return Counter((s.kind.value, tuple(s.actors)) for s in store.narrative_states())


def raised(store: Store) -> Counter[int]:
    """Raised alert events per narrative id."""
    return Counter(a.narrative_id for a, _ in store.outbox.alerts(limit=10_000)
                   if a.event.value == "raised")


def raised_stories(store: Store) -> Counter[tuple[str, tuple[str, ...]]]:
    """Raised alert events by the (kind, actors) of their narrative."""
    keys = {s.id: (s.kind.value, tuple(s.actors)) for s in store.narrative_states()}
    return Counter(keys.get(nid, ("merged", ())) for nid in raised(store).elements())


# --------------------------------------------------------------------------- scenario


def storage_line(target: str) -> str:
    """The ``[storage]`` setting for a database: a PostgreSQL URL, or a SQLite file."""
    return f'url = "{target}"' if target.startswith("postgresql://") else f'path = "{target}"'


def test_two_workers_share_one_database_and_survive_a_kill(
    tmp_path: Path, upstream: Upstream, store_target: str,
    embedder: SentenceTransformerEmbedder,
) -> None:
    line, target = storage_line(store_target), store_target
    now = datetime.now(UTC)
    for n in range(4):
        upstream.add_item(f"feed-{n}", f"{TTP[n]}, the desk hears", f"feed-author-{n}",
                          now - timedelta(minutes=50 - n))
    ports = free_port(), free_port()
    workers = [
        Worker(name, worker_config(tmp_path, name, line, port, upstream), port,
               tmp_path / f"{name}.log")
        for name, port in zip(("a", "b"), ports, strict=True)
    ]
    try:
        for worker in workers:
            wait_for(f"worker {worker.name} to answer /healthz", worker.health, workers,
                     timeout=240)
        detail = [w.request("GET", "/healthz")[1] for w in workers]
        assert detail[0]["worker"] != detail[1]["worker"], "each worker has an id of its own"

        # -- the same posts pushed to both at once are stored once ------------------------
        # distinct texts: a query for one finds that post's claim and no other
        first = [post(f"p-{n}", TTP[n % 4] + (" today" if n >= 4 else ""), f"author-{n}",
                      now - timedelta(minutes=45 - n)) for n in range(8)]
        answers: dict[str, dict[str, Any]] = {}
        pushers = [threading.Thread(target=lambda w=w: answers.__setitem__(w.name, w.push(first)))
                   for w in workers]
        for thread in pushers:
            thread.start()
        for thread in pushers:
            thread.join(120)
        assert answers["a"]["accepted"] + answers["b"]["accepted"] == len(first)
        assert answers["a"]["duplicates"] + answers["b"]["duplicates"] == len(first)

        store = Store(target)
        try:
            wait_for("the feed's items to be stored",
                     lambda: store.count("posts") == len(first) + 4, workers)
            wait_for("the first alert to reach the receiver", upstream.delivered, workers)

            def leaving() -> bool:  # the feed's lease: one polls, the other skips quietly
                shown = [w.request("GET", "/healthz")[1]["sources"][FEED] for w in workers]
                return any(s["skipped"] and s["held_by"] and s["ok"] is not False
                           for s in shown)

            wait_for("a worker to leave the feed to the one holding its lease", leaving,
                     workers)
            # a post one worker stored is found by a query to the other
            taker = 0 if answers["a"]["accepted"] else 1
            taken = next(i["index"] for i in answers[workers[taker].name]["items"]
                         if i["status"] == "accepted")
            asker, text = workers[1 - taker], first[taken]["text"]

            def found() -> bool:
                status, body = asker.request(
                    "GET", "/v1/query?" + urllib.parse.urlencode({"q": text, "k": 5}))
                return status == 200 and any(h["text"] == text for h in body)

            wait_for("the other worker's claim in a query answer", found, workers)

            # -- kill -9 of the feed's worker in the middle of a burst ------------------
            holder = store.holder_of(f"source:{FEED}") or ""
            victim = next((w for w, d in zip(workers, detail, strict=True)
                           if d["worker"] == holder), workers[0])
            survivor = workers[1] if victim is workers[0] else workers[0]
            upstream.hook_status = 503  # deliveries pend, retried by whoever is alive
            burst = [post(f"q-{n}", (BLA + TTP)[n % 7], f"burst-{n}",
                          now - timedelta(minutes=30 - n / 5)) for n in range(120)]
            acked: list[str] = []

            def hammer() -> None:
                for start in range(0, len(burst), 4):
                    try:
                        body = victim.push(burst[start : start + 4])
                    except (OSError, AssertionError):
                        return  # killed: the rest is not acknowledged
                    acked.extend(i["id"] for i in body["items"])

            thread = threading.Thread(target=hammer)
            thread.start()
            wait_for("part of the burst to be acknowledged", lambda: len(acked) >= 12,
                     [survivor, victim])
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(60)
            thread.join(120)
            assert len(acked) < len(burst), "the kill came mid-burst"
            for n in range(4, 6):  # only the survivor can poll these now
                upstream.add_item(f"feed-{n}", BLA[n % len(BLA)], f"feed-author-{n}",
                                  now - timedelta(minutes=20 - n))
            # the client sends what was not acknowledged to the survivor (all of it, even)
            for start in range(0, len(burst), 8):
                survivor.push(burst[start : start + 8])
            upstream.hook_status = 200
            total = len(first) + len(burst) + 6
            wait_for("every post stored", lambda: store.count("posts") == total, [survivor])
            wait_for("every post processed", lambda: not store.unprocessed_posts(), [survivor])

            def settled() -> bool:
                counts = store.outbox.counts()
                return counts["pending"] == 0 and counts["sent"] > 0

            wait_for("every delivery settled", settled, [survivor])

            # every acknowledged post is stored, once
            keys = [("push", i) for i in acked]
            assert store.existing_keys(keys) == set(keys)
            assert store.count("posts") == total
            # every alert reached the receiver once (sent by one worker or the other)
            delivered = upstream.delivered()
            assert len(delivered) == len(set(delivered)), "an alert was delivered twice"
            alert_ids = {a.alert_id for a, _ in store.outbox.alerts(limit=10_000)}
            assert set(delivered) == alert_ids
            assert store.outbox.counts()["dead"] == 0
            # one alert per narrative and rule (the cooldown is ten hours)
            assert raised(store) and max(raised(store).values()) == 1
            mine = stories(store)
            made = store.count("narratives")
            posts_in_order = stored_posts(store)
            alerted = raised_stories(store)
        finally:
            store.close()
        survivor_log = survivor.log()
        assert survivor.stop() == 0, survivor_log
    finally:
        for worker in workers:
            worker.stop(signal.SIGKILL)  # closes its log (the killed one's too)

    # each story is one narrative, as one worker clusters the same posts in the same order
    assert all(n == 1 for n in mine.values()), mine
    alone = tmp_path / "alone"
    alone.mkdir()
    config = worker_config(alone, "alone", f'path = "{alone / "alone.db"}"', free_port(),
                           upstream)
    posts_file = alone / "posts.jsonl"
    posts_file.write_text("".join(json.dumps(p) + "\n" for p in posts_in_order), "utf-8")
    assert run_cli(["ingest", str(posts_file), "--config", str(config)]) == 0
    reference = Store(alone / "alone.db")
    try:
        assert stories(reference) == mine
        # no narrative was made twice and merged later: as many were ever made
        assert reference.count("narratives") == made
        assert raised_stories(reference) == alerted
    finally:
        reference.close()
