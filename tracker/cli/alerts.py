"""The alert verbs of the command line: ``replay`` and ``alerts`` (list, ``test``,
``deliver``). Thin like the rest of the CLI: parse, call the library, print. Registered
on the main app by :mod:`tracker.cli.app`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    err,
    open_post_file,
    out,
    paged,
    print_reject,
    settings_of,
)
from tracker.config.settings import Settings
from tracker.errors import ConfigError, DeliveryError
from tracker.evaluation.replay import replay as run_replay
from tracker.models import Alert, AlertEvent, ClaimKind, Provenance, Status
from tracker.runtime import Runtime
from tracker.views import alert_json, iso

__all__ = ["alerts_app", "replay"]

IncidentOpt = Annotated[str | None, typer.Option(help="Only this incident.")]

alerts_app = typer.Typer(
    help="Alerts raised on narratives, and their delivery to each channel.",
    invoke_without_command=True,
)


def _line(value: object) -> None:
    out.print(json.dumps(value, ensure_ascii=False), markup=False)


def _event_row(alert: Alert, first: datetime | None) -> list[str]:
    since = f"+{(alert.at - first).total_seconds() / 60:.0f}m" if first else ""
    return [
        f"{alert.at:%Y-%m-%d %H:%M}Z", since, alert.event.value, alert.severity,
        f"#{alert.narrative_id}", escape(alert.label), f"{alert.spread_rate:.2f}/min",
        f"{alert.ratio:.1f}x", f"{alert.posts}/{alert.authors}",
    ]


def replay(
    file: Annotated[str, typer.Argument(help="A JSONL or CSV file of posts; - for stdin.")],
    incident: Annotated[
        str | None, typer.Option(help="Replay under this incident only (settings or database).")
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    deliver: Annotated[
        bool, typer.Option("--deliver", help="Send the alerts through the configured channels.")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Keep the replay's database here (default: a temporary one)."),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the file name).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source name for posts with none.")] = None,
    batch_minutes: Annotated[
        float, typer.Option(min=0.01, help="Event time fed per batch, as a live run would.")
    ] = 1.0,
    deliver_timeout: Annotated[
        float, typer.Option(min=0, help="With --deliver: seconds to keep retrying at the end.")
    ] = 60.0,
) -> None:
    """Run a post file through the whole pipeline in event-time order and show the alert
    events the rules raise; nothing is delivered without --deliver."""
    settings = settings_of(config)
    post_file = open_post_file(file, fmt)
    on_reject = print_reject(json_out)

    def on_alert(alert: Alert) -> None:
        if json_out:
            _line(alert.as_dict())

    try:
        report = asyncio.run(
            run_replay(
                settings,
                post_file.aposts(
                    default_source=source or settings.ingest.default_source,
                    max_text_chars=settings.ingest.max_text_chars,
                ),
                incident=incident, deliver=deliver, db=db, batch_minutes=batch_minutes,
                on_reject=on_reject, on_alert=on_alert, deliver_timeout=deliver_timeout,
            )
        )
    finally:
        post_file.close()
    if json_out:
        return
    first = report.first_post
    out.print(
        f"replayed {report.stored} posts ({report.rejected} rejected) under "
        f"{', '.join(report.incidents)}, {iso(first)} to {iso(report.last_post)}: "
        f"{len(report.alerts)} alert events",
        markup=False,
    )
    if report.alerts:
        table = Table()
        for name in ("at", "since", "event", "severity", "narrative", "label", "rate",
                     "ratio", "posts/authors"):
            table.add_column(name, overflow="fold", ratio=4 if name == "label" else None)
        for alert in report.alerts:
            table.add_row(*_event_row(alert, first))
        out.print(table)
    if deliver:
        counts = ", ".join(f"{k} {v}" for k, v in report.delivered.items() if v)
        out.print(f"deliveries: {counts or 'none'}", markup=False)
    if report.database:
        out.print(f"replay database kept at {report.database}", markup=False)


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    incident: IncidentOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """List alerts, newest first, with their delivery state per channel."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(config)
    from tracker.cli.client import daemon_get

    rows: Any = daemon_get(settings, "/v1/alerts", {"incident": incident, "limit": limit})
    if rows is None:
        with Runtime(settings) as runtime:
            if incident is not None:
                runtime.incident(incident)
            rows = [
                alert_json(a, d)
                for a, d in runtime.store.outbox.alerts(incident, limit=limit)
            ]
    if json_out:
        _line(rows)
        return
    if not rows:
        out.print("no alerts yet")
        return
    table = Table()
    for name in ("at", "event", "severity", "incident", "narrative", "label", "ratio",
                 "deliveries"):
        table.add_column(name, overflow="fold", ratio=4 if name == "label" else None)
    for row in rows:
        deliveries = ", ".join(
            f"{d['channel']}: {d['state']}"
            + (f" ({d['attempts']} tries: {d['last_error']})" if d["last_error"] else "")
            for d in row["deliveries"]
        )
        table.add_row(
            row["at"].replace("T", " "), row["event"], row["severity"], row["incident_id"],
            f"#{row['narrative_id']}", escape(row["label"]), f"{row['ratio']:.1f}x",
            escape(deliveries) or "-",
        )
    paged(table)


