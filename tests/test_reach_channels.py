"""Teams and Discord channels against local receivers playing their webhooks: the payload
shapes they accept (an Adaptive Card; an embed within Discord's limits), retries through
the real outbox on 5xx and 429 with one idempotency key, and the webhook URL (the
credential) never shown. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alerts.channels.base import Channel
from alerts.channels.registry import build_channel, build_channels, close_channels
from alerts.outbox import Drainer
from alerts.retry import RetryPolicy
from tracker.config.settings import ChannelSettings
from tracker.errors import DeliveryError
from tracker.models import (
    Alert,
    AlertEvent,
    ClaimKind,
    Conflict,
    ConflictSide,
    Provenance,
    Status,
)
from tracker.store import Store
from tracker.store.outbox import DeliveryState

LABEL = "Sources say TTP is behind the Nushki blast"
TOKEN = "Xk9-wEbHoOk-t0ken-s3cr3t"
TEAMS_PATH = f"/workflows/abc123/triggers/manual/paths/invoke?api-version=1&sig={TOKEN}"
DISCORD_PATH = f"/api/webhooks/1234567890/{TOKEN}"

ADAPTIVE = "application/vnd.microsoft.card.adaptive"
CARD_ELEMENTS = {"TextBlock", "FactSet", "Container"}


def spec(**settings: Any) -> dict[str, Any]:
    """One [[channels]] entry as the service hands it over: validated, then dumped."""
    return ChannelSettings(**settings).model_dump()


@pytest.fixture
def alert() -> Alert:
    return Alert(
        alert_id="a-2026-11-20-0042", event=AlertEvent.RAISED, rule="speculative-attribution",
        incident_id="nushki-2026", incident_title="Nushki bus bombing", narrative_id=17,
        label=LABEL, kind=ClaimKind.ATTRIBUTION, actors=("TTP",), status=Status.SPECULATIVE,
        severity="high", at=datetime(2026, 11, 20, 10, 47, tzinfo=UTC), spread_rate=6.0,
        verified_rate=1.0, ratio=6.0, posts=42, authors=17, reach=120_000,
        window_minutes=30.0, first_seen=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
        minutes_since_incident=47.0,
        first_post=Provenance(
            post_id="1862", source="x", author="quetta_watch", tier="unverified",
            url="https://x.com/quetta_watch/status/1862",
            text="Sources say TTP is behind the Nushki blast, more soon",
            created_at=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
        ),
        samples=("Sources say TTP is behind the Nushki blast",
                 "TTP reportedly claimed the Nushki bus attack",
                 "Likely TTP again? Nushki bus hit near the FC camp"),
        reason="6.0x the verified rate with 42 posts from 17 authors in 30 min",
    )


# -- receivers ----------------------------------------------------------------------------


@dataclass
class Hook:
    """A webhook on 127.0.0.1: answers ``script`` in turn (status, headers, body), then
    ``done``; records every request."""

    base: str = ""
    done: int = 200
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def payloads(self) -> list[Any]:
        return [json.loads(body) for _, _, body in self.calls]


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    rec = Hook()

    async def handle(request: web.Request) -> web.Response:
        rec.calls.append((request.path_qs, dict(request.headers), await request.read()))
        if rec.script:
            status, headers, text = rec.script.pop(0)
            return web.Response(status=status, headers=headers, text=text)
        return web.Response(status=rec.done)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rec
    await runner.cleanup()


@pytest.fixture
async def build() -> AsyncIterator[Callable[..., Channel]]:
    """build_channel, closing every channel it made when the test ends."""
    made: list[Channel] = []

    def make(settings: dict[str, Any], environ: dict[str, str]) -> Channel:
        channel = build_channel(settings, environ)
        made.append(channel)
        return channel

    yield make
    await close_channels(made)


# -- Teams ----------------------------------------------------------------------------------


def _texts(elements: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for element in elements:
        assert element["type"] in CARD_ELEMENTS, element["type"]
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
            assert element["wrap"] is True
            found.append(element["text"])
        elif element["type"] == "Container":
            found += _texts(element["items"])
    return found


async def test_teams_gets_an_adaptive_card_with_what_an_analyst_needs(
    hook: Hook, build: Callable[..., Channel], alert: Alert
) -> None:
    hook.done = 202  # what a Workflows trigger answers
    teams = build(spec(name="desk", type="teams", url_env="TEAMS_URL"),
                  {"TEAMS_URL": hook.base + TEAMS_PATH})
    assert await teams.send(alert, alert.alert_id) == "HTTP 202"

    [(path, headers, _)] = hook.calls
    assert path == TEAMS_PATH
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == alert.alert_id
    [message] = hook.payloads()
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == ADAPTIVE and attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert tuple(int(p) for p in card["version"].split(".")) >= (1, 4)

    texts = _texts(card["body"])
    assert texts[0].startswith("RAISED high: speculative attribution to TTP spreading 6.0x")
    assert LABEL in texts
    assert any("quetta_watch (unverified, x)" in t for t in texts)
    [facts] = [e["facts"] for e in card["body"] if e["type"] == "FactSet"]
    assert all(set(f) == {"title", "value"} and f["value"] for f in facts)
    shown = {f["title"]: f["value"] for f in facts}
    assert shown["Kind"] == "attribution"
    assert shown["Status"].startswith("speculative")
    assert shown["Severity"] == "high"
    assert shown["Spread"].startswith("6.00 posts/min vs verified 1.00 posts/min (6.0x)")
    assert shown["Reason"] == alert.reason
    assert shown["Alert id"] == alert.alert_id
    [action] = card["actions"]
    assert action == {"type": "Action.OpenUrl", "title": "Open the first post",
                      "url": "https://x.com/quetta_watch/status/1862"}


async def test_teams_card_keeps_user_text_from_forming_links(
    hook: Hook, build: Callable[..., Channel], alert: Alert
) -> None:
    hostile = replace(
        alert, label="TTP did it [see proof](https://evil.example/x)",
        first_post=replace(alert.first_post, url="javascript:alert(1)")
        if alert.first_post else None,
    )
    teams = build(spec(name="desk", type="teams", url=hook.base + TEAMS_PATH), {})
    await teams.send(hostile, hostile.alert_id)
    [message] = hook.payloads()
    card = message["attachments"][0]["content"]
    assert "](https://evil" not in json.dumps(card)
    assert "actions" not in card  # no button to a javascript: URL


# -- Discord --------------------------------------------------------------------------------


def _embed_size(embed: dict[str, Any]) -> int:
    return (len(embed.get("title", "")) + len(embed.get("description", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", ()))
            + len(embed.get("footer", {}).get("text", "")))


def shown(markdown: str) -> str:
    """What Discord shows of escaped text: each backslash escape as its character."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _within_discord_limits(message: dict[str, Any]) -> dict[str, Any]:
    assert message["username"] == "claimwatch"
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = message["embeds"]
    assert isinstance(embed, dict)
    assert 0 < len(embed["title"]) <= 256
    assert 0 < len(embed["description"]) <= 4096
    assert 0 < len(embed["fields"]) <= 25
    for f in embed["fields"]:
        assert 0 < len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024
        assert isinstance(f["inline"], bool)
    assert len(embed["footer"]["text"]) <= 2048
    assert _embed_size(embed) <= 6000
    assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
    datetime.fromisoformat(embed["timestamp"])
    return embed


