"""Microsoft Teams: a Workflows webhook ("Send webhook alerts to a channel", Power Automate)
or a legacy incoming webhook, receiving one Adaptive Card.

The body is a Bot Framework message with one attachment::

    {"type": "message", "summary": <headline>,
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                      "contentUrl": null,
                      "content": {"type": "AdaptiveCard", "version": "1.4", ...}}]}

The card (:func:`adaptive_card`) shows the headline and intro as TextBlocks, every field
of :func:`alerts.render.fields` (label, kind, status, severity, spread against the verified
rate, reason ...) as a FactSet, the first post with a link button, and the samples.
Workflows answer 202, incoming webhooks 200 (``1``); statuses are handled as for
webhooks (408, 429, 5xx transient; other 4xx permanent). Teams has no idempotency key
of its own: the alert id is sent as ``Idempotency-Key`` (a flow may read it) and shown on
the card. The URL (its ``sig`` query parameter is the credential) is a secret: messages
show only its ``scheme://host:port``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from alerts import render
from alerts.channels.http import SecretWebhookChannel
from tracker.models import Alert, AlertEvent

__all__ = ["ADAPTIVE_CARD", "TeamsChannel", "adaptive_card", "teams_message"]

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
_VERSION = "1.4"  # what Teams renders from webhooks and Workflows
_TEXT_LIMIT = 1000  # characters of one user string on the card

# TextBlock colours (Adaptive Card names): what the severity asks of the reader
_COLOURS = {"critical": "Attention", "high": "Attention", "medium": "Warning"}


def _plain(value: str, limit: int = _TEXT_LIMIT) -> str:
    """User text for a TextBlock or fact: one line, cut to ``limit``, and unable to form a
    masked link (``[text](url)`` would hide where it points; Teams renders such markdown)."""
    folded = " ".join(value.split())
    if len(folded) > limit:
        folded = folded[: limit - 1].rstrip() + "…"
    return folded.replace("](", "] (")


def _link(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (never ``javascript:`` or the like)."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def adaptive_card(alert: Alert) -> dict[str, Any]:
    """The Adaptive Card (version 1.4) for ``alert``: headline, intro, the label, a FactSet
    of :func:`alerts.render.fields`, the first post and up to three samples; an
    ``Action.OpenUrl`` to the first post when it has an http(s) link."""
    if alert.event is AlertEvent.RESOLVED:
        colour = "Good"
    else:
        colour = _COLOURS.get(alert.severity.strip().lower(), "Default")
    body: list[dict[str, Any]] = [
        _text(_plain(render.headline(alert)), size="Medium", weight="Bolder", color=colour,
              style="heading"),
        _text(_plain(render.intro(alert))),
        {
            "type": "Container", "style": "emphasis",
            "items": [_text(_plain(alert.label), weight="Bolder")],
        },
        {
            "type": "FactSet",
            "facts": [{"title": name, "value": _plain(value, 500)}
                      for name, value in render.fields(alert) if name != "Narrative"],
        },
    ]
    actions: list[dict[str, Any]] = []
    first = alert.first_post
    if first is not None:
        who = " ".join((first.author or "").split()) or "unknown author"
        tier = f"{first.tier}, " if first.tier else ""
        when = first.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        body += [
            _text("First post", weight="Bolder", separator=True),
            _text(_plain(f"{who} ({tier}{first.source}) at {when}"), isSubtle=True,
                  spacing="None"),
            _text(_plain(first.text)),
        ]
        link = _link(first.url)
        if link is not None:
            actions.append({"type": "Action.OpenUrl", "title": "Open the first post",
                            "url": link})
    samples = alert.samples[: render.MAX_SAMPLES]
    if samples:
        body.append(_text("Sample claims", weight="Bolder", separator=True))
        body += [_text(f"{n}. {_plain(sample, 500)}", spacing="Small")
                 for n, sample in enumerate(samples, 1)]
    card: dict[str, Any] = {
        "$schema": _SCHEMA, "type": "AdaptiveCard", "version": _VERSION,
        "msteams": {"width": "Full"}, "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def teams_message(alert: Alert) -> dict[str, Any]:
    """The webhook body: a message whose one attachment is :func:`adaptive_card`."""
    return {
        "type": "message",
        "summary": _plain(f"[claimwatch] {render.headline(alert)}", 400),
        "attachments": [
            {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": adaptive_card(alert)}
        ],
    }


class TeamsChannel(SecretWebhookChannel):
    """Posts each alert as an Adaptive Card to a Teams Workflows (or incoming) webhook."""

    kind = "teams"

    def payload(self, alert: Alert) -> dict[str, Any]:
        return teams_message(alert)
