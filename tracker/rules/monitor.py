"""Alert rules: when a narrative's spread raises, escalates or resolves an alert.

A rule (``[[rules]]`` in config) holds on a narrative at event time ``t`` when, over the
window ending at ``t``, the narrative has at least ``min_posts`` posts and
``min_authors`` authors (its own posts, their reposts and the replies to them: its
conversation), its posts per minute reach ``ratio`` times the verified rate (verified
reporting per minute on the same question, never counted below ``verified_floor``), and
less than ``max_verified_share`` of its posts are verified reporting. Replies that deny or
question it can count extra (``stance_weight``). The lifecycle of one rule on one
narrative (:func:`decide`):

- **raised** the first time the rule holds on a narrative whose status and kind it
  watches (again only ``cooldown`` after a resolution);
- quiet for ``cooldown`` after each event;
- **escalated**, after the cooldown, when the rate reaches ``escalate_factor`` times the
  rate at the last event;
- **resolved** when the narrative's status leaves the watched ones (a finding confirmed
  or contradicted it: the reason says which and quotes the finding), or when the rule has
  not held for ``resolve_after`` minutes.

A conflict rule (``detect = "conflict"``) follows the same lifecycle on one *question* of
an incident instead of one narrative: it holds while trusted sources give answers that
disagree (:func:`tracker.rules.conflicts.find_conflicts`), it is watched until a finding answers
the question (:func:`tracker.rules.conflicts.settling_finding`), and its alerts carry the
conflict's sides. It is evaluated at the whole minute after a post joined one of the
incident's narratives, every minute while its alert is open, and again at the minutes
whose windows a post arriving late falls into.

:class:`AlertMonitor` applies the rules in event time: at each post that joins a
narrative, again at the later posts of the narrative whose windows a post arriving late
falls into (sources do not deliver in time order), and at each whole minute of event time
while alerts are open (so alerts on narratives that went quiet resolve without new posts).
It writes each event, its rule state and its deliveries in the caller's transaction.
Given the same posts in the same order it gives the same events, however they were
batched.
"""

from __future__ import annotations

import math
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from tracker.config.settings import RuleSettings
from tracker.models import (
    Alert,
    AlertEvent,
    ClaimKind,
    Conflict,
    Finding,
    Sample,
    Status,
)
from tracker.narratives.engine import MergedAlert
from tracker.rules.conflicts import (
    IDENTITY,
    conflict_kind,
    conflict_label,
    conflict_reason,
    find_conflicts,
    settling_finding,
)
from tracker.rules.rates import Rate, narrative_rate, per_minute, window_bounds
from tracker.store import ConflictRow, RuleState, Store, ValuePost

__all__ = ["QUESTIONS", "AlertMonitor", "Measure", "Rule", "decide", "measure", "spread_reason"]

_MINUTE = timedelta(minutes=1)


class _Timed(Protocol):
    @property
    def at(self) -> datetime: ...


P = TypeVar("P", bound=_Timed)
M = TypeVar("M")
K = TypeVar("K")
_EPSILON = 1e-9

QUESTIONS: dict[ClaimKind, str] = {
    ClaimKind.ATTRIBUTION: "who did it",
    ClaimKind.CASUALTY: "how many died",
    ClaimKind.METHOD: "how it was done",
    ClaimKind.OTHER: "what happened where",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule, from its settings. Times are event-time durations."""

    name: str
    window_minutes: float
    ratio: float
    min_posts: int
    min_authors: int
    verified_floor: float
    statuses: frozenset[Status]
    kinds: frozenset[ClaimKind]
    max_verified_share: float
    bands: tuple[tuple[float, str], ...]  # (minimum ratio, severity), ascending
    cooldown: timedelta
    escalate_factor: float
    resolve_after: timedelta
    channels: tuple[str, ...]
    verified_scope: str = "question"
    stance_weight: float = 0.0
    min_reach: int = 0  # 0: off; else a narrative reaching this many followers is spread
    detect: str = "spread"  # or "conflict": trusted sources disagreeing on one question

    @classmethod
    def from_settings(cls, s: RuleSettings) -> Rule:
        return cls(
            name=s.name, window_minutes=s.window_minutes, ratio=s.ratio,
            min_posts=s.min_posts, min_authors=s.min_authors,
            verified_floor=s.verified_floor,
            statuses=frozenset(Status(x) for x in s.statuses),
            kinds=frozenset(ClaimKind(x) for x in s.kinds),
            max_verified_share=s.max_verified_share,
            bands=tuple(sorted((v, k) for k, v in s.severity.items())),
            cooldown=timedelta(minutes=s.cooldown_minutes),
            escalate_factor=s.escalate_factor,
            resolve_after=timedelta(minutes=s.resolve_after_minutes),
            channels=s.channels, verified_scope=s.verified_scope,
            stance_weight=s.stance_weight, min_reach=s.min_reach, detect=s.detect,
        )

    def watches(self, kind: ClaimKind, status: Status) -> bool:
        return status in self.statuses and (not self.kinds or kind in self.kinds)

    def severity(self, ratio: float) -> str:
        """The highest band ``ratio`` reaches; the lowest band below all of them."""
        chosen = self.bands[0][1]
        for minimum, name in self.bands:
            if ratio >= minimum:
                chosen = name
        return chosen


@dataclass(frozen=True, slots=True)
class Measure:
    """A rule's view of one narrative at one time: its rate, the verified rate (posts per
    minute, before the floor), their ratio, and whether the rule holds (``by_reach``: it
    holds by the followers its posts reach, not by their count)."""

    rate: Rate
    verified_rate: float
    ratio: float
    holds: bool
    by_reach: bool = False


def measure(rule: Rule, rate: Rate, verified_posts: int) -> Measure:
    """Apply ``rule`` to a narrative's rate and the verified reporting (on its question,
    or the incident's, as the rule scopes it) in the same window."""
    verified = per_minute(verified_posts, rate.window_minutes)
    ratio = rate.per_minute / max(verified, rule.verified_floor)
    unverified = rate.verified_share < rule.max_verified_share
    holds = (
        rate.posts >= rule.min_posts
        and rate.authors >= rule.min_authors
        and ratio >= rule.ratio - _EPSILON  # 0.6 / 0.2 is 2.9999999999999996 in floats
        and unverified
    )
    by_reach = (
        not holds and rule.min_reach > 0 and rate.reach >= rule.min_reach
        and rate.posts > 0 and rate.verified_posts == 0
    )
    return Measure(rate, verified, ratio, holds or by_reach, by_reach)


