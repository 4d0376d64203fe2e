"""Discord webhooks (``https://discord.com/api/webhooks/<id>/<token>``): one embed per alert.

The body (:func:`discord_message`) is ``{"username": "claimwatch", "allowed_mentions":
{"parse": []}, "embeds": [embed]}``; the embed has a title (the headline), a description
(intro, label, first post, samples), a colour by severity, the fields of
:func:`alerts.render.fields` and the alert's time as ``timestamp``. Discord's limits are
kept: title 256 characters, description 4096, at most 25 fields (name 256, value 1024),
footer 2048, 6000 in all. User text is escaped for Discord's markdown and no mention
pings anyone.

Discord answers 204 (200 with ``?wait=true``). A 429 is transient; its ``Retry-After``
reaches the outbox, which waits at least that long before the next attempt. Discord has
no idempotency key for webhooks: the alert id is sent as ``Idempotency-Key`` and shown in
the footer. The URL holds the token: messages show only its ``scheme://host:port``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from alerts import render
from alerts.channels.http import SecretWebhookChannel
from tracker.models import Alert, AlertEvent

__all__ = ["LIMITS", "DiscordChannel", "discord_embed", "discord_message"]

LIMITS = {"title": 256, "description": 4096, "fields": 25, "field_name": 256,
          "field_value": 1024, "footer": 2048, "total": 6000}

_COLOURS = {"critical": 0x991B1B, "high": 0xD92D20, "medium": 0xF79009, "low": 0x2E90FA}
_DEFAULT_COLOUR = 0xF79009
_RESOLVED_COLOUR = 0x12B76A
_TEST_COLOUR = 0x98A2B3
_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#]|^[->+])")  # brackets: no masked link
_INLINE = frozenset({"Kind", "Status", "Severity", "Support", "Reach", "First seen"})


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _md(value: str, limit: int = 0) -> str:
    """User text on one line, escaped for Discord's markdown so that it shows as written
    (no bold, no masked link, no quote or heading), then cut to ``limit`` if > 0."""
    escaped = _MARKDOWN.sub(r"\\\1", " ".join(value.split()))
    return _cut(escaped, limit) if limit else escaped


def _colour(alert: Alert) -> int:
    if alert.event is AlertEvent.RESOLVED:
        return _RESOLVED_COLOUR
    if alert.event is AlertEvent.TEST:
        return _TEST_COLOUR
    return _COLOURS.get(alert.severity.strip().lower(), _DEFAULT_COLOUR)


def _link(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (never ``javascript:`` or the like)."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _size(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts against the 6000: title, description, fields, footer."""
    fields = embed.get("fields", ())
    return (len(embed.get("title", "")) + len(embed.get("description", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in fields)
            + len(embed.get("footer", {}).get("text", "")))


def discord_embed(alert: Alert) -> dict[str, Any]:
    """The embed for ``alert``, within every one of :data:`LIMITS` (fields past the 6000
    characters in all are left off, last first)."""
    parts = [_md(render.intro(alert)), "", f"> **{_md(alert.label, 1000)}**"]
    first = alert.first_post
    if first is not None:
        who = _md(first.author or "", 100) or "unknown author"
        tier = f"{_md(first.tier, 40)}, " if first.tier else ""
        when = first.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        link = _link(first.url)
        where = f" · [open]({link.replace(')', '%29').replace(' ', '%20')})" if link else ""
        parts += ["", f"**First post** · {who} ({tier}{_md(first.source, 40)}) at {when}{where}",
                  f"> {_md(first.text, 1500)}"]
    samples = alert.samples[: render.MAX_SAMPLES]
    if samples:
        parts += ["", "**Sample claims**"]
        parts += [f"{n}\\. {_md(sample, 500)}" for n, sample in enumerate(samples, 1)]
    embed: dict[str, Any] = {
        "title": _cut(" ".join(render.headline(alert).split()), LIMITS["title"]),
        "description": _cut("\n".join(parts), LIMITS["description"]),
        "color": _colour(alert),
        "timestamp": alert.at.astimezone(UTC).isoformat(),
        "footer": {"text": _cut(f"claimwatch · rule {' '.join(alert.rule.split())} · "
                                f"alert {alert.alert_id}", LIMITS["footer"])},
    }
    fields = [
        {"name": _cut(name, LIMITS["field_name"]),
         "value": _md(value, LIMITS["field_value"]) or "-",
         "inline": name in _INLINE}
        for name, value in render.fields(alert) if name != "Narrative"
    ][: LIMITS["fields"]]
    embed["fields"] = fields
    while fields and _size(embed) > LIMITS["total"]:
        fields.pop()
    return embed


def discord_message(alert: Alert) -> dict[str, Any]:
    """The webhook body: ``username``, no mentions allowed, one :func:`discord_embed`."""
    return {"username": "claimwatch", "allowed_mentions": {"parse": []},
            "embeds": [discord_embed(alert)]}


class DiscordChannel(SecretWebhookChannel):
    """Posts each alert as an embed to a Discord webhook (a 429 is a transient
    ``DeliveryError`` carrying ``retry_after``)."""

    kind = "discord"

    def payload(self, alert: Alert) -> dict[str, Any]:
        return discord_message(alert)
