"""How an alert reads: subject line, plain text, HTML, Slack blocks and the JSON body.

Pure functions of an :class:`~tracker.models.Alert`. Every channel words an alert the same
way: :func:`fields` is the one list of what an analyst needs (narrative, incident, status,
rates, support, reach, times, rule, reason), and each format lays it out. Rates are posts
per minute over the alert's window of event time; times are shown in UTC.

Strings from posts and configuration are untrusted: :func:`html` escapes every one with
``html.escape`` and :func:`slack_blocks` escapes Slack's control characters ``& < >``.
"""

from __future__ import annotations

import html as _html
import json
import math
from datetime import UTC, datetime
from typing import Any

from tracker.models import Alert, AlertEvent, ClaimKind, Status

__all__ = [
    "MAX_SAMPLES",
    "fields",
    "headline",
    "html",
    "intro",
    "json_body",
    "slack_blocks",
    "subject",
    "text",
]

MAX_SAMPLES = 3  # sample claims shown per alert

_STATUS_WORDS = {
    Status.SPECULATIVE: "speculative: it appeared before any finding on its question",
    Status.UNCONFIRMED: "unconfirmed: no finding decides it yet",
    Status.CONFIRMED: "confirmed by a finding",
    Status.CONTRADICTED: "contradicted by a finding",
    Status.REPORT: "report: a plain event report, on no open question",
}


def _line(value: str, limit: int = 0) -> str:
    """``value`` on one line (whitespace folded), cut to ``limit`` characters if > 0."""
    folded = " ".join(value.split())
    if limit and len(folded) > limit:
        return folded[: limit - 1].rstrip() + "…"
    return folded


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(minutes: float) -> str:
    whole = max(0, round(minutes))
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if math.isfinite(value) else "∞x"


def _claim(alert: Alert) -> str:
    """What the narrative asserts, e.g. ``attribution to TTP``."""
    if alert.kind is ClaimKind.ATTRIBUTION:
        actors = _line(", ".join(alert.actors), 120)
        return f"attribution to {actors}" if actors else "attribution (no group named)"
    if alert.kind is ClaimKind.OTHER:
        return "claim"
    return f"{alert.kind.value} claim"


def headline(alert: Alert) -> str:
    """One line saying what happened, e.g. ``RAISED high: speculative attribution to TTP
    spreading 6.0x verified — Nushki bus bombing`` (under 400 characters)."""
    incident = _line(alert.incident_title, 120) or alert.incident_id
    severity = f" {_line(alert.severity, 20)}" if alert.severity else ""
    if alert.conflict is not None:
        asks = _line(alert.conflict.asks, 120)
        answers = _line(" / ".join(alert.conflict.values), 160)
        if alert.event is AlertEvent.RAISED:
            return (
                f"RAISED{severity}: trusted sources disagree on {asks} ({answers}) — {incident}"
            )
        if alert.event is AlertEvent.ESCALATED:
            return (
                f"ESCALATED{severity}: conflicting reports on {asks} keep spreading "
                f"({answers}) — {incident}"
            )
        if alert.event is AlertEvent.RESOLVED:
            return f"RESOLVED: conflicting reports on {asks} — {incident}"
    story = f"{alert.status.value} {_claim(alert)}"
    ratio = _ratio(alert.ratio)
    if alert.event is AlertEvent.RAISED:
        return f"RAISED{severity}: {story} spreading {ratio} verified — {incident}"
    if alert.event is AlertEvent.ESCALATED:
        return f"ESCALATED{severity}: {story} now spreading {ratio} verified — {incident}"
    if alert.event is AlertEvent.RESOLVED:
        if alert.status in (Status.CONFIRMED, Status.CONTRADICTED):
            return f"RESOLVED: {_claim(alert)} {alert.status.value} by a finding — {incident}"
        return f"RESOLVED: {_claim(alert)} no longer outruns verified reporting — {incident}"
    return f"TEST (delivery check): {story} spreading {ratio} verified — {incident}"


def subject(alert: Alert) -> str:
    """The e-mail subject: ``[claimwatch] `` + :func:`headline` (one line, no CR/LF)."""
    return f"[claimwatch] {headline(alert)}"


