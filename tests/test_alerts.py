"""Alerts end to end: a rumour outrunning verified reporting, replayed on the real model,
raises, stays quiet, escalates, is resolved by a finding; and reaches real receivers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import ROOT, run_cli, write_config

from alerts.channels.webhook import verify_signature

SECRET = "s3cret-for-tests"
START = datetime(2026, 11, 20, 4, 40, tzinfo=UTC)

INCIDENT = """
[[incidents]]
id = "nushki"
title = "Nushki bus bombing"
description = "A suicide bomber struck a bus carrying soldiers near Nushki, Balochistan."
terms = ["Nushki"]
started_at = "2026-11-20T09:40:00+05:00"

[tiers]
official_authors = ["ISPR"]
verified_authors = ["dawn_com", "Reuters", "geonews", "bbcurdu"]

[[rules]]
name = "outrunning"
window_minutes = 10.0
ratio = 3.0
min_posts = 5
min_authors = 3
verified_floor = 0.2
cooldown_minutes = 20.0
escalate_factor = 2.0
resolve_after_minutes = 60.0
"""


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=20 + minutes)).isoformat().replace("+00:00", "Z")


def nushki_posts() -> list[dict[str, Any]]:
    """Minute 0 is 05:00Z, 20 minutes after the blast. A TTP rumour spreads by reposts at
    one a minute (it holds the rule from minute 5), two a minute from minute 10 (still in
    the cooldown), ISPR names the BLA at minute 30, the rumour goes on. Beside it, a gas
    cylinder story from only two accounts, and the newsrooms' "no group has claimed"."""
    posts: list[dict[str, Any]] = []

    def post(pid: str, minute: float, author: str, text: str, **extra: Any) -> None:
        posts.append({"id": pid, "source": "x", "author": author, "text": text,
                      "created_at": _at(minute), "metrics": {"followers": 100}, **extra})

    post("d1", -15, "dawn_com", "Blast hits a bus carrying soldiers near Nushki; casualties feared.")
    post("r0", 0, "rumourmill", "Sources say TTP is behind the Nushki bus blast")
    n = 0
    for minute in range(1, 10):  # one repost a minute
        n += 1
        post(f"rt{n}", minute, f"user{n}", "", repost_of="r0")
    for minute in range(10, 30):  # two a minute
        for half in (0.0, 0.5):
            n += 1
            post(f"rt{n}", minute + half, f"user{n}", "", repost_of="r0")
    post("r1", 12.2, "pak_watch", "Sources say TTP is behind the Nushki bus blast #Nushki")
    post("ispr", 30, "ISPR", "ISPR confirmed the BLA carried out the Nushki bus attack.")
    for minute in range(31, 40):
        n += 1
        post(f"rt{n}", minute, f"user{n}", "", repost_of="r0")
    for i in range(10):  # one story, two accounts
        post(f"gas{i}", 1 + i, ("gasman", "gasfan")[i % 2],
             f"It was a gas cylinder explosion in Nushki, not a bomb {'!' * (i + 1)}")
    for i, who in enumerate(["dawn_com", "Reuters", "geonews", "bbcurdu"]):
        post(f"nc{i}", 40 + i, who, "No group has claimed responsibility for the Nushki bus blast.")
        for j in range(3):
            post(f"nc{i}rt{j}", 40.2 + i + j * 0.2, f"reader{i}{j}", "", repost_of=f"nc{i}")
    return posts


def write_posts(folder: Path, posts: list[dict[str, Any]]) -> Path:
    path = folder / "nushki.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    return path


