"""Scoring replays against labelled threads (PHEME, RumourEval, Twitter15/16 cascades).

A *thread* is a labelled conversation: its source post and everything in it (replies,
reposts). Its label is ``false``, ``unverified`` or ``true`` for a rumour, ``non-rumour``
otherwise. Every rumour, whatever its veracity, was unverified while it spread, so
covering any rumour is what an early-warning tool is for; false and unverified ones are
the ones an analyst most wants flagged.

A thread is *covered* when a raised or escalated alert's narrative held one of its posts
at that moment (``replay(keep_members=True)`` records those posts in
``ReplayReport.members``). Only threads with at least ``min_posts`` posts are counted (a
thread of three posts cannot spread).

Per event (:func:`score_event`), and pooled over events (:func:`combine`):

- threads counted, by label; rumours covered (all veracities), false+unverified
  covered, non-rumour covered, each a count and a share;
- lead before denial: for covered threads whose replies include a denial (a record with
  ``"stance": "deny"`` that is not the thread's source), minutes from the first alert to
  the first denial (positive: the alert came first); their median, how many covered
  threads had a denial, and how many of those alerted before it;
- alerts per day: raised alerts over the span of the event's posts in days (at least an
  hour), the analyst's load;
- alert precision: the share of raised alerts whose narrative, when raised, was mostly
  (more than half) posts of rumour threads, over all labelled threads of the event.

:class:`ReplayScore` (``score_replay``) is the older summary, kept with its keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.config.settings import IncidentSettings, Settings
from tracker.errors import InputError, PostError
from tracker.evaluation.cascades import is_cascade, numbered_lines, read_cascades
from tracker.ingest.records import parse_post, parse_time
from tracker.linking.incidents import EVERY_POST
from tracker.models import AlertEvent, Post

if TYPE_CHECKING:
    from tracker.embedding.base import Embedder
    from tracker.evaluation.replay import ReplayReport

__all__ = [
    "EVENT_FILE_SUFFIXES",
    "LABELS",
    "RUMOURS",
    "WANTED",
    "EventScore",
    "LabelScore",
    "LabelledEvent",
    "ReplayScore",
    "ThreadLabel",
    "ThreadOutcome",
    "combine",
    "event_files",
    "event_incident",
    "read_events",
    "replay_event",
    "score_event",
    "score_replay",
    "thread_labels",
    "with_background",
]

LABELS = ("false", "unverified", "true", "non-rumour")
RUMOURS = ("false", "unverified", "true")
WANTED = ("false", "unverified")


@dataclass(frozen=True, slots=True)
class ThreadLabel:
    """A labelled conversation: its posts' ids, when it began (UTC), its label
    (``false``, ``unverified`` or ``true`` for rumours, ``non-rumour`` otherwise) and
    when its first denial came (a non-source post with stance ``deny``), if any."""

    thread_id: str
    label: str
    started_at: datetime
    posts: frozenset[str]
    first_denial: datetime | None = None


def thread_labels(records: Iterable[dict[str, Any]]) -> list[ThreadLabel]:
    """Threads of PHEME-format records: records with ``thread_id``, ``rumour_label``
    (``rumour`` or ``non-rumour``) and ``veracity`` for rumours. A record without them is
    not counted. A record whose ``stance`` is ``deny`` and that is not the thread's
    source (``is_source``, or its id is the thread id) is a denial."""
    posts: dict[str, set[str]] = {}
    label: dict[str, str] = {}
    start: dict[str, datetime] = {}
    denial: dict[str, datetime] = {}
    for r in records:
        thread, kind = r.get("thread_id"), r.get("rumour_label")
        if thread is None or kind not in ("rumour", "non-rumour"):
            continue
        thread = str(thread)
        verdict = "non-rumour" if kind == "non-rumour" else str(r.get("veracity") or "unverified")
        label.setdefault(thread, verdict)
        pid = str(r["id"])
        posts.setdefault(thread, set()).add(pid)
        when = parse_time(r["created_at"])
        start[thread] = min(start.get(thread, when), when)
        source = bool(r.get("is_source")) or pid == thread
        if r.get("stance") == "deny" and not source:
            denial[thread] = min(denial.get(thread, when), when)
    return [
        ThreadLabel(t, label[t], start[t], frozenset(posts[t]), denial.get(t))
        for t in sorted(label)
    ]


@dataclass(frozen=True, slots=True)
class ThreadOutcome:
    """What happened to one counted thread in a replay: minutes from its first post to
    its first alert (None when no alert covered it), and minutes from that alert to its
    first denial (None without a denial or without an alert)."""

    thread_id: str
    label: str
    posts: int
    minutes_to_alert: float | None
    has_denial: bool
    lead_before_denial: float | None
    by_speculation: bool = False  # covered by an alert of a spread rule
    by_conflict: bool = False  # covered by an alert of a conflict rule

    @property
    def covered(self) -> bool:
        return self.minutes_to_alert is not None


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


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    middle = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return round(middle, 1)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class EventScore:
    """One event's replay (or several pooled by :func:`combine`) against its labels."""

    event: str
    outcomes: tuple[ThreadOutcome, ...]
    alert_events: int
    raised: int
    raised_on_rumours: int
    span_seconds: float
    posts: int = 0
    min_posts: int = 1
    files: tuple[str, ...] = ()
    incidents: tuple[str, ...] = ()
    events: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def _of(self, labels: Sequence[str]) -> list[ThreadOutcome]:
        return [o for o in self.outcomes if o.label in labels]

    def threads(self, label: str) -> int:
        return len(self._of((label,)))

    def covered(self, labels: Sequence[str]) -> int:
        return sum(o.covered for o in self._of(labels))

    def covered_by_speculation(self, labels: Sequence[str]) -> int:
        return sum(o.by_speculation for o in self._of(labels))

    def covered_by_conflict(self, labels: Sequence[str]) -> int:
        return sum(o.by_conflict for o in self._of(labels))

    def share(self, labels: Sequence[str]) -> float:
        return _share(self.covered(labels), len(self._of(labels)))

    @property
    def with_denial(self) -> int:
        """Covered threads that had a denial."""
        return sum(o.covered and o.has_denial for o in self.outcomes)

    @property
    def alerted_before_denial(self) -> int:
        return sum(
            o.lead_before_denial is not None and o.lead_before_denial > 0 for o in self.outcomes
        )

    @property
    def median_lead_before_denial(self) -> float | None:
        return _median(
            [o.lead_before_denial for o in self.outcomes if o.lead_before_denial is not None]
        )

    @property
    def span_days(self) -> float:
        return max(self.span_seconds, 3600.0) / 86400.0

    @property
    def alerts_per_day(self) -> float:
        return self.raised / self.span_days

    @property
    def alert_precision(self) -> float | None:
        """Share of raised alerts that were mostly about rumour threads; None when no
        alert was raised."""
        return self.raised_on_rumours / self.raised if self.raised else None

    def label_score(self, label: str) -> LabelScore:
        mine = self._of((label,))
        minutes = [o.minutes_to_alert for o in mine if o.minutes_to_alert is not None]
        return LabelScore(label, len(mine), len(minutes), _median(minutes))

    def replay_score(self) -> ReplayScore:
        """The older summary (precision and recall of threads for false and unverified
        rumours, ...) over the counted threads."""
        wanted = self._of(WANTED)
        hit = [o for o in wanted if o.covered]
        alerted = [o for o in self.outcomes if o.covered]
        return ReplayScore(
            by_label=tuple(self.label_score(name) for name in LABELS),
            precision=_share(len(hit), len(alerted)),
            recall=_share(len(hit), len(wanted)),
            non_rumour_share=self.share(("non-rumour",)),
            median_lead=_median(
                [o.minutes_to_alert for o in hit if o.minutes_to_alert is not None]
            ),
            alerts=self.alert_events,
        )

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data: the :class:`ReplayScore` keys and the event's own."""
        precision = self.alert_precision
        return {
            "event": self.event,
            "events": self.events,
            "files": list(self.files),
            "incidents": list(self.incidents),
            "posts": self.posts,
            "min_posts": self.min_posts,
            **self.replay_score().as_dict(),
            "threads": {name: self.threads(name) for name in LABELS},
            "rumours_covered": self.covered(RUMOURS),
            "rumours_share": round(self.share(RUMOURS), 4),
            "false_unverified_covered": self.covered(WANTED),
            "false_unverified_share": round(self.share(WANTED), 4),
            "rumours_covered_by_speculation": self.covered_by_speculation(RUMOURS),
            "rumours_covered_by_conflict": self.covered_by_conflict(RUMOURS),
            "false_unverified_covered_by_speculation": self.covered_by_speculation(WANTED),
            "false_unverified_covered_by_conflict": self.covered_by_conflict(WANTED),
            "non_rumour_covered_by_speculation": self.covered_by_speculation(("non-rumour",)),
            "non_rumour_covered_by_conflict": self.covered_by_conflict(("non-rumour",)),
            "non_rumour_covered": self.covered(("non-rumour",)),
            "non_rumour_covered_share": round(self.share(("non-rumour",)), 4),
            "median_lead_before_denial_minutes": self.median_lead_before_denial,
            "covered_with_denial": self.with_denial,
            "alerted_before_denial": self.alerted_before_denial,
            "raised": self.raised,
            "span_days": round(self.span_days, 4),
            "alerts_per_day": round(self.alerts_per_day, 4),
            "alert_precision": None if precision is None else round(precision, 4),
            **self.extra,
        }