def intro(alert: Alert) -> str:
    """One or two sentences saying what the reader should make of this event."""
    reason = _line(alert.reason)
    if alert.conflict is not None and alert.event is not AlertEvent.RESOLVED:
        return (
            f"Official or trusted sources give answers to {_line(alert.conflict.asks)} that "
            "cannot all be true: do not report any of them as fact until an authority "
            "settles it."
        )
    if alert.event is AlertEvent.RAISED:
        return (
            f"A {alert.status.value} story is spreading {_ratio(alert.ratio)} faster than "
            "official and verified reporting on this incident: check it before it takes hold."
        )
    if alert.event is AlertEvent.ESCALATED:
        return (
            f"A narrative already alerted on is spreading faster still: now "
            f"{_ratio(alert.ratio)} the verified rate."
        )
    if alert.event is AlertEvent.RESOLVED:
        return f"Resolved: {reason}" if reason else "Resolved: the rule no longer holds."
    return (
        "This is a test alert (`claimwatch alerts test`) to check that this channel "
        "delivers; no action is needed."
    )


def fields(alert: Alert) -> list[tuple[str, str]]:
    """(name, value) pairs, in reading order, of everything an analyst needs; values are
    raw (unescaped) single lines. The first post and samples are laid out separately."""
    window = f"{alert.window_minutes:g}"
    rows = [
        ("Narrative", _line(alert.label)),
        ("Incident", f"{_line(alert.incident_title)} ({alert.incident_id})"),
        ("Kind", alert.kind.value),
        ("Actors", ", ".join(_line(a) for a in alert.actors) or "none named"),
        ("Status", _STATUS_WORDS[alert.status]),
        ("Severity", _line(alert.severity) or "-"),
        (
            "Spread",
            f"{alert.spread_rate:.2f} posts/min vs verified {alert.verified_rate:.2f} "
            f"posts/min ({_ratio(alert.ratio)}) over the last {window} min of event time",
        ),
        (
            "Support",
            f"{alert.posts} posts from {alert.authors} distinct authors in the window",
        ),
        ("Reach", f"{alert.reach:,} (sum of the authors' followers)"),
        ("First seen", _when(alert.first_seen)),
        (
            "Alert time",
            f"{_when(alert.at)}, {_duration(alert.minutes_since_incident)} since the "
            "incident began",
        ),
        ("Rule", _line(alert.rule)),
    ]
    if alert.conflict is not None:
        rows[6] = (
            "Spread",
            f"{alert.spread_rate:.2f} posts/min on {len(alert.conflict.sides)} disagreeing "
            f"answers over the last {window} min of event time",
        )
        for n, side in enumerate(alert.conflict.sides, 1):
            sources = ", ".join(_line(a, 60) for a in side.sources[:5])
            more = f" and {len(side.sources) - 5} more" if len(side.sources) > 5 else ""
            rows.append((
                f"Side {n}",
                f"{_line(side.value, 80)}: {sources}{more}; {side.posts} posts "
                f"({side.trusted_posts} trusted), first {_when(side.first_post)}, latest "
                f"{_when(side.latest_post)}, {side.spread_rate:.2f}/min",
            ))
    if alert.reason:
        rows.append(("Reason", _line(alert.reason)))
    if alert.follows:
        rows.append(("Follows", f"alert {alert.follows}"))
    rows.append(("Alert id", alert.alert_id))
    rows.append(("Narrative id", str(alert.narrative_id)))
    return rows


def _origin(alert: Alert) -> str:
    """``author (tier, source) at time`` of the first post, raw; empty without one."""
    first = alert.first_post
    if first is None:
        return ""
    who = _line(first.author or "") or "unknown author"
    tier = f"{first.tier}, " if first.tier else ""
    return f"{who} ({tier}{first.source}) at {_when(first.created_at)}"


