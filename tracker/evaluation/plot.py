"""Charts an analyst can read without the CLI: spread rates against the verified rate.

:func:`incident_chart` draws, over event time, the spread rate (posts per minute in the
rules' sliding window) of an incident's top narratives against its verified rate, with
findings as vertical lines and alert events as markers; :func:`narrative_chart` does the
same for one narrative. Rendered headless (matplotlib's Agg backend) to a PNG file.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from tracker.errors import InputError
from tracker.models import Alert, AlertEvent, Finding, Incident, Narrative
from tracker.store import Store

__all__ = [
    "Series",
    "chart_incident",
    "chart_narrative",
    "incident_chart",
    "narrative_chart",
    "rate_series",
]

# matplotlib's tab10, so narrative lines and their alert markers share a colour
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")

_MARKERS = {
    AlertEvent.RAISED: ("^", "raised"),
    AlertEvent.ESCALATED: ("D", "escalated"),
    AlertEvent.RESOLVED: ("X", "resolved"),
}


@dataclass(frozen=True, slots=True)
class Series:
    """A rate over time: ``times`` (UTC) and ``rates`` in posts per minute."""

    label: str
    times: list[datetime]
    rates: list[float]


def rate_series(
    posts: Sequence[datetime], start: datetime, end: datetime, window_minutes: float,
    points: int = 600,
) -> tuple[list[datetime], list[float]]:
    """Posts per minute in the window ``(t - window, t]`` at ``points`` evenly spaced times
    from ``start`` to ``end`` (event time)."""
    ordered = sorted(posts)
    span = max((end - start).total_seconds(), 60.0)
    step = timedelta(seconds=span / max(points - 1, 1))
    window = timedelta(minutes=window_minutes)
    times: list[datetime] = []
    rates: list[float] = []
    t = start
    while t <= end + step / 2:
        count = bisect_right(ordered, t) - bisect_right(ordered, t - window)
        times.append(t)
        rates.append(count / window_minutes)
        t += step
    return times, rates


def _num(value: datetime) -> float:
    """A time as matplotlib's date number (days since 1970-01-01 UTC)."""
    return value.timestamp() / 86400.0


def _nums(values: Sequence[datetime]) -> list[float]:
    return [_num(v) for v in values]


def _short(text: str, width: int = 70) -> str:
    return textwrap.shorten(text, width=width, placeholder="…")


def _draw(
    path: Path, title: str, subtitle: str, series: Sequence[Series], verified: Series,
    findings: Sequence[Finding], alerts: Sequence[Alert], window_minutes: float,
    colours: dict[int, str] | None = None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 6.5), dpi=110)
    try:
        for i, s in enumerate(series):
            ax.plot(_nums(s.times), s.rates, color=_PALETTE[i % 10], linewidth=1.6,
                    label=s.label)
        ax.fill_between(_nums(verified.times), verified.rates, color="0.55", alpha=0.35,
                        label=verified.label)
        ax.plot(_nums(verified.times), verified.rates, color="0.35", linewidth=1.0)
        top = max([max(s.rates, default=0.0) for s in [*series, verified]] + [0.1])
        for f in findings:
            ax.axvline(_num(f.at), color="tab:green", linestyle="--", linewidth=1.2)
            ax.annotate(
                _short(f"finding: {f.text}", 60), (_num(f.at), top * 1.02),
                rotation=90, fontsize=7, color="darkgreen", va="top", ha="right",
            )
        seen: set[AlertEvent] = set()
        for a in alerts:
            marker, word = _MARKERS.get(a.event, ("o", a.event.value))
            ax.scatter(
                [_num(a.at)], [a.spread_rate], marker=marker, s=80, zorder=5,
                color=(colours or {}).get(a.narrative_id, "black"), edgecolors="black",
                label=f"alert {word}" if a.event not in seen else None,
            )
            seen.add(a.event)
            ax.annotate(f"#{a.narrative_id}", (_num(a.at), a.spread_rate),
                        textcoords="offset points", xytext=(6, 6), fontsize=7)
        ax.set_ylim(0, top * 1.1)
        ax.set_ylabel(f"posts per minute (sliding {window_minutes:g}-minute window)")
        ax.set_xlabel("event time (UTC)")
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(
            mdates.DateFormatter("%d %b %H:%M")  # type: ignore[no-untyped-call]
        )
        fig.autofmt_xdate()
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{title}\n{subtitle}", fontsize=11, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def incident_chart(
    path: Path, incident: Incident, narratives: Sequence[tuple[Narrative, list[datetime]]],
    verified_posts: Sequence[datetime], findings: Sequence[Finding], alerts: Sequence[Alert],
    *, window_minutes: float, start: datetime, end: datetime,
) -> Path:
    """An incident's top narratives (each with its post times) against its verified rate,
    from ``start`` to ``end``; findings and alerts marked. Returns ``path``."""
    series = []
    colours: dict[int, str] = {}
    for i, (n, times) in enumerate(narratives):
        xs, ys = rate_series(times, start, end, window_minutes)
        label = f"#{n.id} {n.status.value} {n.kind.value}: {_short(n.label, 55)}"
        series.append(Series(label, xs, ys))
        colours[n.id] = _PALETTE[i % 10]
    xs, ys = rate_series(verified_posts, start, end, window_minutes)
    verified = Series("verified rate (official and verified posts)", xs, ys)
    shown = [a for a in alerts if start <= a.at <= end]
    subtitle = (
        f"spread of the {len(series)} most active narratives against verified reporting; "
        f"{len(shown)} alert events, {len(findings)} findings"
    )
    return _draw(path, f"{incident.title} ({incident.id})", subtitle, series, verified,
                 [f for f in findings if start <= f.at <= end], shown, window_minutes, colours)