def _first_alerts(
    report: ReplayReport, threads: Sequence[ThreadLabel], rules: frozenset[str] | None,
    conflicts: bool | None = None,
) -> dict[str, datetime]:
    """Thread id -> when an alert (of one of ``rules``, or any; only conflict alerts, or none of
    them, when ``conflicts`` says so) first covered it."""
    owner = {pid: t.thread_id for t in threads for pid in t.posts}
    first: dict[str, datetime] = {}
    for alert in report.alerts:
        if rules is not None and alert.rule not in rules:
            continue
        if conflicts is not None and (alert.conflict is not None) != conflicts:
            continue
        for _, pid in report.members.get(alert.alert_id, ()):
            thread = owner.get(pid)
            if thread is not None and thread not in first:
                first[thread] = alert.at
    return first


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def score_event(
    report: ReplayReport,
    threads: Sequence[ThreadLabel],
    *,
    event: str = "",
    min_posts: int = 1,
    rule: str | Collection[str] | None = None,
    files: Sequence[str] = (),
) -> EventScore:
    """Score one event's replay (run with ``keep_members``) against its labelled threads;
    only threads of at least ``min_posts`` posts are counted, and only alerts of ``rule``
    (a name, or several: a rule set) when given (one replay can carry many rule
    variants)."""
    rules = None if rule is None else frozenset([rule] if isinstance(rule, str) else rule)
    first = _first_alerts(report, threads, rules)
    spread = _first_alerts(report, threads, rules, conflicts=False)
    conflict = _first_alerts(report, threads, rules, conflicts=True)
    outcomes: list[ThreadOutcome] = []
    for t in threads:
        if len(t.posts) < min_posts:
            continue
        alert_at = first.get(t.thread_id)
        lead = None
        if alert_at is not None and t.first_denial is not None:
            lead = _minutes(t.first_denial - alert_at)
        outcomes.append(ThreadOutcome(
            t.thread_id, t.label, len(t.posts),
            None if alert_at is None else _minutes(alert_at - t.started_at),
            t.first_denial is not None, lead,
            t.thread_id in spread, t.thread_id in conflict,
        ))
    rumour_posts = {pid for t in threads if t.label in RUMOURS for pid in t.posts}
    mine = [a for a in report.alerts if rules is None or a.rule in rules]
    raised = [a for a in mine if a.event is AlertEvent.RAISED]
    on_rumours = 0
    for alert in raised:
        held = report.members.get(alert.alert_id, [])
        if held and sum(pid in rumour_posts for _, pid in held) * 2 > len(held):
            on_rumours += 1
    span = 0.0
    if report.first_post is not None and report.last_post is not None:
        span = (report.last_post - report.first_post).total_seconds()
    return EventScore(
        event=event, outcomes=tuple(outcomes), alert_events=len(mine), raised=len(raised),
        raised_on_rumours=on_rumours, span_seconds=span, posts=report.stored,
        min_posts=min_posts, files=tuple(files), incidents=tuple(report.incidents),
    )