def _safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) link (never ``javascript:`` or the like), else None."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def text(alert: Alert) -> str:
    """The plain-text body (e-mail, logs): headline, intro, fields, first post, samples."""
    rows = fields(alert)
    width = max(len(name) for name, _ in rows) + 2
    lines = [headline(alert), "", intro(alert), ""]
    lines += [f"{name + ':':<{width}}{value}" for name, value in rows]
    first = alert.first_post
    if first is not None:
        lines += ["", "First post", f"  {_origin(alert)}"]
        if first.url:
            lines.append(f"  {_line(first.url)}")
        lines.append(f'  "{_line(first.text)}"')
    samples = alert.samples[:MAX_SAMPLES]
    if samples:
        lines += ["", "Sample claims"]
        lines += [f"  {i}. {_line(s)}" for i, s in enumerate(samples, 1)]
    return "\n".join(lines) + "\n"


def html(alert: Alert) -> str:
    """The HTML body (e-mail alternative): the content of :func:`text`, every string
    escaped, links only for http(s) URLs."""
    e = _html.escape
    rows = "".join(
        f'<tr><th align="left" valign="top" style="padding-right:1em">{e(name)}</th>'
        f"<td>{e(value)}</td></tr>"
        for name, value in fields(alert)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>', e(subject(alert)), "</title></head>",
        '<body style="font-family:sans-serif">',
        f"<h2>{e(headline(alert))}</h2>",
        f"<p>{e(intro(alert))}</p>",
        f"<table>{rows}</table>",
    ]
    first = alert.first_post
    if first is not None:
        link = _safe_link(first.url)
        where = f' <a href="{e(link)}">{e(link)}</a>' if link else ""
        parts += [
            "<h3>First post</h3>",
            f"<p>{e(_origin(alert))}{where}</p>",
            f"<blockquote>{e(first.text)}</blockquote>",
        ]
    samples = alert.samples[:MAX_SAMPLES]
    if samples:
        items = "".join(f"<li>{e(s)}</li>" for s in samples)
        parts += ["<h3>Sample claims</h3>", f"<ol>{items}</ol>"]
    parts.append("</body></html>")
    return "".join(parts) + "\n"


def _slack(value: str) -> str:
    """``value`` with Slack's control characters escaped (``& < >``)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": value}


def slack_blocks(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` (the notification fallback) and
    ``blocks`` (Block Kit). User text is escaped and cut to fit Slack's limits."""
    s = _slack
    values = dict(fields(alert))
    shown: tuple[str, ...] = (
        "Incident", "Status", "Spread", "Support", "Reach", "First seen", "Alert time"
    )
    if alert.conflict is not None:
        sides = tuple(name for name in values if name.startswith("Side "))[:4]
        shown = ("Incident", "Spread", "First seen", "Alert time", *sides)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(f"*{s(headline(alert))}*\n{s(intro(alert))}")},
        {"type": "section", "text": _mrkdwn(f">{s(_line(alert.label, 1000))}")},
        {
            "type": "section",
            "fields": [_mrkdwn(f"*{name}*\n{s(_line(values[name], 500))}") for name in shown],
        },
    ]
    first = alert.first_post
    if first is not None:
        link = _safe_link(first.url)
        where = f" · <{s(link).replace('|', '%7C')}|open>" if link else ""
        blocks.append({
            "type": "section",
            "text": _mrkdwn(
                f"*First post* · {s(_origin(alert))}{where}\n>{s(_line(first.text, 1000))}"
            ),
        })
    samples = alert.samples[:MAX_SAMPLES]
    if samples:
        bullets = "\n".join(f"• {s(_line(sample, 500))}" for sample in samples)
        blocks.append({"type": "section", "text": _mrkdwn(f"*Sample claims*\n{bullets}")})
    context = [f"rule {values['Rule']}", f"alert {alert.alert_id}"]
    if alert.follows:
        context.append(f"follows {alert.follows}")
    if alert.reason and alert.event is not AlertEvent.RESOLVED:  # resolved: in the intro
        context.append(values["Reason"])
    blocks.append({"type": "context", "elements": [_mrkdwn(s(_line(" · ".join(context), 1000)))]})
    return {"text": s(f"[claimwatch] {headline(alert)}"), "blocks": blocks}


def json_body(alert: Alert) -> bytes:
    """The webhook body: ``alert.as_dict()`` as compact UTF-8 JSON with sorted keys, so
    the same alert always gives the same bytes (and the same signature)."""
    return json.dumps(
        alert.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