def replay_events(config: Path, posts: Path, capsys: pytest.CaptureFixture[str],
                  *extra: str) -> list[dict[str, Any]]:
    assert run_cli(["replay", str(posts), "--config", str(config), "--json", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_rumour_raises_once_escalates_after_cooldown_and_a_finding_resolves_it(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, INCIDENT)
    events = replay_events(config, write_posts(tmp_path, nushki_posts()), capsys)
    assert [(e["event"], e["at"]) for e in events] == [
        ("raised", _at(5)),  # the sixth post: 6 in 10 minutes = 0.6/min = 3x the floor
        ("escalated", _at(25)),  # 2/min since minute 10, but quiet until the cooldown ends
        ("resolved", events[2]["at"]),
    ]
    raised, escalated, resolved = events
    assert {e["narrative_id"] for e in events} == {raised["narrative_id"]}
    assert raised["kind"] == "attribution" and raised["actors"] == ["TTP"]
    assert raised["status"] == "speculative" and raised["incident_id"] == "nushki"
    assert raised["posts"] == 6 and raised["authors"] == 6
    assert raised["spread_rate"] == pytest.approx(0.6) and raised["ratio"] == pytest.approx(3.0)
    assert raised["verified_rate"] == 0.0
    assert escalated["spread_rate"] >= 2 * raised["spread_rate"]
    assert escalated["follows"] == raised["alert_id"] == resolved["follows"]
    # resolved at the finding (minute 30) or the first minute after it
    assert _at(30) <= resolved["at"] <= _at(31)
    assert resolved["status"] == "contradicted"
    assert "contradicted by a finding" in resolved["reason"] and "BLA" in resolved["reason"]
    assert raised["first_post"]["post_id"] == "r0"
    assert raised["minutes_since_incident"] == pytest.approx(25.0)
    for key in ("alert_id", "event", "incident_id", "narrative_id", "label", "kind", "actors",
                "status", "severity", "at", "spread_rate", "verified_rate", "ratio", "posts",
                "authors"):
        assert key in raised, key
    # the gas story (two authors) and the newsrooms' narrative raised nothing
    labels = {e["label"] for e in events}
    assert not any("gas" in label or "No group" in label for label in labels)


def test_the_same_file_replayed_twice_gives_the_same_alerts(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, INCIDENT)
    posts = nushki_posts()
    shuffled = posts[::-1]  # order in the file does not matter: replay sorts by event time
    first = replay_events(config, write_posts(tmp_path, posts), capsys)
    (tmp_path / "again").mkdir()
    second = replay_events(config, write_posts(tmp_path / "again", shuffled), capsys)

    def without_ids(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in ("alert_id", "follows")} for e in events]

    assert len(first) == 3
    assert without_ids(first) == without_ids(second)


LATE_RULE = INCIDENT.split("[[rules]]")[0] + """
[[rules]]
name = "hour"
window_minutes = 60.0
ratio = 2.0
min_posts = 4
min_authors = 3
verified_floor = 0.01
"""


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_older_posts_arriving_after_newer_ones_still_raise_the_alert(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str], order: str
) -> None:
    # one rumour from five accounts: three early posts a slow source delivers, two later
    # ones a fast source delivers; with all five stored, the hour's window at minute 20
    # holds 4 posts from 4 authors, 6.7x the floor
    def post(pid: str, minute: float, author: str) -> dict[str, Any]:
        return {"id": pid, "source": "x", "author": author, "created_at": _at(minute),
                "text": f"Sources say the TTP is behind the Nushki bus blast ({author})"}

    slow = [post("s0", 0, "rumourmill"), post("s1", 3, "quetta_watch"),
            post("s2", 6, "balochwire")]
    fast = [post("f0", 20, "nushkinews"), post("f1", 22, "balochpost")]
    config = write_config(tmp_path, LATE_RULE)
    batches = [slow, fast] if order == "oldest first" else [fast, slow]
    for n, batch in enumerate(batches):
        (tmp_path / str(n)).mkdir()
        path = write_posts(tmp_path / str(n), batch)
        assert run_cli(["ingest", str(path), "--config", str(config)]) == 0
    capsys.readouterr()
    assert run_cli(["alerts", "--config", str(config), "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert [(a["event"], a["at"], a["posts"], a["authors"]) for a in alerts] == [
        ("raised", _at(20), 4, 4)  # the same alert whichever source delivered first
    ]


def test_replay_names_an_unknown_incident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, INCIDENT)
    posts = write_posts(tmp_path, nushki_posts()[:3])
    assert run_cli(["replay", str(posts), "--config", str(config), "--incident", "nope"]) == 1
    assert "no incident 'nope'" in capsys.readouterr().err


# -- delivery to real receivers -----------------------------------------------------------


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering 500 to the first ``refuse`` attempts of
    each alert (by idempotency key), then 200."""

    refuse: int = 0
    calls: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("X-Claimwatch-Idempotency-Key")
        tries = sum(h.get("X-Claimwatch-Idempotency-Key") == key for h, _, _ in self.calls)
        status = 500 if tries < self.refuse else 200
        self.calls.append((dict(request.headers), body, status))
        return web.Response(status=status, text="ok" if status == 200 else "busy")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recv.url = f"http://127.0.0.1:{port}/hook"
    yield recv
    await runner.cleanup()


def channel_config(url: str) -> str:
    return f"""