def combine(name: str, scores: Sequence[EventScore]) -> EventScore:
    """Events pooled: their threads together, alerts summed, spans added (so alerts per
    day is over the total time watched), precision over all raised alerts."""
    files: list[str] = []
    incidents: list[str] = []
    for s in scores:
        files += [f for f in s.files if f not in files]
        incidents += [i for i in s.incidents if i not in incidents]
    return EventScore(
        event=name,
        outcomes=tuple(o for s in scores for o in s.outcomes),
        alert_events=sum(s.alert_events for s in scores),
        raised=sum(s.raised for s in scores),
        raised_on_rumours=sum(s.raised_on_rumours for s in scores),
        span_seconds=sum(max(s.span_seconds, 3600.0) for s in scores),
        posts=sum(s.posts for s in scores),
        min_posts=min((s.min_posts for s in scores), default=1),
        files=tuple(files), incidents=tuple(incidents),
        events=sum(s.events for s in scores),
    )


def score_replay(report: ReplayReport, threads: Sequence[ThreadLabel]) -> ReplayScore:
    """Score a replay run with ``keep_members`` against labelled threads (all counted)."""
    return score_event(report, threads).replay_score()


# -- labelled events: reading them, giving each an incident, replaying them ---------------


@dataclass(slots=True)
class LabelledEvent:
    """One event of the input: its name, the file it came from, and its records numbered
    by line (a line that is not a JSON object is the :class:`PostError` saying why)."""

    name: str
    file: str
    records: list[tuple[int, dict[str, Any] | PostError]] = field(default_factory=list)

    def dicts(self) -> list[dict[str, Any]]:
        return [r for _, r in self.records if isinstance(r, dict)]

    def times(self) -> tuple[datetime, datetime] | None:
        """First and last post time among the records that carry a readable one."""
        found: list[datetime] = []
        for r in self.dicts():
            try:
                found.append(parse_time(r.get("created_at")))
            except PostError:
                continue
        return (min(found), max(found)) if found else None