def narrative_chart(
    path: Path, incident: Incident, narrative: Narrative, times: Sequence[datetime],
    verified_posts: Sequence[datetime], findings: Sequence[Finding], alerts: Sequence[Alert],
    *, window_minutes: float,
) -> Path:
    """One narrative against its incident's verified rate over its lifetime."""
    start = min(times, default=narrative.first_seen) - timedelta(minutes=window_minutes)
    end = max(times, default=narrative.first_seen) + timedelta(minutes=window_minutes)
    xs, ys = rate_series(times, start, end, window_minutes)
    vx, vy = rate_series(verified_posts, start, end, window_minutes)
    series = [Series(f"#{narrative.id}: {_short(narrative.label, 60)}", xs, ys)]
    mine = [a for a in alerts if a.narrative_id == narrative.id]
    subtitle = (
        f"{narrative.kind.value}, {narrative.status.value}"
        + (f", actors {', '.join(narrative.actors)}" if narrative.actors else "")
        + f"; {narrative.size} posts by {narrative.authors} authors"
    )
    return _draw(path, f"{incident.title}: narrative #{narrative.id}", subtitle, series,
                 Series("verified rate", vx, vy), [f for f in findings if start <= f.at <= end],
                 mine, window_minutes, {narrative.id: "tab:blue"})


def chart_incident(
    store: Store, incident_id: str, path: Path, *, top: int = 6, window_minutes: float = 15.0,
    hours: float | None = None,
) -> Path:
    """Draw an incident from the database: the ``top`` narratives with the most posts in
    the plotted range, from the incident's start to its latest post (or ``hours`` after
    the start). Alerts on narratives since merged are drawn on the one they merged into."""
    incident = store.incident(incident_id)
    if incident is None:
        raise InputError(f"no incident {incident_id!r}: see `claimwatch incident list`")
    latest = store.latest_post_time(incident_id)
    if latest is None:
        raise InputError(f"incident {incident_id!r} has no posts yet: nothing to plot")
    start = min(incident.started_at, latest)
    end = latest if hours is None else min(latest, start + timedelta(hours=hours))
    timed = [(n, store.narrative_post_times(n.id)) for n in store.narrative_summaries(incident_id)]
    # the most active inside the plotted range first
    timed.sort(key=lambda nt: (-sum(start <= t <= end for t in nt[1]), nt[0].id))
    chosen = timed[:top]
    alerts = [
        replace(a, narrative_id=store.resolve_narrative(a.narrative_id) or a.narrative_id)
        for a, _ in store.outbox.alerts(incident_id, limit=100_000)
    ]
    return incident_chart(
        path, incident, chosen, store.verified_times(incident_id),
        [f for f, _ in store.findings(incident_id)], alerts,
        window_minutes=window_minutes, start=start, end=end,
    )


def chart_narrative(
    store: Store, narrative_id: int, path: Path, *, window_minutes: float = 15.0
) -> Path:
    """Draw one narrative from the database against its incident's verified rate."""
    found = store.narrative_summaries(ids=[narrative_id])
    if not found:
        raise InputError(f"no narrative #{narrative_id}: see `claimwatch narratives`")
    narrative = found[0]
    incident = store.incident(narrative.incident_id)
    assert incident is not None
    alerts = [a for a, _ in store.outbox.alerts(incident.id, limit=100_000)]
    return narrative_chart(
        path, incident, narrative, store.narrative_post_times(narrative_id),
        store.verified_times(incident.id), [f for f, _ in store.findings(incident.id)],
        alerts, window_minutes=window_minutes,
    )