def decide(
    rule: Rule, state: RuleState | None, m: Measure, watched: bool, at: datetime,
    new_id: Callable[[], str],
) -> tuple[RuleState | None, AlertEvent | None]:
    """The rule's next state on a narrative, and the event to send (None: none)."""
    rate = m.rate.per_minute
    if state is not None and state.open_alert is not None:
        if not watched:
            return _resolved(state, at), AlertEvent.RESOLVED
        if m.holds:
            quiet = at - state.last_at < rule.cooldown
            if not quiet and rate >= rule.escalate_factor * state.last_rate - _EPSILON:
                return RuleState(
                    state.open_alert, AlertEvent.ESCALATED, at, rate, rule.severity(m.ratio)
                ), AlertEvent.ESCALATED
            return (replace(state, below_since=None) if state.below_since else state), None
        if state.below_since is None:
            return replace(state, below_since=at), None
        if at - state.below_since >= rule.resolve_after:
            return _resolved(state, at), AlertEvent.RESOLVED
        return state, None
    if not (watched and m.holds):
        return state, None
    if state is not None and at - state.last_at < rule.cooldown:
        return state, None
    return RuleState(new_id(), AlertEvent.RAISED, at, rate, rule.severity(m.ratio)), (
        AlertEvent.RAISED
    )


def spread_reason(rule: Rule, kind: ClaimKind, m: Measure) -> str:
    """Why a rule holds, in one sentence with the figures an analyst checks."""
    r = m.rate
    parts = []
    if r.reposts:
        parts.append(f"{r.reposts} repost{'s' * (r.reposts != 1)}")
    if r.replies:
        contested = [
            f"{n} {word}" for n, word in (
                (r.denials, "denying"), (r.queries, "questioning"), (r.supports, "supporting")
            ) if n
        ]
        parts.append(
            f"{r.replies} repl{'ies' if r.replies != 1 else 'y'}"
            + (f" ({', '.join(contested)})" if contested else "")
        )
    spread = f" ({'; '.join(parts)})" if parts else ""
    scope = (
        f"verified reporting on {QUESTIONS[kind]}" if rule.verified_scope == "question"
        else "verified reporting on the incident"
    )
    reach = (
        f", reaching {r.reach:,} followers (at least {rule.min_reach:,})" if m.by_reach else ""
    )
    return (
        f"{r.posts} post{'s' * (r.posts != 1)}{spread} from {r.authors} "
        f"author{'s' * (r.authors != 1)} in {rule.window_minutes:g} "
        f"minutes{reach}: {r.per_minute:.2f}/min, {m.ratio:.1f}x the {scope} "
        f"({m.verified_rate:.2f}/min, floor {rule.verified_floor:g}), "
        f"{r.verified_share:.0%} of its posts verified reporting"
    )


def _resolved(state: RuleState, at: datetime) -> RuleState:
    return RuleState(None, AlertEvent.RESOLVED, at, state.last_rate, state.severity)


def _new_id() -> str:
    return uuid.uuid4().hex