def test_alert(now: datetime) -> Alert:
    """The alert `claimwatch alerts test` sends: plainly a test, with every field set."""
    return Alert(
        alert_id=f"test-{now:%Y%m%dT%H%M%S}", event=AlertEvent.TEST, rule="test",
        incident_id="test", incident_title="claimwatch test alert", narrative_id=0,
        label="This is a test of claimwatch alert delivery; no action is needed.",
        kind=ClaimKind.OTHER, actors=(), status=Status.SPECULATIVE, severity="test", at=now,
        spread_rate=0.0, verified_rate=0.0, ratio=0.0, posts=0, authors=0, reach=0,
        window_minutes=15.0, first_seen=now, minutes_since_incident=0.0,
        first_post=Provenance(
            post_id="0", source="claimwatch", author="claimwatch", tier=None, url=None,
            text="claimwatch alerts test", created_at=now,
        ),
        samples=("A test alert from `claimwatch alerts test`.",),
        reason="sent by `claimwatch alerts test`",
    )


async def _send_tests(settings: Settings, only: str | None) -> list[tuple[str, bool, str]]:
    from alerts.channels.registry import build_channels, close_channels

    specs = [c.model_dump() for c in settings.channels if only is None or c.name == only]
    if not specs:
        known = ", ".join(c.name for c in settings.channels) or "none"
        raise ConfigError(f"no channel {only!r} in [[channels]] (configured: {known})")
    channels = build_channels(specs)
    alert = test_alert(datetime.now(UTC).replace(microsecond=0))
    results: list[tuple[str, bool, str]] = []
    try:
        for name, channel in channels.items():
            timeout = next(s["timeout_seconds"] for s in specs if s["name"] == name)
            try:
                detail = await asyncio.wait_for(channel.send(alert, alert.alert_id), timeout + 5)
                results.append((name, True, detail))
            except DeliveryError as exc:
                results.append((name, False, str(exc)))
            except TimeoutError:
                results.append((name, False, f"no answer within {timeout + 5:g} s"))
    finally:
        await close_channels(channels)
    return results


@alerts_app.command("test")
def alerts_test(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a test alert through every configured channel; say, per channel, whether it
    arrived or why not. Exit 1 when any failed."""
    settings = settings_of(config)
    results = asyncio.run(_send_tests(settings, channel))
    if json_out:
        _line([{"channel": n, "ok": ok, "detail": d} for n, ok, d in results])
    else:
        for name, ok, detail in results:
            out.print(f"{name}: {'arrived' if ok else 'FAILED'} ({detail})", markup=False)
    if not all(ok for _, ok, _ in results):
        raise typer.Exit(1)


@alerts_app.command("deliver")
def alerts_deliver(
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to keep retrying failed deliveries.")
    ] = 0.0,
) -> None:
    """Send every pending delivery now (what `claimwatch run` does on its own)."""
    settings = settings_of(config)
    from alerts.channels.registry import build_channels, close_channels
    from alerts.outbox import Drainer

    async def go(runtime: Runtime) -> dict[str, int]:
        channels = build_channels([c.model_dump() for c in settings.channels])
        try:
            drainer = Drainer(runtime.store.outbox, channels, runtime.retry_policy())
            report = await drainer.drain_until_settled(wait)
        finally:
            await close_channels(channels)
        for error in report.errors:
            err.print(error, markup=False)
        return {"sent": report.sent, "retrying": report.retrying, "dead": report.dead}

    with Runtime(settings) as runtime:
        counts = asyncio.run(go(runtime))
        counts["pending"] = runtime.store.outbox.counts()["pending"]
    if json_out:
        _line(counts)
    else:
        out.print(", ".join(f"{k} {v}" for k, v in counts.items()), markup=False)