EVENT_FILE_SUFFIXES = (".jsonl", ".jsonl.gz")


def event_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, a folder standing for its ``*.jsonl`` and ``*.jsonl.gz`` files
    (sorted, not recursive). :class:`InputError` naming a path that does not exist or a
    folder with no such file."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir()
                if p.is_file() and p.name.lower().endswith(EVENT_FILE_SUFFIXES)
            )
            if not found:
                raise InputError(f"{path} is a folder with no .jsonl or .jsonl.gz files")
            out += found
        elif not path.exists():
            raise InputError(f"{path} does not exist")
        else:
            out.append(path)
    return out


def read_events(
    path: Path, *, cascade_minutes: float | None = None, cascade_events: int | None = None
) -> list[LabelledEvent]:
    """The events of one file, by each record's ``event`` (the file's name without its
    suffixes when a record has none), in order of first appearance. A file whose first
    record is a Twitter15/16 cascade is read as cascades (see :mod:`tracker.evaluation.cascades`),
    capped by ``cascade_minutes`` and ``cascade_events``. :class:`InputError` names a file
    that cannot be read."""
    stem = path.name.split(".")[0]
    numbered: list[tuple[int, dict[str, Any] | PostError]] = []
    with closing(numbered_lines(path)) as lines:
        for number, line in lines:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                numbered.append((number, PostError(f"bad JSON: {exc.msg}")))
                continue
            if not isinstance(value, dict):
                numbered.append((number, PostError("a post must be a JSON object")))
                continue
            if not numbered and is_cascade(value):
                break
            numbered.append((number, value))
        else:
            return _by_event(numbered, stem, str(path))
    cascades = enumerate(
        read_cascades(path, max_minutes=cascade_minutes, max_events=cascade_events), start=1
    )
    return _by_event(list(cascades), stem, str(path))