class AlertMonitor:
    """Evaluates the rules on narratives in event time and records the alerts.

    Call :meth:`evaluate` on the store's writer thread, inside the transaction that
    clustered the posts, so a crash keeps both or neither. ``hold`` records alerts without
    delivering them (a replay without ``--deliver``). Which posts are verified reporting
    was decided when they joined their narratives (:mod:`tracker.narratives.engine`)."""

    def __init__(
        self, store: Store, rules: Sequence[Rule], channels: Sequence[str], *,
        hold: bool = False, new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.store = store
        self.rules = tuple(r for r in rules if r.detect != "conflict")
        self._named: tuple[tuple[Rule, ...], dict[str, Rule]] = ((), {})
        self.conflict_rules = tuple(r for r in rules if r.detect == "conflict")
        # whole minutes of event time -> incidents whose conflicts to evaluate then (the
        # minute after a post joined one of their narratives)
        self._due: dict[datetime, set[str]] = {}
        self._open: set[str] | None = None  # see _open_conflicts
        self.channels = tuple(channels)
        self.hold = hold
        self.new_id = new_id
        self.clock: datetime | None = None  # the latest event time evaluated
        # (incident, question or None) -> sorted epoch seconds of verified reporting
        self._verified_times: dict[tuple[str, ClaimKind | None], list[float]] = {}
        self._findings: dict[str, list[Finding]] = {}
        # read once per evaluation (nothing joins a narrative while the rules run):
        # narrative heads, rule states (written through), open states, window posts
        self._heads: dict[int, tuple[str, ClaimKind, Status] | None] = {}
        self._states: dict[int, dict[str, RuleState]] = {}
        self._open_states: list[tuple[str, int, str, RuleState]] | None = None
        self._windows: dict[int, _Window] = {}
        # incident -> its value posts from the first conflict window asked for to the
        # horizon, their epoch seconds, and find_conflicts by (rule, first, end index)
        self._values: dict[str, _Values] = {}
        # open rule states grouped by narrative (rules in order), for the list read
        self._grouped: tuple[object, dict[int, list[Rule]]] = (None, {})
        self._bounds: dict[tuple[datetime, float], tuple[float, float]] = {}
        self._horizon: datetime | None = None  # the latest event time of this evaluation

    def _forget(self) -> None:
        """Drop what was read for one evaluation."""
        self._verified_times.clear()
        self._findings.clear()
        self._open = None
        self._heads.clear()
        self._states.clear()
        self._open_states = None
        self._windows.clear()
        self._values.clear()
        self._grouped = (None, {})
        self._bounds.clear()
        self._horizon = None

    def evaluate(
        self, joins: Iterable[tuple[int, datetime]], until: datetime | None = None
    ) -> list[Alert]:
        """Evaluate at each (narrative id, event time) a post joined at, at the stored
        posts' times whose windows those posts fall into (:meth:`_later_joins`), and at
        each whole minute of event time up to the latest of them (or ``until``) while
        alerts are open. Returns the alert events recorded, in event-time order."""
        points = sorted(set(joins), key=lambda p: (p[1], p[0]))
        latest = max([p[1] for p in points] + ([until] if until else []), default=None)
        if latest is None:
            return []
        start = self.clock if self.clock is not None else (points[0][1] if points else latest)
        out: list[Alert] = []
        try:
            with self.store.transaction():
                new = points
                later = self._later_joins(points)
                if later:
                    points = sorted(set(points) | set(later), key=lambda p: (p[1], p[0]))
                self._horizon = latest
                tick = _next_minute(start)
                nids = sorted({nid for nid, _ in points})
                heads = self.store.narrative_heads(nids)
                self._heads.update((nid, heads.get(nid)) for nid in nids)
                if self.conflict_rules:
                    for nid, at in new:
                        head = heads.get(nid)
                        due = _next_minute(at)
                        if head is not None and due >= tick:
                            self._due.setdefault(due, set()).add(head[0])
                    out.extend(self._late_conflicts(new, heads, tick))
                dues = sorted(self._due)  # whole minutes; the ticks only pop them
                for nid, at in points:
                    while tick <= at:
                        if not self._open_rule_states() and not self._open_conflicts():
                            # nothing open: on to the next minute a conflict evaluation
                            # is due (the ticks between would do nothing)
                            i = bisect_left(dues, tick)
                            if i == len(dues) or dues[i] > at:
                                tick = _next_minute(at)  # where the ticks would stop
                                break
                            tick = dues[i]
                        out.extend(self._tick(tick))
                        tick += _MINUTE
                    out.extend(self._at(nid, at))
                out.extend(self._ticks(tick, latest))
        finally:
            self._forget()
        self.clock = max(latest, self.clock) if self.clock else latest
        out.sort(key=lambda a: a.at)  # stable: late evaluations come before the rest
        return out

    def _later_joins(
        self, points: Sequence[tuple[int, datetime]]
    ) -> list[tuple[int, datetime]]:
        """The times posts that were already stored joined the narratives of ``points``,
        whose windows now hold one of the new posts: a post at ``T`` is in every window
        ending at or after ``T`` and less than the longest rule window later. Posts seldom
        arrive in time order across sources (a slower source delivers the older posts),
        and a window that gained posts may now hold the rule; only the new posts' own times
        would otherwise be evaluated again. An evaluation in time order finds none."""
        if not self.rules or not points:
            return []
        span = timedelta(minutes=max(r.window_minutes for r in self.rules))
        new: dict[int, list[datetime]] = {}
        for nid, at in points:  # in time order
            new.setdefault(nid, []).append(at)
        stored = self.store.join_times(
            [(nid, times[0], times[-1] + span) for nid, times in new.items()]
        )
        out: list[tuple[int, datetime]] = []
        for nid, times in stored.items():
            mine = new[nid]
            for at in times:
                i = bisect_right(mine, at) - 1  # the latest new post at or before it
                if i >= 0 and at < mine[i] + span and at != mine[i]:
                    out.append((nid, at))
        return out

    def _late_conflicts(
        self, points: Sequence[tuple[int, datetime]],
        heads: dict[int, tuple[str, ClaimKind, Status]], tick: datetime,
    ) -> list[Alert]:
        """Evaluate the conflict rules again where posts arrived late: a post at ``T``
        from before the evaluated clock falls into the conflict windows of the minutes
        from ``T`` to the longest conflict window later, and those minutes were evaluated
        (after the value posts in them) without it. Those minutes (before ``tick``) are
        evaluated again, in order, with every post now stored, and every minute after the
        first of them while the incident's conflict is open, as the ticks would have: two
        newsrooms whose disagreeing reports come in by different sources conflict
        whichever came first."""
        late: dict[str, list[datetime]] = {}
        for nid, at in points:
            head = heads.get(nid)
            if head is not None and _next_minute(at) < tick:
                late.setdefault(head[0], []).append(at)
        if not late:
            return []
        span = timedelta(minutes=max(r.window_minutes for r in self.conflict_rules))
        out: list[Alert] = []
        for incident_id, times in sorted(late.items()):
            times.sort()
            values = self.store.value_posts(incident_id, times[0] - 2 * _MINUTE, times[-1] + span)
            dues: set[datetime] = set()
            for v in values:
                due = _next_minute(v.at)
                i = bisect_right(times, due) - 1  # the latest late post at or before it
                if due < tick and i >= 0 and due < times[i] + span:
                    dues.add(due)
            if not dues:
                continue
            # from the first of them, every minute while the incident's conflict is open,
            # as the ticks would have done
            due = min(dues)
            while due < tick:
                if due in dues or incident_id in self._open_conflicts():
                    out.extend(self._conflicts(incident_id, due))
                due += _MINUTE
        return out

    def resume(self, clock: datetime, incidents: Iterable[str]) -> None:
        """Carry on where another worker's evaluation stopped (several workers on one
        database): its event-time ``clock``, and the conflict evaluation it may have left
        due at the next whole minute, for ``incidents`` (one with no value post in that
        minute is skipped then, as always)."""
        self.clock = clock
        if self.conflict_rules:
            self._due.setdefault(_next_minute(clock), set()).update(incidents)

    def review(self, at: datetime) -> list[Alert]:
        """Evaluate the open alerts at ``at`` (after a finding changed statuses, say)."""
        try:
            with self.store.transaction():
                self._horizon = at
                return self._tick(at)
        finally:
            self._forget()

    def resolve_merged(self, merged: Sequence[MergedAlert]) -> list[Alert]:
        """Resolve the alerts left open on narratives merged into one that had its own open
        alert on the same rule (at the latest event time evaluated); the reason names the
        narrative and the alert that carry the story on. An alert on a merged narrative
        whose survivor had none was carried over to the survivor and needs nothing."""
        out: list[Alert] = []
        if not merged or self.clock is None:
            return out
        at = self.clock
        with self.store.transaction():
            for item in merged:
                rule = next((r for r in self.rules if r.name == item.rule), None)
                if rule is None or not self.store.narrative_heads([item.survivor]):
                    continue
                quiet = Measure(Rate(at, rule.window_minutes, 0, 0, 0, 0), 0.0, 0.0, False)
                alert = self._alert(
                    rule, item.survivor, at, quiet, AlertEvent.RESOLVED, None, item.alert_id,
                    Status.SPECULATIVE, shown_id=item.merged, reason=(
                        f"merged: narrative #{item.merged} now belongs to narrative "
                        f"#{item.survivor}, whose open alert {item.survivor_alert} carries on"
                    ),
                )
                self.store.outbox.enqueue(alert, rule.channels or self.channels, hold=self.hold)
                out.append(alert)
        return out

    def _ticks(self, tick: datetime, until: datetime) -> list[Alert]:
        out: list[Alert] = []
        while tick <= until:
            if not self._open_rule_states() and not self._open_conflicts():
                # nothing open: skip to the next minute a conflict evaluation is due
                due = min((t for t in self._due if t >= tick), default=None)
                if due is None or due > until:
                    break
                tick = due
            out.extend(self._tick(tick))
            tick += _MINUTE
        return out

    def _open_rule_states(self) -> list[tuple[str, int, str, RuleState]]:
        """Every open alert's rule state: read once per evaluation, again after a save."""
        if self._open_states is None:
            self._open_states = self.store.open_rule_states()
        return self._open_states

    def _head(self, nid: int) -> tuple[str, ClaimKind, Status] | None:
        if nid not in self._heads:
            self._heads[nid] = self.store.narrative_heads([nid]).get(nid)
        return self._heads[nid]

    def _rule_states(self, nid: int) -> dict[str, RuleState]:
        if nid not in self._states:
            self._states[nid] = self.store.rule_states_of(nid)
        return self._states[nid]

    def _save_state(self, rule: str, nid: int, incident_id: str, state: RuleState) -> None:
        self.store.save_rule_state(rule, nid, incident_id, state)
        self._rule_states(nid)[rule] = state
        self._open_states = None

    def _window(self, nid: int, start: datetime, end: datetime) -> _Window | None:
        """A narrative's posts from the first window asked for to the evaluation's latest
        time (:func:`_ahead`)."""
        return _ahead(self._windows, nid, start, end, self._horizon,
                      lambda since, until: self.store.window_posts(nid, since, until))

    def _span(self, at: datetime, window_minutes: float) -> tuple[float, float]:
        """The epoch seconds of :func:`window_bounds` (``at``, ``window_minutes``), kept
        for the evaluation (every narrative ticks at the same minutes)."""
        key = (at, window_minutes)
        found = self._bounds.get(key)
        if found is None:
            start, end = window_bounds(at, window_minutes)
            found = self._bounds[key] = (start.timestamp(), end.timestamp())
        return found

    def _open_conflicts(self) -> set[str]:
        """Incidents with an open conflict alert: read once per evaluation, then kept up
        to date as conflict states are saved."""
        if not self.conflict_rules:
            return set()
        if self._open is None:
            self._open = set(self.store.open_conflict_incidents())
        return self._open

    def _rule_named(self, name: str) -> Rule | None:
        """The first of :attr:`rules` named ``name`` (by a dict kept for the tuple)."""
        if self._named[0] is not self.rules:
            named: dict[str, Rule] = {}
            for rule in self.rules:
                named.setdefault(rule.name, rule)
            self._named = (self.rules, named)
        return self._named[1].get(name)

    def _open_by_narrative(self) -> dict[int, list[Rule]]:
        """The rules with an open alert, by narrative: grouped once per read of
        :meth:`_open_rule_states` (a save reads them again)."""
        states = self._open_rule_states()
        if self._grouped[0] is not states:
            by_narrative: dict[int, list[Rule]] = {}
            for rule_name, nid, _, _ in states:
                rule = self._rule_named(rule_name)
                if rule is not None:
                    by_narrative.setdefault(nid, []).append(rule)
            self._grouped = (states, by_narrative)
        return self._grouped[1]

    def _tick(self, at: datetime) -> list[Alert]:
        by_narrative = self._open_by_narrative()
        out: list[Alert] = []
        for nid, rules in by_narrative.items():
            out.extend(self._at(nid, at, rules))
        if self.conflict_rules:
            open_ = set(self._open_conflicts())  # a copy: _conflict updates the original
            for incident_id in sorted(self._due.pop(at, set()) | open_):
                # only a post giving a value in the last minute can start a conflict
                if incident_id in open_ or self._has_value_posts(incident_id, at):
                    out.extend(self._conflicts(incident_id, at))
        return out

    # -- conflict rules -----------------------------------------------------------------

    def _value_window(self, incident_id: str, start: datetime, end: datetime) -> _Values | None:
        """An incident's value posts from the first window asked for to the evaluation's
        latest time (:func:`_ahead`)."""
        return _ahead(self._values, incident_id, start, end, self._horizon,
                      lambda since, until: self.store.value_posts(incident_id, since, until))

    def _has_value_posts(self, incident_id: str, at: datetime) -> bool:
        """Whether a post gave the incident a value in the minute up to ``at`` (from the
        value posts read for this evaluation when they cover that minute)."""
        since = at - _MINUTE
        cached = self._values.get(incident_id)
        horizon = self._horizon
        if cached is None or horizon is None or at > horizon or since < cached.start:
            return self.store.has_value_posts(incident_id, since, at)
        times = cached.times
        return bisect_right(times, at.timestamp()) > bisect_right(times, since.timestamp())

    def _conflicts(self, incident_id: str, at: datetime) -> list[Alert]:
        """Apply the conflict rules to one incident at ``at``: its value posts are read
        once for all of them, over the longest window."""
        longest = max(r.window_minutes for r in self.conflict_rules)
        start, end = window_bounds(at, longest)
        values = self._value_window(incident_id, start, end)
        posts = self.store.value_posts(incident_id, start, end) if values is None else []
        rows = {(r.rule, r.question): r for r in self.store.conflict_rows(incident_id)}
        findings = self._findings_of(incident_id)
        out: list[Alert] = []
        for rule in self.conflict_rules:
            if values is None:
                since, _ = window_bounds(at, rule.window_minutes)
                found = _found(rule, [p for p in posts if p.at > since])
            else:  # the same posts in the window: the same conflicts
                since_s, end_s = self._span(at, rule.window_minutes)
                key = (id(rule), bisect_right(values.times, since_s),
                       bisect_right(values.times, end_s))
                memo = values.memo.get(key)
                if memo is None:
                    memo = values.memo[key] = _found(rule, values.posts[key[1]:key[2]])
                found = memo
            tracked = {q for (name, q), row in rows.items()
                       if name == rule.name and row.state.open_alert is not None}
            for question in sorted(set(found) | tracked):
                row = rows.get((rule.name, question))
                out.extend(self._conflict(
                    rule, incident_id, question, at, found.get(question), row, findings
                ))
        return out

    def _conflict(
        self, rule: Rule, incident_id: str, question: str, at: datetime,
        conflict: Conflict | None, row: ConflictRow | None, findings: Sequence[Finding],
    ) -> list[Alert]:
        state = row.state if row is not None else None
        settled = settling_finding(question, findings, at)
        sides = conflict.sides if conflict is not None else ()
        rate = Rate(
            at, rule.window_minutes, sum(s.posts for s in sides),
            len({a for s in sides for a in s.sources}), 0, 0,
        )
        m = Measure(rate, 0.0, float(len(sides)), conflict is not None)
        new_state, event = decide(rule, state, m, settled is None, at, self.new_id)
        if new_state is not None and (new_state != state or conflict is not None):
            self.store.save_conflict_state(
                rule.name, incident_id, question, new_state,
                None if conflict is None else conflict.as_dict(),
            )
            if new_state.open_alert is not None and self._open is not None:
                self._open.add(incident_id)
            else:
                self._open = None  # re-read: another question may still hold it open
        if event is None:
            return []
        shown = conflict
        if shown is None and row is not None and row.conflict is not None:
            shown = Conflict.from_dict(row.conflict)
        if shown is None:
            return []
        previous = state.open_alert if state is not None else None
        if event is AlertEvent.RESOLVED:
            reason = self._conflict_resolution(rule, shown, settled)
        else:
            reason = conflict_reason(shown, rule.window_minutes)
        alert = self._conflict_alert(
            rule, incident_id, shown, at, m, event, new_state, previous, reason
        )
        if alert is not None:
            self.store.outbox.enqueue(alert, rule.channels or self.channels, hold=self.hold)
            return [alert]
        return []

    def _conflict_resolution(
        self, rule: Rule, conflict: Conflict, settled: Finding | None
    ) -> str:
        if settled is not None:
            who = f" ({settled.authority})" if settled.authority else ""
            return f"settled by a finding{who}: {settled.text!r}"
        return (
            f"cooled: trusted sources no longer disagree on {conflict.asks}: a side has "
            f"been silent for {rule.window_minutes:g} minutes plus "
            f"{rule.resolve_after.total_seconds() / 60:g} (last seen: "
            f"{' / '.join(conflict.values)})"
        )

    def _conflict_alert(
        self, rule: Rule, incident_id: str, conflict: Conflict, at: datetime, m: Measure,
        event: AlertEvent, state: RuleState | None, previous: str | None, reason: str,
    ) -> Alert | None:
        """The alert event of a conflict, shown on the leading side's narrative."""
        nid: int | None = None
        for side in conflict.sides:
            for candidate in side.narratives:
                nid = self.store.resolve_narrative(candidate)
                if nid is not None:
                    break
            if nid is not None:
                break
        if nid is None:
            return None
        found = self.store.narrative_summaries(ids=[nid])
        if not found:
            return None
        narrative = found[0]
        incident = self.store.incident(incident_id)
        first = self.store.first_post(nid)
        started = incident.started_at if incident else narrative.first_seen
        raised_id = state.open_alert if state is not None else None
        actors: tuple[str, ...] = ()
        if conflict.question == IDENTITY:
            actors = tuple(sorted({a for s in conflict.sides for a in s.value.split(", ")}))
        return Alert(
            alert_id=raised_id if event is AlertEvent.RAISED and raised_id else self.new_id(),
            event=event, rule=rule.name, incident_id=incident_id,
            incident_title=incident.title if incident else incident_id,
            narrative_id=nid, label=conflict_label(conflict),
            kind=conflict_kind(conflict.question), actors=actors, status=narrative.status,
            severity=state.severity if (state and event is AlertEvent.RESOLVED)
            else rule.severity(m.ratio),
            at=at, spread_rate=m.rate.per_minute, verified_rate=0.0, ratio=m.ratio,
            posts=m.rate.posts, authors=m.rate.authors, reach=0,
            window_minutes=rule.window_minutes,
            first_seen=min(s.first_post for s in conflict.sides),
            minutes_since_incident=(at - started).total_seconds() / 60,
            first_post=first,
            samples=tuple(self.store.sample_claims(nid)), reason=reason,
            follows=None if event is AlertEvent.RAISED else previous,
            conflict=conflict,
        )

    def _at(self, nid: int, at: datetime, rules: Sequence[Rule] | None = None) -> list[Alert]:
        """Apply the rules (all, or those given) to one narrative at ``at``: its head, its
        rule states and its window's posts are read once for all of them."""
        head = self._head(nid)
        if head is None:
            return []
        incident_id, kind, status = head
        status = self._status_at(incident_id, kind, status, at)
        states = self._rule_states(nid)
        todo = [
            r for r in (self.rules if rules is None else rules)
            if r.watches(kind, status)
            or (states.get(r.name) is not None and states[r.name].open_alert is not None)
        ]
        if not todo:
            return []
        longest = max(r.window_minutes for r in todo)
        start, end = window_bounds(at, longest)
        window = self._window(nid, start, end)
        posts = self.store.window_posts(nid, start, end) if window is None else []
        out: list[Alert] = []
        for rule in todo:
            out.extend(self._apply(rule, nid, at, incident_id, kind, status,
                                   states.get(rule.name), posts, window))
        return out

    def _apply(
        self, rule: Rule, nid: int, at: datetime, incident_id: str, kind: ClaimKind,
        status: Status, state: RuleState | None, posts: Sequence[Sample],
        window: _Window | None = None,
    ) -> list[Alert]:
        watched = rule.watches(kind, status)
        m = self._measure(rule, incident_id, kind, at, posts, window)
        new_state, event = decide(rule, state, m, watched, at, self.new_id)
        if new_state is not None and new_state is not state and new_state != state:
            self._save_state(rule.name, nid, incident_id, new_state)
        if event is None:
            return []
        if m.rate.at != at:  # a measure kept from an earlier time
            m = _moved(m, at)
        previous = state.open_alert if state is not None else None
        alert = self._alert(rule, nid, at, m, event, new_state, previous, status)
        channels = rule.channels or self.channels
        self.store.outbox.enqueue(alert, channels, hold=self.hold)
        return [alert]

    def _findings_of(self, incident_id: str) -> list[Finding]:
        if incident_id not in self._findings:
            self._findings[incident_id] = [f for f, _ in self.store.findings(incident_id)]
        return self._findings[incident_id]

    def _status_at(
        self, incident_id: str, kind: ClaimKind, status: Status, at: datetime
    ) -> Status:
        """A narrative's status as it stood at ``at``: one decided by findings all later
        than ``at`` was still speculative then (a batch may hold posts from before and
        after the finding)."""
        if status not in (Status.CONFIRMED, Status.CONTRADICTED):
            return status
        times = [f.at for f in self._findings_of(incident_id) if f.kind is kind]
        return Status.SPECULATIVE if times and at < min(times) else status

    def _measure(
        self, rule: Rule, incident_id: str, kind: ClaimKind, at: datetime,
        posts: Sequence[Sample], window: _Window | None = None,
    ) -> Measure:
        """``rule`` on a narrative at ``at``: on ``posts`` (those of its longest rule
        window), or on the ``window`` read for the evaluation when given. From a window,
        the measure may be one kept from an earlier time with the same posts in the rule's
        window and the same verified count: the same figures, but its rate's ``at`` is
        that earlier time (:func:`_moved` gives it the time)."""
        question = kind if rule.verified_scope == "question" else None
        key = (incident_id, question)
        times = self._verified_times.get(key)
        if times is None:  # once per evaluation, then bisect
            times = self._verified_times[key] = [
                t.timestamp() for t in self.store.verified_times(incident_id, question)
            ]
        start_s, end_s = self._span(at, rule.window_minutes)
        verified = bisect_right(times, end_s) - bisect_right(times, start_s)
        if window is None:
            return measure(rule, narrative_rate(posts, at, rule.window_minutes,
                                                rule.stance_weight), verified)
        lo = bisect_right(window.times, start_s)
        hi = bisect_right(window.times, end_s)
        memo_key = (id(rule), lo, hi, verified)
        m = window.memo.get(memo_key)
        if m is None:
            m = measure(rule, narrative_rate(window.posts[lo:hi], at, rule.window_minutes,
                                             rule.stance_weight), verified)
            window.memo[memo_key] = m
        return m

    def _alert(
        self, rule: Rule, nid: int, at: datetime, m: Measure, event: AlertEvent,
        state: RuleState | None, previous: str | None, status: Status, *,
        shown_id: int | None = None, reason: str | None = None,
    ) -> Alert:
        """The alert event on narrative ``nid`` (reported as ``shown_id`` when given: a
        narrative merged into ``nid``), with its reason (``reason`` when given)."""
        narrative = self.store.narrative_summaries(ids=[nid])[0]
        incident = self.store.incident(narrative.incident_id)
        first = self.store.first_post(nid)
        if reason is not None:
            follows, severity = previous, rule.severity(m.ratio)
        elif event is AlertEvent.RESOLVED:
            reason = self._resolution(rule, narrative.incident_id, narrative.kind, status, m)
            follows, severity = previous, state.severity if state else rule.severity(m.ratio)
        else:
            reason = spread_reason(rule, narrative.kind, m)
            follows = previous if event is AlertEvent.ESCALATED else None
            severity = rule.severity(m.ratio)
        started = incident.started_at if incident else narrative.first_seen
        raised_id = state.open_alert if state is not None else None
        return Alert(
            alert_id=raised_id if event is AlertEvent.RAISED and raised_id else self.new_id(),
            event=event, rule=rule.name,
            incident_id=narrative.incident_id,
            incident_title=incident.title if incident else narrative.incident_id,
            narrative_id=nid if shown_id is None else shown_id, label=narrative.label,
            kind=narrative.kind,
            actors=narrative.actors, status=narrative.status, severity=severity, at=at,
            spread_rate=m.rate.per_minute, verified_rate=m.verified_rate, ratio=m.ratio,
            posts=m.rate.posts, authors=m.rate.authors, reach=m.rate.reach,
            window_minutes=rule.window_minutes, first_seen=narrative.first_seen,
            minutes_since_incident=(at - started).total_seconds() / 60,
            first_post=first,
            samples=tuple(self.store.sample_claims(nid)), reason=reason, follows=follows,
        )

    def _resolution(
        self, rule: Rule, incident_id: str, kind: ClaimKind, status: Status, m: Measure
    ) -> str:
        if status in rule.statuses:
            return (
                f"cooled: below the rule for {rule.resolve_after.total_seconds() / 60:g} "
                f"minutes (now {m.rate.per_minute:.2f}/min, {m.rate.posts} posts in the window)"
            )
        findings = [f for f in self._findings_of(incident_id) if f.kind is kind]
        said = f": {findings[-1].text!r}" if findings else ""
        if status is Status.CONFIRMED:
            return f"confirmed by a finding{said}"
        if status is Status.CONTRADICTED:
            return f"contradicted by a finding{said}"
        return f"the narrative is now {status.value}"


def _found(rule: Rule, posts: Sequence[ValuePost]) -> dict[str, Conflict]:
    """The conflicts ``rule`` finds among an incident's value posts of its window."""
    return find_conflicts(
        posts, rule.window_minutes, min_posts=rule.min_posts, min_authors=rule.min_authors,
        min_sides=math.ceil(rule.ratio - _EPSILON),
    )


def _moved(m: Measure, at: datetime) -> Measure:
    """``m`` measured at ``at`` instead (the same counts)."""
    return replace(m, rate=replace(m.rate, at=at))


@dataclass(slots=True)
class _Ahead(Generic[P, M]):
    """Posts read once for one evaluation, from ``start`` (exclusive) to its horizon: a
    narrative's (measures kept by rule, window's first and past-last index, verified
    posts) or an incident's value posts (conflicts kept by rule, first and past-last
    index). Rules are keyed by id: they outlive it."""

    start: datetime
    times: list[float]  # the posts' epoch seconds
    posts: list[P]
    memo: dict[tuple[int, ...], M] = field(default_factory=dict)


def _ahead(
    cache: dict[K, _Ahead[P, M]], key: K, start: datetime, end: datetime,
    horizon: datetime | None, read: Callable[[datetime, datetime], list[P]],
) -> _Ahead[P, M] | None:
    """The posts of ``key`` from the first window asked for (``start``) to the evaluation's
    ``horizon``, read by ``read(start, horizon)`` once per evaluation (again only for an
    earlier start); None past the horizon."""
    if horizon is None or end > horizon:
        return None
    cached = cache.get(key)
    if cached is None or start < cached.start:
        posts = read(start, horizon)
        cached = cache[key] = _Ahead(start, [p.at.timestamp() for p in posts], posts)
    return cached


_Window = _Ahead[Sample, Measure]  # a narrative's posts, measures kept
_Values = _Ahead[ValuePost, dict[str, Conflict]]  # an incident's value posts, conflicts kept


def _next_minute(at: datetime) -> datetime:
    """The first whole minute strictly after ``at``."""
    floor = at.replace(second=0, microsecond=0)
    return floor + _MINUTE