async def test_discord_gets_an_embed_coloured_by_severity(
    hook: Hook, build: Callable[..., Channel], alert: Alert
) -> None:
    hook.done = 204  # what Discord answers without ?wait=true
    discord = build(spec(name="ops", type="discord", url_env="DISCORD_URL"),
                    {"DISCORD_URL": hook.base + DISCORD_PATH})
    assert await discord.send(alert, alert.alert_id) == "HTTP 204"
    [(path, headers, _)] = hook.calls
    assert path == DISCORD_PATH and headers["Idempotency-Key"] == alert.alert_id

    embed = _within_discord_limits(hook.payloads()[0])
    assert embed["title"].startswith("RAISED high: speculative attribution to TTP")
    assert LABEL in embed["description"]
    assert "[open](https://x.com/quetta_watch/status/1862)" in embed["description"]
    assert datetime.fromisoformat(embed["timestamp"]) == alert.at
    fields = {f["name"]: shown(f["value"]) for f in embed["fields"]}
    assert fields["Kind"] == "attribution" and fields["Severity"] == "high"
    assert fields["Spread"].startswith("6.00 posts/min vs verified 1.00 posts/min (6.0x)")
    assert alert.alert_id in embed["footer"]["text"]

    resolved = replace(alert, event=AlertEvent.RESOLVED, alert_id="a-2026-11-20-0051")
    critical = replace(alert, severity="critical", alert_id="a-2026-11-20-0043")
    await discord.send(resolved, resolved.alert_id)
    await discord.send(critical, critical.alert_id)
    colours = [p["embeds"][0]["color"] for p in hook.payloads()]
    assert len(set(colours)) == 3, "high, resolved and critical look different"