def _by_event(
    numbered: Sequence[tuple[int, dict[str, Any] | PostError]], stem: str, file: str
) -> list[LabelledEvent]:
    events: dict[str, LabelledEvent] = {}
    last = stem
    for number, record in numbered:
        if isinstance(record, dict):
            last = str(record.get("event") or stem)
        # a bad line stays with the event of the line before it
        events.setdefault(last, LabelledEvent(last, file)).records.append((number, record))
    return list(events.values())


def with_background(
    events: Sequence[LabelledEvent], background: Sequence[LabelledEvent]
) -> list[LabelledEvent]:
    """Each event with the posts of the background events of the same name that it does
    not hold already (by ``id``) added to it, so that it replays in the stream it was
    drawn from: RumourEval's files hold only rumour reply threads, and PHEME's source
    tweets of the same event add the newsroom reporting and the non-rumour sources around
    them. A background line that is not a post stays with its event (a rejected line, as
    in the event's own file); an event with no background of its name is unchanged."""
    extra: dict[str, list[tuple[int, dict[str, Any] | PostError]]] = {}
    for event in background:
        extra.setdefault(event.name, []).extend(event.records)
    out: list[LabelledEvent] = []
    for event in events:
        more = extra.get(event.name)
        if not more:
            out.append(event)
            continue
        held = {str(r.get("id")) for r in event.dicts()}
        added: list[tuple[int, dict[str, Any] | PostError]] = []
        for number, record in more:
            if not isinstance(record, dict):
                added.append((number, record))
            elif str(record.get("id")) not in held:
                held.add(str(record.get("id")))
                added.append((number, record))
        out.append(LabelledEvent(event.name, event.file, [*event.records, *added]))
    return out


_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def event_incident(event: LabelledEvent) -> IncidentSettings:
    """The incident an event is replayed under when the settings have none for it: id
    and title its name, from its first post to past its last, every post a match."""
    when = event.times()
    if when is None:
        raise InputError(f"{event.file}: event {event.name!r} has no post with a time")
    first, last = when
    ident = _NOT_ID.sub("-", event.name).strip("-.") or "event"
    if not ident[0].isalnum():
        ident = "e" + ident
    return IncidentSettings(
        id=ident, title=event.name, started_at=first.isoformat(),
        terms=(EVERY_POST,), window_hours=(last - first).total_seconds() / 3600 + 1.0,
    )


async def _posts(
    records: Sequence[tuple[int, dict[str, Any] | PostError]], settings: Settings
) -> AsyncIterator[tuple[int, Post | PostError]]:
    for number, record in records:
        if isinstance(record, PostError):
            yield number, record
            continue
        try:
            yield number, parse_post(
                record, default_source=settings.ingest.default_source,
                max_text_chars=settings.ingest.max_text_chars,
            )
        except PostError as exc:
            yield number, exc


async def replay_event(
    settings: Settings,
    event: LabelledEvent,
    *,
    incident: str | None = None,
    embedder: Embedder | None = None,
    db: Path | None = None,
) -> ReplayReport:
    """Replay one event (``keep_members``, in its own database): under ``incident`` when
    given; else under the configured incidents when one of them covers the event's first
    post (as ``claimwatch replay`` would); else under :func:`event_incident`."""
    from tracker.evaluation.replay import configured_incidents, replay

    records = _posts(event.records, settings)
    if incident is not None:
        return await replay(settings, records, incident=incident, embedder=embedder,
                            db=db, keep_members=True)
    when = event.times()
    if when is not None and any(i.covers(when[0]) for i in configured_incidents(settings)):
        return await replay(settings, records, embedder=embedder, db=db, keep_members=True)
    own = event_incident(event)
    local = settings.model_copy(update={"incidents": (own,)})
    return await replay(local, records, incident=own.id, embedder=embedder, db=db,
                        keep_members=True)
