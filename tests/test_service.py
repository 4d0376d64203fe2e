"""`claimwatch run` as users run it: a real subprocess, polling local servers that play an
RSS feed, a Mastodon instance and the X API v2, delivering to a local webhook receiver,
taking pushed posts over HTTP, and surviving SIGTERM and SIGKILL.

Each daemon start loads the model, so the scenarios share daemons: three starts in all.
Conditions are polled with a deadline; no duration is asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import faiss
import numpy as np
import pytest
from aiohttp import web
from conftest import ROOT, run_cli, write_config

from alerts.channels.webhook import verify_signature
from tracker.daemon.api import BodyError, read_items
from tracker.daemon.intake import Intake, IntakeClosed, IntakeFull
from tracker.daemon.jobs import retry_delay
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.models import Post
from tracker.pipeline import Outcome
from tracker.store import Store

T = TypeVar("T")

API_TOKEN = "api-token-5b1e"
X_TOKEN = "x-bearer-77c2"
SECRET = "webhook-secret-0d9"
TTP = "Sources say the TTP is behind the Nushki blast"
BLA = "Sources say the BLA carried out the Nushki blast"


# --------------------------------------------------------------------------- pure parts


def test_retry_delay_doubles_up_to_a_cap_and_waits_out_rate_limits() -> None:
    assert [retry_delay(n, 60) for n in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay(10, 60) == 900
    assert retry_delay(10, 3600) == 3600  # never more often than the interval
    assert retry_delay(1, 60, reset_in=500) == 500


def test_push_bodies_object_array_and_json_lines() -> None:
    assert read_items(b'{"id": "1"}', "application/json") == [(None, {"id": "1"})]
    assert read_items(b'[{"id": "1"}, 2]', "application/json") == [(None, {"id": "1"}), (None, 2)]
    lines = read_items(b'{"id": "1"}\n\n{oops\n{"id": "3"}\n', "text/plain")
    assert [n for n, _ in lines] == [1, 3, 4]
    assert lines[0][1] == {"id": "1"} and "line 3 is not JSON" in lines[1][1].reason
    one = read_items(b'{"id": "1"}', "application/x-ndjson")
    assert one == [(1, {"id": "1"})]
    for bad in (b"", b"  \n", b"{oops", b'"a string"', b"\xff\xfe"):
        with pytest.raises(BodyError):
            read_items(bad, "application/json")


def _posts(*ids: str) -> list[Post]:
    return [Post("push", i, f"text {i}", datetime(2026, 11, 20, tzinfo=UTC)) for i in ids]


async def test_intake_merges_waiting_batches_refuses_when_full_and_drains_on_close() -> None:
    release = asyncio.Event()
    calls: list[list[str]] = []

    async def process(posts: list[Post]) -> list[Outcome]:
        calls.append([p.id for p in posts])
        await release.wait()
        return [Outcome.STORED if int(p.id) % 2 else Outcome.DUPLICATE for p in posts]

    intake = Intake(process, capacity=2, max_posts=3)
    intake.start()
    first = intake.offer(_posts("1", "2"))
    while not calls:
        await asyncio.sleep(0.01)
    second, third = intake.offer(_posts("3")), intake.offer(_posts("4", "5"))
    assert intake.depth == 2 and intake.full
    with pytest.raises(IntakeFull):
        intake.offer(_posts("6"))
    polled = asyncio.ensure_future(intake.submit(_posts("7", "8", "9", "11")))  # never refused
    await asyncio.sleep(0.01)
    release.set()
    assert await first == [Outcome.STORED, Outcome.DUPLICATE]
    assert await second == [Outcome.STORED]
    assert await third == [Outcome.DUPLICATE, Outcome.STORED]
    assert await polled == [Outcome.STORED, Outcome.DUPLICATE, Outcome.STORED, Outcome.STORED]
    assert calls == [["1", "2"], ["3", "4", "5"], ["7", "8", "9"], ["11"]]
    assert await intake.close(5.0)
    with pytest.raises(IntakeClosed):
        intake.offer(_posts("12"))


# --------------------------------------------------------------------------- local servers


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int


def _rss_time(at: datetime) -> str:
    return format_datetime(at, usegmt=True)


def _z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Upstream:
    """One aiohttp server on 127.0.0.1, in a thread of its own, playing a news feed
    (/feed.xml), a failing feed (/broken.xml), a page that is no feed (/garbage.xml), a
    Mastodon instance, the X API v2 recent search, and a webhook receiver (/hooks/...)."""

    feed: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    tweets: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    hook_status: int = 200
    hits: list[Hit] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
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

    def requests(self, prefix: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path.startswith(prefix)]

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/feed.xml", self._feed)
        app.router.add_get("/broken.xml", self._broken)
        app.router.add_get("/garbage.xml", self._garbage)
        app.router.add_get("/api/v1/timelines/tag/{tag}", self._timeline)
        app.router.add_get("/2/tweets/search/recent", self._search)
        app.router.add_post("/hooks/{tail:.*}", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        response: web.StreamResponse = await handler(request)
        with self.lock:
            self.hits.append(Hit(request.path, dict(request.query), dict(request.headers), body,
                                 response.status))
        return response

    async def _feed(self, request: web.Request) -> web.Response:
        with self.lock:
            items = list(self.feed)
        etag = f'"v{len(items)}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = "".join(
            f"<item><title>{escape(i['title'])}</title><guid isPermaLink=\"false\">{i['id']}"
            f"</guid><pubDate>{_rss_time(i['at'])}</pubDate><author>{i['author']}</author>"
            "</item>"
            for i in items
        )
        xml = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
               f"<title>Desk</title><link>https://desk.example/</link>{body}</channel></rss>")
        return web.Response(text=xml, content_type="application/rss+xml", headers={"ETag": etag})

    async def _broken(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="upstream exploded")

    async def _garbage(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>maintenance</body></html>", content_type="text/html")

    async def _timeline(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since_id", "0"))
        max_id = int(request.query.get("max_id", str(10**30)))
        limit = int(request.query.get("limit", "20"))
        with self.lock:
            found = sorted((s for s in self.statuses if since < int(s["id"]) < max_id),
                           key=lambda s: int(s["id"]), reverse=True)
        return web.json_response(found[:limit])

    async def _search(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {X_TOKEN}":
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        since = int(request.query.get("since_id", "0"))
        with self.lock:
            data = sorted((t for t in self.tweets if int(t["id"]) > since),
                          key=lambda t: int(t["id"]), reverse=True)
            users = list(self.users)
        if not data:
            return web.json_response({"meta": {"result_count": 0}})
        return web.json_response({
            "data": data, "includes": {"users": users},
            "meta": {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"],
                     "result_count": len(data)},
        })

    async def _hook(self, request: web.Request) -> web.Response:
        return web.Response(status=self.hook_status, text="noted")

    # -- content ----------------------------------------------------------------------

    def add_feed_item(self, item_id: str, title: str, author: str, at: datetime) -> None:
        with self.lock:
            self.feed.insert(0, {"id": item_id, "title": title, "author": author, "at": at})

    def add_status(self, sid: int, text: str, acct: str, at: datetime,
                   reblog: dict[str, Any] | None = None) -> dict[str, Any]:
        status = {
            "id": str(sid), "created_at": _z(at), "in_reply_to_id": None, "spoiler_text": "",
            "language": None if reblog else "en", "url": None if reblog else
            f"https://masto.example/@{acct}/{sid}", "uri": f"https://masto.example/s/{sid}",
            "reblogs_count": 0, "favourites_count": 0, "reblog": reblog,
            "content": "" if reblog else f"<p>{escape(text)}</p>",
            "account": {"id": acct, "username": acct, "acct": acct, "followers_count": 50},
        }
        with self.lock:
            self.statuses.append(status)
        return status

    def add_tweet(self, tid: int, text: str, author: str, at: datetime) -> None:
        with self.lock:
            self.users.append({"id": author, "name": author, "username": author,
                               "public_metrics": {"followers_count": 100}})
            self.tweets.append({
                "id": str(tid), "text": text, "author_id": author, "lang": "en",
                "created_at": _z(at), "conversation_id": str(tid),
                "edit_history_tweet_ids": [str(tid)],
                "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1,
                                   "quote_count": 0},
            })


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    server.start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], T], daemon: Daemon | None = None,
             timeout: float = 90.0) -> T:
    """Poll ``check`` until it gives something truthy; fail naming ``what`` at the
    deadline, or at once when the daemon died."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if daemon is not None and daemon.proc.poll() is not None:
            pytest.fail(f"the daemon exited waiting for {what}:\n{daemon.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}"
                        + (f"\n{daemon.log()[-4000:]}" if daemon else ""))
        time.sleep(0.1)


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """``claimwatch run`` as a subprocess, its stderr in a file."""

    def __init__(self, config: Path, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", "--config", str(config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log, env=env,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, *, token: str | None = API_TOKEN,
                ) -> tuple[int, dict[str, str], Any]:
        """One request; the API token goes with it unless ``headers`` carry one or
        ``token`` is None."""
        headers = dict(headers or {})
        if token is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                         method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, head, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, head, raw = exc.code, dict(exc.headers), exc.read()
        is_json = head.get("Content-Type", "").startswith("application/json")
        return status, head, json.loads(raw) if is_json else raw.decode()

    def get(self, path: str) -> Any:
        status, _, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def push(self, items: Any, token: str | None = API_TOKEN) -> tuple[int, dict[str, str], Any]:
        headers = {"Content-Type": "application/json"}
        return self.request("POST", "/v1/posts", json.dumps(items).encode(), headers,
                            token=token)

    def health(self) -> dict[str, Any] | None:
        try:
            status, _, body = self.request("GET", "/healthz")
        except OSError:
            return None
        return body if status == 200 else None

    def wait_ready(self) -> dict[str, Any]:
        return wait_for("the daemon to answer /healthz", self.health, self, timeout=150)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=90)
        finally:
            self._log.close()


