"""Replay: a post file through the whole pipeline in event-time order, rules included.

The posts are sorted by ``created_at`` and fed in batches of at most ``batch_minutes`` of
event time (and ``[ingest] batch_posts`` posts), as a live run would have received them;
narratives are consolidated every ``[service] consolidate_seconds`` of event time, and after
the last post the clock runs on until open alerts have had time to resolve. The same file
therefore gives the same alert events every time.

A replay works in its own database (a temporary one unless ``db`` is given), with the
incidents of the settings and of the configured database, so it never touches what the
daemon has stored. Alerts are recorded with their deliveries held, unless ``deliver``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.config import Settings
from tracker.embed import Embedder
from tracker.errors import InputError, PostError
from tracker.incidents import incident_from_settings
from tracker.models import Alert, AlertEvent, Incident, Post
from tracker.pipeline import Rejected, reject
from tracker.runtime import Runtime
from tracker.store import Store

__all__ = [
    "LabelScore",
    "ReplayReport",
    "ReplayScore",
    "ThreadLabel",
    "event_batches",
    "replay",
    "score_replay",
    "thread_labels",
]


@dataclass(slots=True)
class ReplayReport:
    """What a replay did: posts read, stored and rejected, the alert events in event-time
    order, and deliveries sent, pending and dead when it delivered."""

    read: int = 0
    stored: int = 0
    rejects: list[Rejected] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    first_post: datetime | None = None
    last_post: datetime | None = None
    delivered: dict[str, int] = field(default_factory=dict)
    database: str | None = None

    # alert id -> (source, id) of the posts its narrative held when it was raised or
    # escalated (kept when asked, for scoring against labels)
    members: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def event_batches(
    posts: Sequence[Post], minutes: float, max_posts: int
) -> Iterable[list[Post]]:
    """Posts (sorted by time) in batches spanning at most ``minutes`` of event time and
    ``max_posts`` posts."""
    span = timedelta(minutes=minutes)
    batch: list[Post] = []
    for post in posts:
        if batch and (post.created_at - batch[0].created_at > span or len(batch) >= max_posts):
            yield batch
            batch = []
        batch.append(post)
    if batch:
        yield batch


def _incidents(settings: Settings, only: str | None) -> list[Incident]:
    """The incidents to replay under: those of the configured database (when it exists)
    with those of the settings; just ``only`` when given."""
    found: dict[str, Incident] = {}
    if settings.db_path.is_file():
        store = Store(settings.db_path)
        try:
            found.update({i.id: i for i in store.incidents()})
        finally:
            store.close()
    for item in settings.incidents:
        incident = incident_from_settings(item)
        found[incident.id] = incident
    if only is not None:
        if only not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InputError(
                f"no incident {only!r} in the settings or the database (known: {known})"
            )
        return [found[only]]
    if not found:
        raise InputError(
            "a replay needs an incident: add [[incidents]] to the settings or use "
            "`claimwatch incident add` first"
        )
    return list(found.values())


async def replay(
    settings: Settings,
    records: AsyncIterator[tuple[int, Post | PostError]],
    *,
    incident: str | None = None,
    deliver: bool = False,
    db: Path | None = None,
    batch_minutes: float = 1.0,
    embedder: Embedder | None = None,
    on_reject: Callable[[Rejected], None] | None = None,
    on_alert: Callable[[Alert], None] | None = None,
    deliver_timeout: float = 60.0,
    channels: dict[str, Any] | None = None,
    keep_members: bool = False,
) -> ReplayReport:
    """Replay numbered post records; see the module docstring. ``channels`` replaces the
    configured channels (tests); they are used only with ``deliver``."""
    report = ReplayReport()
    if db is not None and db.exists() and db.stat().st_size > 0:
        raise InputError(
            f"{db} exists: a replay needs a fresh database (its posts would all be "
            "duplicates); remove it or give another --db"
        )
    incidents = _incidents(settings, incident)
    report.incidents = [i.id for i in incidents]
    posts: list[Post] = []
    async for line, item in records:
        report.read += 1
        if isinstance(item, PostError):
            reject(line, item, report.rejects, on_reject)
            continue
        posts.append(item)
    posts.sort(key=lambda p: (p.created_at, p.source, p.id))
    if posts:
        report.first_post, report.last_post = posts[0].created_at, posts[-1].created_at

    with tempfile.TemporaryDirectory(prefix="claimwatch-replay-") as scratch:
        folder = Path(scratch)
        path = db if db is not None else folder / "replay.db"
        index_dir = (db.parent / f"{db.stem}-indexes") if db is not None else folder / "idx"
        local = settings.model_copy(
            update={
                "storage": settings.storage.model_copy(update={"path": str(path)}),
                "index": settings.index.model_copy(update={"dir": str(index_dir)}),
                "incidents": (),
            }
        )
        report.database = str(path) if db is not None else None
        with Runtime(local, embedder, hold_alerts=not deliver) as runtime:
            for known in incidents:
                runtime.store.save_incident(known)
            pipeline = runtime.pipeline()
            await pipeline.embed_ahead(posts)
            every = timedelta(seconds=settings.service.consolidate_seconds)
            next_merge: datetime | None = None
            for batch in event_batches(posts, batch_minutes, settings.ingest.batch_posts):
                result = await pipeline.add_posts(batch)
                report.stored += sum(o.value == "stored" for o in result.outcomes)
                for alert in result.alerts:
                    report.alerts.append(alert)
                    if keep_members and alert.event is not AlertEvent.RESOLVED:
                        report.members[alert.alert_id] = await pipeline.run_db(
                            runtime.store.narrative_members, alert.narrative_id, alert.at
                        )
                    if on_alert is not None:
                        on_alert(alert)
                clock = batch[-1].created_at
                if next_merge is None:
                    next_merge = clock + every
                elif clock >= next_merge:
                    await pipeline.consolidate()
                    next_merge = clock + every
            if posts:
                await pipeline.consolidate()
                settle = max(
                    (timedelta(minutes=r.window_minutes + r.resolve_after_minutes + 1)
                     for r in settings.rules),
                    default=timedelta(0),
                )
                monitor = runtime.monitor()
                late = await pipeline.run_db(monitor.evaluate, [], posts[-1].created_at + settle)
                for alert in late:
                    report.alerts.append(alert)
                    if on_alert is not None:
                        on_alert(alert)
            if deliver:
                report.delivered = await _deliver(runtime, settings, channels, deliver_timeout)
    return report


async def _deliver(
    runtime: Runtime, settings: Settings, channels: dict[str, Any] | None, timeout: float
) -> dict[str, int]:
    from alerts.channels import build_channels, close_channels
    from alerts.outbox import Drainer

    own = channels is None
    senders = channels if channels is not None else build_channels(
        [c.model_dump() for c in settings.channels]
    )
    try:
        drainer = Drainer(runtime.store.outbox, senders, runtime.retry_policy())
        await drainer.drain_until_settled(timeout)
    finally:
        if own:
            await close_channels(senders)
    return runtime.store.outbox.counts()


# -- scoring a replay against labelled threads (PHEME) ------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadLabel:
    """A labelled conversation: its posts' ids, when it began (UTC), and its label
    (``false``, ``unverified`` or ``true`` for rumours, ``non-rumour`` otherwise)."""

    thread_id: str
    label: str
    started_at: datetime
    posts: frozenset[str]


def thread_labels(records: Iterable[dict[str, Any]]) -> list[ThreadLabel]:
    """Threads of a PHEME-format file: records with ``thread_id``, ``rumour_label``
    (``rumour`` or ``non-rumour``) and ``veracity`` for rumours. A record without them is
    not counted."""
    from tracker.records import parse_time

    posts: dict[str, set[str]] = {}
    label: dict[str, str] = {}
    start: dict[str, datetime] = {}
    for r in records:
        thread, kind = r.get("thread_id"), r.get("rumour_label")
        if thread is None or kind not in ("rumour", "non-rumour"):
            continue
        thread = str(thread)
        verdict = "non-rumour" if kind == "non-rumour" else str(r.get("veracity") or "unverified")
        label.setdefault(thread, verdict)
        posts.setdefault(thread, set()).add(str(r["id"]))
        when = parse_time(r["created_at"])
        start[thread] = min(start.get(thread, when), when)
    return [
        ThreadLabel(t, label[t], start[t], frozenset(posts[t])) for t in sorted(label)
    ]


@dataclass(frozen=True, slots=True)
class LabelScore:
    """For one label: threads, how many an alert covered, and minutes from each covered
    thread's first post to its first alert (median)."""

    label: str
    threads: int
    alerted: int
    median_minutes: float | None

    @property
    def share(self) -> float:
        return self.alerted / self.threads if self.threads else 0.0


