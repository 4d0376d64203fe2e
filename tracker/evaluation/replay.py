"""Replay: a post file through the whole pipeline in event-time order, rules included.

The posts are sorted by ``created_at`` and fed in batches of at most ``batch_minutes`` of
event time (and ``[ingest] batch_posts`` posts), as a live run would have received them;
narratives are consolidated every ``[service] consolidate_seconds`` of event time, and after
the last post the clock runs on until open alerts have had time to resolve. The same file
therefore gives the same alert events every time.

A replay works in its own database (a temporary SQLite file unless ``db`` is given; with
``[storage] url``, a schema of its own in that PostgreSQL database, dropped at the end), with the
incidents of the settings and of the configured database, so it never touches what the
daemon has stored. Alerts are recorded with their deliveries held, unless ``deliver``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.config.settings import Settings
from tracker.embedding.base import Embedder
from tracker.errors import InputError, PostError
from tracker.linking.incidents import incident_from_settings
from tracker.models import Alert, AlertEvent, Incident, Post
from tracker.pipeline import Rejected, reject
from tracker.runtime import Runtime
from tracker.store import Store, scratch_schema

__all__ = [
    "ReplayReport",
    "configured_incidents",
    "event_batches",
    "replay",
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
    # escalated (a conflict alert: the posts of its sides in the window), kept when asked,
    # for scoring against labels
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


def configured_incidents(settings: Settings) -> list[Incident]:
    """The incidents of the configured database (when it exists) with those of the
    settings, which win on the same id."""
    found: dict[str, Incident] = {}
    target = settings.database
    if not isinstance(target, Path) or target.is_file():
        store = Store(target)
        try:
            found.update({i.id: i for i in store.incidents()})
        finally:
            store.close()
    for item in settings.incidents:
        incident = incident_from_settings(item)
        found[incident.id] = incident
    return list(found.values())


@contextmanager
def _replay_schema(settings: Settings, db: Path | None) -> Iterator[str]:
    """On PostgreSQL (no ``db`` file given): a fresh schema of the configured database for
    this replay's tables, dropped at the end; its name. "" on SQLite (a temporary file)."""
    target = settings.database
    if db is not None or isinstance(target, Path):
        yield ""
        return
    with scratch_schema(target, "claimwatch_replay") as name:
        yield name


def _incidents(settings: Settings, only: str | None) -> list[Incident]:
    """The incidents to replay under (:func:`configured_incidents`); just ``only`` when
    given."""
    found = {i.id: i for i in configured_incidents(settings)}
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

    with (
        tempfile.TemporaryDirectory(prefix="claimwatch-replay-") as scratch,
        _replay_schema(settings, db) as schema,
    ):
        folder = Path(scratch)
        path = db if db is not None else folder / "replay.db"
        index_dir = (db.parent / f"{db.stem}-indexes") if db is not None else folder / "idx"
        storage = {"path": str(path), "url": settings.storage.url if schema else "",
                   "pg_schema": schema}
        local = settings.model_copy(
            update={
                "storage": settings.storage.model_copy(update=storage),
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

            def record(alerts: list[Alert]) -> None:  # alerts no batch of posts raised
                for alert in alerts:
                    report.alerts.append(alert)
                    if keep_members and alert.conflict is not None and (
                        alert.event is not AlertEvent.RESOLVED
                    ):
                        report.members[alert.alert_id] = _side_posts(alert)
                    if on_alert is not None:
                        on_alert(alert)

            for batch in event_batches(posts, batch_minutes, settings.ingest.batch_posts):
                result = await pipeline.add_posts(batch)
                report.stored += sum(o.value == "stored" for o in result.outcomes)
                for alert in result.alerts:
                    report.alerts.append(alert)
                    if keep_members and alert.event is not AlertEvent.RESOLVED:
                        if alert.conflict is not None:
                            report.members[alert.alert_id] = _side_posts(alert)
                        else:
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
                    record(pipeline.take_merge_alerts())
            if posts:
                await pipeline.consolidate()
                record(pipeline.take_merge_alerts())
                settle = max(
                    (timedelta(minutes=r.window_minutes + r.resolve_after_minutes + 1)
                     for r in settings.rules),
                    default=timedelta(0),
                )
                monitor = runtime.monitor()
                record(await pipeline.run_db(
                    monitor.evaluate, [], posts[-1].created_at + settle
                ))
            if deliver:
                report.delivered = await _deliver(runtime, settings, channels, deliver_timeout)
    return report


def _side_posts(alert: Alert) -> list[tuple[str, str]]:
    """(source, id) of the posts a conflict alert's sides held: its members."""
    assert alert.conflict is not None
    return [ref for side in alert.conflict.sides for ref in side.post_refs]


async def _deliver(
    runtime: Runtime, settings: Settings, channels: dict[str, Any] | None, timeout: float
) -> dict[str, int]:
    from alerts.channels.registry import build_channels, close_channels
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