def daemon_env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "CLAIMWATCH_API_TOKEN": API_TOKEN,
            "CW_TEST_X_TOKEN": X_TOKEN, "CW_TEST_SECRET": SECRET}


def service_config(folder: Path, upstream: Upstream, port: int, sources: str = "",
                   outbox: str = "") -> Path:
    started = datetime.now(UTC) - timedelta(hours=3)
    return write_config(folder, f"""
[service]
port = {port}
drain_seconds = 0.5
evaluate_seconds = 1.0
consolidate_seconds = 2.0
save_index_seconds = 2.0
grace_seconds = 20.0
max_body_bytes = 65536

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
url = "{upstream.url('/hooks/claimwatch')}"
secret_env = "CW_TEST_SECRET"
timeout_seconds = 5
{outbox}
{sources}
""")


SOURCES = """
[[sources]]
name = "desk-feed"
type = "rss"
url = "{base}/feed.xml"
interval_seconds = 1

[[sources]]
name = "broken-feed"
type = "rss"
url = "{base}/broken.xml"
interval_seconds = 1

[[sources]]
name = "garbage-feed"
type = "rss"
url = "{base}/garbage.xml"
interval_seconds = 1

[[sources]]
name = "masto"
type = "mastodon"
instance = "{base}"
tags = ["nushki"]
interval_seconds = 1

[[sources]]
name = "x"
type = "x"
bearer_env = "CW_TEST_X_TOKEN"
api_base = "{base}"
interval_seconds = 1

[[sources]]
name = "x-off"
type = "x"
bearer_env = "CW_TEST_NO_SUCH_TOKEN"
api_base = "{base}"
interval_seconds = 1
"""