@dataclass(frozen=True, slots=True)
class ReplayScore:
    """Alerts against labelled threads. A thread is alerted when a raised or escalated
    alert's narrative held one of its posts at that moment. ``precision`` and ``recall``
    are for false and unverified rumours (what an analyst wants flagged); ``non_rumour_share``
    is the share of non-rumour threads alerted; ``median_lead`` the median minutes from a
    false or unverified thread's first post to its first alert."""

    by_label: tuple[LabelScore, ...]
    precision: float
    recall: float
    non_rumour_share: float
    median_lead: float | None
    alerts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": {
                s.label: {"threads": s.threads, "alerted": s.alerted,
                          "share": round(s.share, 4), "median_minutes": s.median_minutes}
                for s in self.by_label
            },
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "non_rumour_share": round(self.non_rumour_share, 4),
            "median_lead_minutes": self.median_lead,
            "alerts": self.alerts,
        }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    middle = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return round(middle, 1)


def score_replay(report: ReplayReport, threads: Sequence[ThreadLabel]) -> ReplayScore:
    """Score a replay run with ``keep_members`` against labelled threads."""
    first_alert: dict[str, datetime] = {}
    for alert in report.alerts:
        held = {pid for _, pid in report.members.get(alert.alert_id, ())}
        for thread in threads:
            if held & thread.posts and thread.thread_id not in first_alert:
                first_alert[thread.thread_id] = alert.at
    by_label: list[LabelScore] = []
    for name in ("false", "unverified", "true", "non-rumour"):
        mine = [t for t in threads if t.label == name]
        minutes = [
            (first_alert[t.thread_id] - t.started_at).total_seconds() / 60
            for t in mine if t.thread_id in first_alert
        ]
        by_label.append(LabelScore(name, len(mine), len(minutes), _median(minutes)))
    wanted = [t for t in threads if t.label in ("false", "unverified")]
    hit = [t for t in wanted if t.thread_id in first_alert]
    alerted = [t for t in threads if t.thread_id in first_alert]
    others = [t for t in threads if t.label == "non-rumour"]
    return ReplayScore(
        by_label=tuple(by_label),
        precision=len(hit) / len(alerted) if alerted else 0.0,
        recall=len(hit) / len(wanted) if wanted else 0.0,
        non_rumour_share=(
            sum(t.thread_id in first_alert for t in others) / len(others) if others else 0.0
        ),
        median_lead=_median(
            [(first_alert[t.thread_id] - t.started_at).total_seconds() / 60 for t in hit]
        ),
        alerts=len(report.alerts),
    )