[[channels]]
name = "desk"
type = "webhook"
url = "{url}"
secret_env = "TEST_HOOK_SECRET"
timeout_seconds = 5.0

[outbox]
backoff_seconds = 0.05
max_backoff_seconds = 0.2
jitter = 0.0
"""


async def _replay_delivering(
    config: Path, posts: Path, *extra: str
) -> int:
    import asyncio

    return await asyncio.to_thread(
        run_cli, ["replay", str(posts), "--config", str(config), "--deliver", "--json", *extra]
    )


async def test_webhook_gets_signed_alerts_and_retries_keep_one_idempotency_key(
    tmp_path: Path, embedder: object, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    receiver.refuse = 2  # every alert is refused twice, then accepted
    config = write_config(tmp_path, INCIDENT + channel_config(receiver.url))
    posts = write_posts(tmp_path, nushki_posts())
    assert await _replay_delivering(config, posts, "--deliver-timeout", "20") == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert [e["event"] for e in events] == ["raised", "escalated", "resolved"]

    by_key: dict[str, list[tuple[dict[str, str], bytes, int]]] = {}
    for headers, body, status in receiver.calls:
        by_key.setdefault(headers["X-Claimwatch-Idempotency-Key"], []).append(
            (headers, body, status)
        )
    assert set(by_key) == {e["alert_id"] for e in events}
    first = by_key[events[0]["alert_id"]]
    for key, calls in by_key.items():
        assert [status for _, _, status in calls] == [500, 500, 200], key
        assert len({body for _, body, _ in calls}) == 1  # the same alert each time
        assert calls[-1][2] == 200
        headers, body, _ = calls[-1]
        assert headers["Idempotency-Key"] == key
        assert verify_signature(
            SECRET, headers["X-Claimwatch-Timestamp"], body, headers["X-Claimwatch-Signature"]
        )
        assert not verify_signature(
            "wrong", headers["X-Claimwatch-Timestamp"], body, headers["X-Claimwatch-Signature"]
        )
        assert json.loads(body)["alert_id"] == key
    assert json.loads(first[-1][1])["label"] == events[0]["label"]


async def test_an_alert_for_a_receiver_down_is_delivered_after_a_restart(
    tmp_path: Path, embedder: object, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], unused_tcp_port: int,
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    url = f"http://127.0.0.1:{unused_tcp_port}/hook"  # nothing listens there yet
    db = tmp_path / "alerts.db"
    config = write_config(tmp_path, INCIDENT + channel_config(url))
    config.write_text(
        config.read_text().replace(str(tmp_path / "claimwatch.db"), str(db)), encoding="utf-8"
    )
    posts = write_posts(tmp_path, nushki_posts())
    assert await _replay_delivering(
        config, posts, "--db", str(db), "--deliver-timeout", "0.5"
    ) == 0
    capsys.readouterr()

    def alerts_json() -> list[dict[str, Any]]:
        assert run_cli(["alerts", "--config", str(config), "--json"]) == 0
        rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
        return rows

    before = alerts_json()
    assert len(before) == 3
    assert all(r["deliveries"][0]["state"] == "pending" for r in before)
    assert all("cannot connect" in (r["deliveries"][0]["last_error"] or "") for r in before)

    # the receiver comes up; a new process sends what is pending
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        import asyncio

        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tracker", "alerts", "deliver", "--config", str(config),
             "--json"],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
            env={**__import__("os").environ, "TEST_HOOK_SECRET": SECRET},
        )
    finally:
        await runner.cleanup()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 3
    assert {h["X-Claimwatch-Idempotency-Key"] for h, _, _ in recv.calls} == {
        r["alert_id"] for r in before
    }
    after = alerts_json()
    assert all(r["deliveries"][0]["state"] == "sent" for r in after)


async def test_replay_without_deliver_holds_its_alerts_and_no_later_process_sends_them(
    tmp_path: Path, embedder: object, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    db = tmp_path / "held.db"
    config = write_config(tmp_path, INCIDENT + channel_config(receiver.url))
    config.write_text(
        config.read_text().replace(str(tmp_path / "claimwatch.db"), str(db)), encoding="utf-8"
    )
    posts = write_posts(tmp_path, nushki_posts())
    events = await asyncio.to_thread(replay_events, config, posts, capsys, "--db", str(db))
    assert [e["event"] for e in events] == ["raised", "escalated", "resolved"]
    assert receiver.calls == []  # a replay rehearses: the desk hears nothing

    def alerts_json() -> list[dict[str, Any]]:
        assert run_cli(["alerts", "--config", str(config), "--json"]) == 0
        rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
        return rows

    held = alerts_json()
    assert {r["alert_id"] for r in held} == {e["alert_id"] for e in events}
    assert [d["state"] for r in held for d in r["deliveries"]] == ["held"] * 3
    # `alerts deliver` (what `run` does on its own) sends pending alerts, not held ones
    assert await asyncio.to_thread(
        run_cli, ["alerts", "deliver", "--config", str(config), "--json"]
    ) == 0
    assert json.loads(capsys.readouterr().out) == {
        "sent": 0, "retrying": 0, "dead": 0, "pending": 0
    }
    assert receiver.calls == []
    assert [d["state"] for r in alerts_json() for d in r["deliveries"]] == ["held"] * 3


def test_alerts_test_reports_each_channel_without_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    unused_tcp_port: int,
) -> None:
    # a channel nobody listens on: `alerts test` says it failed and why, and exits 1
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    config = write_config(
        tmp_path, INCIDENT + channel_config(f"http://127.0.0.1:{unused_tcp_port}/hook")
        + '\n[[channels]]\nname = "log"\ntype = "log"\n'
    )
    assert run_cli(["alerts", "test", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "desk: FAILED" in out and f"127.0.0.1:{unused_tcp_port}" in out
    assert "log: arrived" in out
    assert SECRET not in out


def test_eval_replay_scores_alerts_against_thread_labels(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = nushki_posts()
    for p in posts:  # label the conversations as PHEME does
        pid = p["id"]
        if pid == "r0" or pid.startswith("rt") or pid == "r1":
            p.update(thread_id="r0", rumour_label="rumour", veracity="false")
        elif pid.startswith("gas"):
            p.update(thread_id="gas0", rumour_label="rumour", veracity="unverified")
        elif pid == "ispr":
            p.update(thread_id="ispr", rumour_label="rumour", veracity="true")
        else:
            p.update(thread_id=pid[:3], rumour_label="non-rumour")
    config = write_config(tmp_path, INCIDENT)
    path = write_posts(tmp_path, posts)
    assert run_cli(["eval", "replay", str(path), "--config", str(config), "--json",
                    "--min-posts", "1"]) == 0
    score = json.loads(capsys.readouterr().out)
    assert score["labels"]["false"] == {
        "threads": 1, "alerted": 1, "share": 1.0, "median_minutes": 5.0
    }
    assert score["labels"]["unverified"]["alerted"] == 0  # two authors only
    assert score["labels"]["non-rumour"]["threads"] == 5
    assert score["labels"]["non-rumour"]["alerted"] == 0
    assert score["precision"] == 1.0 and score["recall"] == 0.5
    assert score["non_rumour_share"] == 0.0 and score["median_lead_minutes"] == 5.0
    assert score["incidents"] == ["nushki"]  # the configured incident covers the posts
    assert score["events"][0]["alert_precision"] == 1.0
    assert run_cli(["eval", "replay", str(path), "--config", str(config),
                    "--min-posts", "1"]) == 0
    table = capsys.readouterr().out
    assert "non-rumour" in table and "precision 100.0%, recall 50.0%" in table


def test_plot_draws_the_incident_and_a_narrative_from_a_kept_replay(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, INCIDENT)
    db = tmp_path / "replay.db"
    events = replay_events(config, write_posts(tmp_path, nushki_posts()), capsys, "--db", str(db))
    chart = tmp_path / "nushki.png"
    assert run_cli(["plot", "nushki", "-o", str(chart), "--db", str(db),
                    "--config", str(config)]) == 0
    head = chart.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 1000 and height >= 600
    assert chart.stat().st_size > 30_000  # lines, markers and legend, not an empty frame
    # the replay's database answers like any other once configured
    config.write_text(config.read_text().replace(str(tmp_path / "claimwatch.db"), str(db)))
    one = tmp_path / "one.png"
    assert run_cli(["narrative", "show", str(events[0]["narrative_id"]), "--plot", str(one),
                    "--config", str(config)]) == 0
    assert one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert run_cli(["plot", "nowhere", "-o", str(chart), "--db", str(db),
                    "--config", str(config)]) == 1
    assert "no incident 'nowhere'" in capsys.readouterr().err


# -- the outbox's tables and the package's seams ------------------------------------------


def test_a_database_from_before_the_outbox_migration_upgrades_and_keeps_its_alerts(
    tmp_path: Path,
) -> None:
    import sqlite3

    from tracker.models import Alert, AlertEvent, ClaimKind, Status
    from tracker.store import MIGRATIONS, Store
    from tracker.store.outbox import DeliveryState

    # A file at schema 6, whose outbox tables were made by the outbox itself (as before
    # they were migration 7), with one alert waiting to be sent.
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:6]:
        db.executescript(script)
    db.executescript(MIGRATIONS[6])
    at = START + timedelta(minutes=25)
    old = Alert(
        alert_id="a-old", event=AlertEvent.RAISED, rule="outrunning", incident_id="nushki",
        incident_title="Nushki bus bombing", narrative_id=1, label="TTP is behind it",
        kind=ClaimKind.ATTRIBUTION, actors=("TTP",), status=Status.SPECULATIVE,
        severity="low", at=at, spread_rate=0.6, verified_rate=0.0, ratio=3.0, posts=6,
        authors=6, reach=600, window_minutes=10.0, first_seen=at, minutes_since_incident=25.0,
    )
    db.execute("INSERT INTO outbox_alerts (id, incident_id, narrative_id, event, at, body, "
               "created_at) VALUES ('a-old', 'nushki', 1, 'raised', 0, ?, 0)",
               (json.dumps(old.as_dict()),))
    db.execute("INSERT INTO outbox_deliveries (alert_id, channel, state, next_at, "
               "updated_at) VALUES ('a-old', 'desk', 'pending', 0, 0)")
    db.execute("PRAGMA user_version = 6")
    db.close()

    store = Store(path)
    try:
        assert store.schema_version == len(MIGRATIONS) >= 7
        [(alert, [delivery])] = store.outbox.alerts()
        assert alert == old
        assert (delivery.channel, delivery.state) == ("desk", DeliveryState.PENDING)
        assert store.outbox.counts()["pending"] == 1
    finally:
        store.close()
    fresh = Store(tmp_path / "new.db")  # a new file gets the tables from the migration
    try:
        assert fresh.outbox.counts() == {s.value: 0 for s in DeliveryState}
    finally:
        fresh.close()


def _imports(package: str) -> dict[str, set[str]]:
    """Every module under ``package`` (a folder of ROOT) and the modules its import
    statements name, wherever they stand (functions and TYPE_CHECKING blocks included)."""
    import ast

    modules: dict[str, Path] = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import"
                base = node.module or ""
                names.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                             else base for alias in node.names)
        found[name] = names
    return found


def test_alerts_imports_only_the_alert_shape_and_errors_and_the_store_no_alerts() -> None:
    ours = _imports("alerts")
    outside = {(m, t) for m, names in ours.items() for t in names
               if t.split(".")[0] in ("alerts", "tracker") and not t.startswith("alerts")
               and t not in ("tracker.models", "tracker.errors")}
    assert outside == set()
    store = {(m, t) for m, names in _imports("tracker/store").items() for t in names
             if t.split(".")[0] == "alerts"}
    assert store == set()
    # no cycle inside alerts: each module's imports, followed, never lead back to it
    graph = {m: {t for t in names if t in ours and t != m} for m, names in ours.items()}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            here = todo.pop()
            assert here != start, f"{start} imports itself through {sorted(seen)}"
            if here not in seen:
                seen.add(here)
                todo.extend(graph[here])
    assert "alerts.channels.registry" in graph  # the walk saw the channel subpackage


def test_backoff_doubles_to_its_cap_and_jitter_stays_within_its_fraction() -> None:
    import random

    from alerts.retry import RetryPolicy, backoff

    assert [backoff(n, 2.0, 30.0) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]
    assert backoff(10_000, 2.0, 30.0) == 30.0  # no overflow after a long outage
    spread = [backoff(3, 2.0, 30.0, jitter=0.25, rng=random.Random(seed)) for seed in range(50)]
    assert all(6.0 <= d <= 10.0 for d in spread) and len(set(spread)) > 40
    policy = RetryPolicy(max_attempts=3, max_age=60.0)
    assert policy.gives_up(2, age=10.0) is None
    assert policy.gives_up(3, age=10.0) == "gave up after 3 attempts"
    assert policy.gives_up(1, age=60.0) == "gave up: undelivered after 1 minutes"