def stored(db: Path) -> dict[str, list[str]]:
    """Stored post ids by source, read on a connection of the test's own."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT source, ext_id FROM posts ORDER BY id").fetchall()
    out: dict[str, list[str]] = {}
    for source, ext_id in rows:
        out.setdefault(source, []).append(ext_id)
    return out


def signed_alerts(upstream: Upstream, delivered_only: bool = True) -> list[dict[str, Any]]:
    """Alert bodies the receiver accepted, each checked against its signature."""
    out = []
    for hit in upstream.requests("/hooks/"):
        if delivered_only and hit.status != 200:
            continue
        assert verify_signature(SECRET, hit.headers["X-Claimwatch-Timestamp"], hit.body,
                                hit.headers["X-Claimwatch-Signature"])
        out.append(json.loads(hit.body))
    return out


def index_matches_database(folder: Path) -> None:
    index = faiss.read_index(str(folder / "indexes" / "claims.faiss"))
    held = faiss.vector_to_array(index.id_map)
    store = Store(folder / "claimwatch.db")
    try:
        assert len(held) == len(set(held.tolist())), "a claim is in the index twice"
        assert np.array_equal(np.sort(held), store.claim_ids()), "index and database disagree"
    finally:
        store.close()


def metric(daemon: Daemon, line_start: str) -> float:
    for line in daemon.get("/metrics").splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --------------------------------------------------------------------------- scenarios


def test_daemon_polls_sources_takes_pushes_alerts_and_stops_cleanly(
    tmp_path: Path, upstream: Upstream, embedder: SentenceTransformerEmbedder,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLAIMWATCH_API_TOKEN", API_TOKEN)  # the CLI asks the daemon with it
    now = datetime.now(UTC)
    upstream.add_feed_item("desk-1", TTP, "desk-a", now - timedelta(minutes=40))
    upstream.add_feed_item("desk-2", TTP + " today", "desk-b", now - timedelta(minutes=35))
    base_id = 113_500_000_000_000_000
    first = upstream.add_status(base_id + 1, TTP + " #nushki", "m1", now - timedelta(minutes=30))
    upstream.add_status(base_id + 2, "The TTP is behind the Nushki blast, sources say", "m2",
                        now - timedelta(minutes=28))
    upstream.add_status(base_id + 3, "", "m3", now - timedelta(minutes=27), reblog=first)
    upstream.add_tweet(1_862_000_000_000_000_001, TTP + "!", "rumourmill",
                       now - timedelta(minutes=25))
    port = free_port()
    config = service_config(tmp_path, upstream, port, SOURCES.format(base=upstream.url("")))
    db = tmp_path / "claimwatch.db"
    args = ["--json", "--config", str(config)]
    daemon = Daemon(config, port, daemon_env(), tmp_path / "daemon.log")
    try:
        health = daemon.wait_ready()
        assert health["database"] == str(db.resolve()) and health["database_ok"]

        # -- the push endpoint: token, per-item verdicts, size limit
        good = [
            {"id": "p1", "author": "push-a", "text": TTP, "created_at": _z(now - timedelta(minutes=20))},
            {"id": "bad-1", "author": "push-x", "text": "no time on this one"},
            {"id": "p2", "author": "push-b", "text": TTP + " now",
             "created_at": _z(now - timedelta(minutes=15)), "tier": "unverified"},
        ]
        status, head, body = daemon.push(good, token=None)
        assert status == 401 and "Bearer" in head.get("WWW-Authenticate", "")
        assert daemon.push(good, token="wrong")[0] == 401
        status, _, body = daemon.push(good)
        assert status == 202, body
        assert [(i["id"], i["status"]) for i in body["items"]] == [
            ("p1", "accepted"), ("bad-1", "rejected"), ("p2", "accepted")]
        assert "created_at" in body["items"][1]["reason"]
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 1)
        status, _, body = daemon.push([{"id": "big", "text": "x" * 70_000,
                                        "created_at": _z(now)}])
        assert status == 413 and "max_body_bytes" in body["error"]

        # -- every source polled; the failing ones named with their reason
        def polled() -> dict[str, Any] | None:
            sources = (daemon.health() or {}).get("sources", {})
            ready = all(sources.get(n, {}).get("ok") and sources[n]["polls"] >= 2
                        for n in ("desk-feed", "masto", "x"))
            failing = all(sources.get(n, {}).get("ok") is False
                          for n in ("broken-feed", "garbage-feed"))
            return sources if ready and failing else None

        sources = wait_for("every source to be polled", polled, daemon)
        assert "HTTP 500" in sources["broken-feed"]["reason"]
        assert "not a feed" in sources["garbage-feed"]["reason"]
        assert "CW_TEST_NO_SUCH_TOKEN" in sources["x-off"]["disabled"]
        assert sources["x-off"]["polls"] == 0

        # -- stored from all four, clustered into one narrative, alerted to the webhook
        alerts = wait_for("an alert at the webhook", lambda: signed_alerts(upstream), daemon)
        raised = alerts[0]
        assert raised["event"] == "raised" and raised["actors"] == ["TTP"]
        assert raised["incident_id"] == "nushki"
        wait_for("all posts to join the narrative", lambda: daemon.get(
            f"/v1/narratives/{raised['narrative_id']}")["size"] >= 8, daemon)
        narrative = daemon.get(f"/v1/narratives/{raised['narrative_id']}")
        assert {c["source"] for c in narrative["claims"]} == {"desk-feed", "masto", "x", "push"}
        shown = daemon.get("/v1/alerts?incident=nushki")
        assert any(a["alert_id"] == raised["alert_id"] and a["deliveries"][0]["state"] == "sent"
                   for a in shown)
        x_queries = [h.query.get("query", "") for h in upstream.requests("/2/")]
        assert x_queries and all("Nushki" in q for q in x_queries), "terms of open incidents"

        # -- cursors: new items are taken, nothing twice
        upstream.add_feed_item("desk-3", "Roads closed around Nushki market", "desk-a", now)
        upstream.add_status(base_id + 4, "Curfew imposed in Nushki tonight", "m1", now)
        upstream.add_tweet(1_862_000_000_000_000_002, "Nushki hospital asks for blood donors",
                           "helper", now)
        expected = {"desk-feed": ["desk-1", "desk-2", "desk-3"],
                    "masto": [str(base_id + i) for i in (1, 2, 3, 4)],
                    "x": ["1862000000000000001", "1862000000000000002"], "push": ["p1", "p2"]}

        def all_in() -> bool:
            found = stored(db)
            return all(sorted(found.get(s, [])) == sorted(ids) for s, ids in expected.items())

        wait_for("the new items to be stored", all_in, daemon)
        before = {s: h["polls"] for s, h in (daemon.health() or {})["sources"].items()}
        wait_for("two more polls of each source", lambda: all(
            (daemon.health() or {})["sources"][s]["polls"] >= before[s] + 2
            for s in ("desk-feed", "masto", "x")), daemon)
        assert all_in(), "polling again stored nothing twice"
        assert set(stored(db)) == set(expected)
        assert any(h.headers.get("If-None-Match") for h in upstream.requests("/feed.xml"))
        assert upstream.requests("/api/v1/")[-1].query["since_id"] == str(base_id + 4)
        assert upstream.requests("/2/")[-1].query["since_id"] == "1862000000000000002"
        status, _, body = daemon.push([good[0], good[2]])
        assert status == 202 and body["duplicates"] == 2

        # -- an incident added from the CLI while it runs: linked and searched on X
        started = _z(now - timedelta(hours=1))
        assert run_cli(["incident", "add", "quetta", "--title", "Quetta market blast",
                        "--started-at", started, "--term", "Quetta", *args]) == 0
        status, _, body = daemon.push([{"id": "q1", "author": "push-q", "created_at": _z(now),
                                        "text": "Sources say the BLA is behind the Quetta blast"}])
        assert status == 202 and body["accepted"] == 1
        wait_for("the new incident to take its post", lambda: any(
            i["id"] == "quetta" and i["posts"] == 1 for i in daemon.get("/v1/incidents")), daemon)
        wait_for("X to search the new incident's terms", lambda: "Quetta" in upstream.requests(
            "/2/")[-1].query.get("query", ""), daemon)
        expected["push"].append("q1")

        # -- the CLI asks the daemon, and answers the same without it
        capsys.readouterr()
        assert run_cli(["query", TTP, "-k", "5", *args]) == 0
        via_daemon = json.loads(capsys.readouterr().out)
        assert run_cli(["narratives", "--incident", "nushki", *args]) == 0
        narratives_via_daemon = json.loads(capsys.readouterr().out)
        assert metric(daemon, 'claimwatch_api_requests_total{route="/v1/query",status="200"}') >= 1
        assert via_daemon and via_daemon[0]["text"].startswith("Sources say the TTP")
        assert metric(daemon, 'claimwatch_posts_total{source="push",tier="unverified"}') == 3
        assert metric(daemon, 'claimwatch_source_errors_total{source="broken-feed"}') >= 1
    finally:
        code = daemon.stop()
    log = daemon.log()
    assert code == 0, log
    assert "claimwatch stopped" in log and "index saved" in log.split("claimwatch stopped")[1]
    assert log.count("source x-off disabled") == 1
    for secret in (API_TOKEN, X_TOKEN, SECRET):
        assert secret not in log
    index_matches_database(tmp_path)

    assert run_cli(["query", TTP, "-k", "5", *args]) == 0
    assert json.loads(capsys.readouterr().out) == via_daemon
    assert run_cli(["narratives", "--incident", "nushki", *args]) == 0
    assert json.loads(capsys.readouterr().out) == narratives_via_daemon


class Burst:
    """Pushes batches of 25 posts on the BLA narrative from a thread until stopped or the
    daemon goes away, remembering every post a 202 acknowledged."""

    def __init__(self, daemon: Daemon, prefix: str) -> None:
        self.daemon = daemon
        self.prefix = prefix
        self.acked: dict[str, dict[str, Any]] = {}
        self.batches = 0
        self._stop = threading.Event()
        self._start = datetime.now(UTC) - timedelta(minutes=30)
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        for n in range(100_000):
            if self._stop.is_set():
                return
            posts = [{"id": f"{self.prefix}{n}-{j}", "author": f"user{j % 7}",
                      "text": BLA if j % 2 else BLA + " yesterday",
                      "created_at": _z(self._start + timedelta(seconds=n * 5 + j))}
                     for j in range(25)]
            try:
                status, _, body = self.daemon.push(posts)
            except OSError:
                return  # the daemon is gone
            if status != 202:
                return  # shutting down: 503
            for item in body["items"]:
                if item["status"] in ("accepted", "duplicate"):
                    self.acked[item["id"]] = posts[item["index"]]
            self.batches += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def test_sigkill_during_a_push_burst_loses_no_acknowledged_post_or_pending_alert(
    tmp_path: Path, upstream: Upstream, embedder: SentenceTransformerEmbedder,
) -> None:
    port = free_port()
    config = service_config(tmp_path, upstream, port,
                            outbox="[outbox]\nmax_attempts = 1000\nbackoff_seconds = 0.5\n"
                                   "max_backoff_seconds = 1.0\n")
    upstream.hook_status = 503  # the receiver is down: alerts wait in the outbox
    db = tmp_path / "claimwatch.db"
    env = daemon_env()
    daemon = Daemon(config, port, env, tmp_path / "daemon.log")
    burst: Burst | None = None
    try:
        daemon.wait_ready()
        burst = Burst(daemon, "k")

        def bla_alert() -> list[dict[str, Any]]:
            return [a for a in daemon.get("/v1/alerts") if a["actors"] == ["BLA"]]

        pending = wait_for("an alert on the BLA narrative", bla_alert, daemon)[0]
        wait_for("a failed delivery attempt", lambda: upstream.requests("/hooks/"), daemon)
        assert not signed_alerts(upstream)
        wait_for("a few acknowledged batches", lambda: burst.batches >= 6, daemon)
    finally:
        daemon.stop(signal.SIGKILL)
        if burst is not None:
            burst.stop()
    assert burst is not None and burst.acked

    upstream.hook_status = 200
    again = Daemon(config, port, env, tmp_path / "daemon-2.log")
    second: Burst | None = None
    try:
        again.wait_ready()
        delivered = wait_for(
            "the pending alert to be delivered after the restart",
            lambda: [a for a in signed_alerts(upstream) if a["alert_id"] == pending["alert_id"]],
            again,
        )
        assert delivered[0]["actors"] == ["BLA"]
        found = stored(db)["push"]
        assert len(found) == len(set(found)), "a post is stored twice"
        assert set(burst.acked) <= set(found), "a post that got a 202 is missing"
        items = list(burst.acked.values())
        for start in range(0, len(items), 200):
            status, _, body = again.push(items[start : start + 200])
            assert status == 202 and body["duplicates"] == len(items[start : start + 200])
        assert sorted(stored(db)["push"]) == sorted(found)

        # SIGTERM in the middle of another burst: the batches in flight are finished
        second = Burst(again, "t")
        wait_for("a few acknowledged batches", lambda: second.batches >= 3, again)
    finally:
        code = again.stop()
        if second is not None:
            second.stop()
    assert code == 0, again.log()
    assert "claimwatch stopped" in again.log()
    assert second is not None and set(second.acked) <= set(stored(db)["push"])
    index_matches_database(tmp_path)