async def test_discord_embed_stays_within_limits_and_escapes_markdown(
    hook: Hook, build: Callable[..., Channel], alert: Alert
) -> None:
    now = alert.at
    sides = tuple(
        ConflictSide(value=f"answer {n} " + "x" * 300, sources=tuple(f"src{m}" for m in range(9)),
                     posts=5, trusted_posts=2, first_post=now, latest_post=now, spread_rate=1.0,
                     narratives=(17,))
        for n in range(30)
    )
    huge = replace(
        alert, incident_title="Nushki " * 80, label="**TTP** did it @everyone " * 400,
        reason="r" * 5000, samples=tuple("s" * 3000 for _ in range(3)),
        conflict=Conflict(question="attackers", asks="who attacked " * 30, sides=sides),
    )
    discord = build(spec(name="ops", type="discord", url=hook.base + DISCORD_PATH), {})
    assert await discord.send(huge, huge.alert_id) == "HTTP 200"
    embed = _within_discord_limits(hook.payloads()[0])
    assert "\\*\\*TTP\\*\\*" in embed["description"]  # shows as written, not bold
    assert "**TTP**" not in embed["description"].replace("\\*", "")


# -- retries, idempotency, secrecy -----------------------------------------------------------


@pytest.mark.parametrize(("kind", "path"), [("teams", TEAMS_PATH), ("discord", DISCORD_PATH)])
async def test_retries_on_5xx_and_429_keep_one_key_wait_out_retry_after_and_hide_the_url(
    hook: Hook, alert: Alert, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str,
    path: str,
) -> None:
    rate_limited = json.dumps({"message": "You are being rate limited.", "retry_after": 7.5,
                               "global": False})
    hook.script = [(503, {}, "busy"), (429, {"Retry-After": "7.5"}, rate_limited)]
    url = hook.base + path
    channels = build_channels([spec(name="desk", type=kind, url_env="HOOK_URL")],
                              environ={"HOOK_URL": url})
    store = Store(tmp_path / "outbox.db")
    policy = RetryPolicy(backoff=0.05, max_backoff=30.0, jitter=0.0)
    try:
        store.outbox.enqueue(alert, ["desk"])
        with caplog.at_level(logging.DEBUG):
            report = await Drainer(store.outbox, channels, policy).drain_until_settled(2.0)
            assert (report.sent, report.retrying) == (0, 2)
            [(_, [waiting])] = store.outbox.alerts()
            assert waiting.state is DeliveryState.PENDING and waiting.attempts == 2
            assert waiting.next_at - waiting.updated_at >= 7.5  # the receiver's Retry-After
            assert "HTTP 429" in (waiting.last_error or "")
            # a restarted process sends what is pending at once
            report = await Drainer(store.outbox, channels, policy).drain()
            assert report.sent == 1
        [(_, [delivered])] = store.outbox.alerts()
        assert delivered.state is DeliveryState.SENT
    finally:
        await close_channels(channels)
        store.close()

    assert [p for p, _, _ in hook.calls] == [path] * 3
    keys = {h["Idempotency-Key"] for _, h, _ in hook.calls}
    assert keys == {alert.alert_id}
    assert len({body for _, _, body in hook.calls}) == 1, "the same payload each time"
    # every log line but the receiver's own access log (it is the far end)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "HTTP 503" in logged and "HTTP 429" in logged
    errors = logged + (waiting.last_error or "") + repr(channels["desk"])
    assert TOKEN not in errors and path.split("?")[0] not in errors


@pytest.mark.parametrize("kind", ["teams", "discord"])
async def test_a_refused_or_missing_url_fails_for_good_without_showing_it(
    hook: Hook, build: Callable[..., Channel], alert: Alert, kind: str
) -> None:
    hook.done = 404
    channel = build(spec(name="desk", type=kind, url_env="HOOK_URL"),
                    {"HOOK_URL": f"{hook.base}/api/webhooks/1/{TOKEN}"})
    with pytest.raises(DeliveryError) as refused:
        await channel.send(alert, alert.alert_id)
    assert refused.value.permanent
    assert str(refused.value).startswith(f"{kind} desk: HTTP 404 from {hook.base}")
    assert TOKEN not in str(refused.value)

    unset = build(spec(name="desk", type=kind, url_env="HOOK_URL"), {})
    with pytest.raises(DeliveryError, match="HOOK_URL") as missing:
        await unset.send(alert, alert.alert_id)
    assert missing.value.permanent
