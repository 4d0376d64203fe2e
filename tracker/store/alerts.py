"""What alert rules read and keep: narrative posts in a window, verified posts of an
incident, the state of each rule on each narrative; for conflict rules, the claims giving
values in a window and the state of each rule on each question of an incident."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracker.models import AlertEvent, ClaimKind, Sample, Stance, Status, Tier
from tracker.store.base import Tables, chunks, dt, ts

__all__ = ["AlertTables", "ConflictRow", "RuleState", "ValuePost"]


@dataclass(frozen=True, slots=True)
class RuleState:
    """Where one rule stands on one narrative. ``open_alert`` is the id of the raised
    alert not yet resolved; ``last_at`` (event time) and ``last_rate`` (posts per minute)
    are those of the last event; ``below_since`` is when the rule stopped holding while
    the alert is open."""

    open_alert: str | None
    last_event: AlertEvent
    last_at: datetime
    last_rate: float
    severity: str
    below_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ValuePost:
    """A claim in an incident's live narratives that gives values to questions (or, an
    attribution, names who did it), with its post: what conflict rules compare."""

    claim_id: int
    narrative_id: int
    source: str
    ext_id: str
    author: str | None
    tier: Tier
    at: datetime
    values: tuple[dict[str, Any], ...]  # tracker.claims.values.Value data
    actors: tuple[str, ...]  # an unnegated attribution's actors and candidates, else ()


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """One conflict rule's state on one question of an incident, with the conflict as
    last seen (``Conflict.as_dict`` data, None before any)."""

    rule: str
    incident_id: str
    question: str
    state: RuleState
    conflict: dict[str, Any] | None


# What value_posts and has_value_posts read (incident id, start, end): claims giving
# values or naming actors, in the incident's live narratives, posted in the window. The
# plan must start from the window's posts (the time index of posts) and look their claims
# up by index, not walk every claim of the incident through narrative_claims' key (a cost
# that grows with the incident; what PostgreSQL's planner picks while the statistics of a
# filling database lag behind it). On SQLite the CROSS JOINs fix that order. PostgreSQL
# has no CROSS JOIN ... ON: there a LATERAL subquery that cannot be flattened (OFFSET 0)
# reads each post's claims by the post's id, and a scalar subquery each claim's narrative
# by narrative_claims' key (one row at most: the key is (incident, claim)).
_VALUE_CLAIMS = (
    "(c.vals IS NOT NULL OR "
    "(c.kind = 'attribution' AND c.negated = 0 AND (c.actors != '[]' OR c.candidates != '[]')))"
)
_VALUE_POSTS_SQLITE = (
    "SELECT {columns} FROM posts p CROSS JOIN claims c ON c.post_id = p.id "
    "CROSS JOIN narrative_claims nc ON nc.claim_id = c.id AND nc.incident_id = ? "
    "JOIN narratives n ON n.id = nc.narrative_id AND n.merged_into IS NULL "
    "WHERE p.created_at > ? AND p.created_at <= ? AND " + _VALUE_CLAIMS + " {tail}"
)
_VALUE_POSTS_POSTGRES = (
    "SELECT {columns} FROM posts p CROSS JOIN LATERAL ("
    "SELECT c.id, c.vals, c.kind, c.negated, c.actors, c.candidates, "
    "(SELECT nc.narrative_id FROM narrative_claims nc "
    "JOIN narratives n ON n.id = nc.narrative_id AND n.merged_into IS NULL "
    "WHERE nc.incident_id = ? AND nc.claim_id = c.id) AS narrative_id "
    "FROM claims c WHERE c.post_id = p.id AND " + _VALUE_CLAIMS + " OFFSET 0) c "
    "WHERE p.created_at > ? AND p.created_at <= ? AND c.narrative_id IS NOT NULL {tail}"
)
_VALUE_COLUMNS = (
    "c.id, {nc}.narrative_id, p.source, p.ext_id, p.author, p.tier, p.created_at, "
    "c.vals, c.kind, c.negated, c.actors, c.candidates"
)


class AlertTables(Tables):
    """Rates' inputs and rule states."""

    def window_posts(self, narrative_id: int, start: datetime, end: datetime) -> list[Sample]:
        """The posts of a live narrative with ``start < created_at <= end``."""
        rows = self._all(
            "SELECT np.at, p.author, p.metrics, "
            "np.confirmed, np.role, np.stance "
            "FROM narrative_posts np JOIN posts p ON p.id = np.post_id "
            "WHERE np.narrative_id = ? AND np.at > ? AND np.at <= ? ORDER BY np.at",
            (narrative_id, ts(start), ts(end)),
        )
        return [
            Sample(dt(r[0]), r[1], _followers(r[2]), bool(r[3]), r[4],
                   Stance(r[5]) if r[5] else None)
            for r in rows
        ]

    def join_times(
        self, spans: Sequence[tuple[int, datetime, datetime]]
    ) -> dict[int, list[datetime]]:
        """The distinct times posts joined narratives, each with ``start < at < end`` for
        its (narrative id, start, end), in order, by narrative id (one query per few
        hundred spans, on the index of narrative_posts by narrative and time)."""
        found: dict[int, set[float]] = {}
        for part in chunks(list(spans), 300):
            where = " OR ".join(["(narrative_id = ? AND at > ? AND at < ?)"] * len(part))
            params: list[Any] = []
            for nid, start, end in part:
                params.extend((nid, ts(start), ts(end)))
            for nid, at in self._all(
                f"SELECT DISTINCT narrative_id, at FROM narrative_posts WHERE {where}", params
            ):
                found.setdefault(nid, set()).add(at)
        return {nid: sorted(dt(at) for at in times) for nid, times in found.items()}

    def verified_times(self, incident_id: str, kind: ClaimKind | None = None) -> list[datetime]:
        """Times of the verified reporting in an incident's narratives (of one kind: the
        same question, when given), in order; a post counts once."""
        sql = (
            "SELECT DISTINCT np.post_id, np.at FROM narrative_posts np "
            "JOIN narratives n ON n.id = np.narrative_id "
            "WHERE np.confirmed = 1 AND n.incident_id = ? AND n.merged_into IS NULL"
        )
        params: list[Any] = [incident_id]
        if kind is not None:
            sql += " AND n.kind = ?"
            params.append(kind.value)
        rows = self._all(sql, params)
        return sorted(dt(r[1]) for r in rows)

    def rule_states_of(self, narrative_id: int) -> dict[str, RuleState]:
        """Every rule's state on one narrative, by rule name."""
        rows = self._all(
            "SELECT rule, open_alert, last_event, last_at, last_rate, severity, below_since "
            "FROM rule_states WHERE narrative_id = ?",
            (narrative_id,),
        )
        return {r[0]: _state(r[1:]) for r in rows}

    def save_rule_state(
        self, rule: str, narrative_id: int, incident_id: str, state: RuleState
    ) -> None:
        self._run(
            "INSERT INTO rule_states (rule, narrative_id, incident_id, open_alert, last_event, "
            "last_at, last_rate, severity, below_since) VALUES (?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (rule, narrative_id) DO UPDATE SET open_alert = excluded.open_alert, "
            "last_event = excluded.last_event, last_at = excluded.last_at, "
            "last_rate = excluded.last_rate, severity = excluded.severity, "
            "below_since = excluded.below_since",
            (rule, narrative_id, incident_id, state.open_alert, state.last_event.value,
             ts(state.last_at), state.last_rate, state.severity,
             ts(state.below_since) if state.below_since else None),
        )

    def open_rule_states(self) -> list[tuple[str, int, str, RuleState]]:
        """(rule, narrative id, incident id, state) of every open alert."""
        rows = self._all(
            "SELECT rule, narrative_id, incident_id, open_alert, last_event, last_at, "
            "last_rate, severity, below_since FROM rule_states WHERE open_alert IS NOT NULL "
            "ORDER BY narrative_id, rule"
        )
        return [(r[0], r[1], r[2], _state(r[3:])) for r in rows]

    def narrative_heads(self, ids: Sequence[int]) -> dict[int, tuple[str, ClaimKind, Status]]:
        """(incident id, kind, status) of live narratives, by id; merged ones are absent."""
        out: dict[int, tuple[str, ClaimKind, Status]] = {}
        for part in chunks(list(ids)):
            rows = self._all(
                "SELECT id, incident_id, kind, status FROM narratives "
                f"WHERE merged_into IS NULL AND id IN ({','.join('?' * len(part))})",
                part,
            )
            out.update({r[0]: (r[1], ClaimKind(r[2]), Status(r[3])) for r in rows})
        return out

    def narrative_members(self, narrative_id: int, until: datetime) -> list[tuple[str, str]]:
        """(source, id) of the posts in a live narrative created at or before ``until``."""
        rows = self._all(
            "SELECT p.source, p.ext_id FROM narrative_posts np JOIN posts p ON p.id = np.post_id "
            "WHERE np.narrative_id = ? AND np.at <= ?",
            (narrative_id, ts(until)),
        )
        return [(r[0], r[1]) for r in rows]

    def sample_claims(self, narrative_id: int, limit: int = 3) -> list[str]:
        """Up to ``limit`` distinct claim texts of a narrative, earliest first, from
        different authors where possible."""
        rows = self._all(
            "SELECT c.text, p.author FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
            "JOIN posts p ON p.id = c.post_id WHERE nc.narrative_id = ? "
            "ORDER BY p.created_at, c.id LIMIT 200",
            (narrative_id,),
        )
        texts: list[str] = []
        authors: set[str | None] = set()
        for text, author in rows:
            if text not in texts and author not in authors:
                texts.append(text)
                authors.add(author)
            if len(texts) == limit:
                return texts
        for text, _ in rows:
            if text not in texts:
                texts.append(text)
            if len(texts) == limit:
                break
        return texts

    # -- conflict rules -------------------------------------------------------------------

    def _value_posts(self, rows: bool) -> str:
        """The value posts query on this engine: its rows in time order, or (not ``rows``)
        whether there is one. Parameters: incident id, start, end."""
        sql = _VALUE_POSTS_SQLITE if self.dialect == "sqlite" else _VALUE_POSTS_POSTGRES
        if not rows:
            return sql.format(columns="1", tail="LIMIT 1")
        columns = _VALUE_COLUMNS.format(nc="nc" if self.dialect == "sqlite" else "c")
        return sql.format(columns=columns, tail="ORDER BY p.created_at, c.id")

    def value_posts(self, incident_id: str, start: datetime, end: datetime) -> list[ValuePost]:
        """Claims of the incident's live narratives posted with ``start < time <= end``
        that give values, or are unnegated attributions naming actors; in time order."""
        rows = self._all(self._value_posts(True), (incident_id, ts(start), ts(end)))
        out: list[ValuePost] = []
        for r in rows:
            named: tuple[str, ...] = ()
            if r[8] == ClaimKind.ATTRIBUTION.value and not r[9]:
                named = tuple(sorted({*json.loads(r[10]), *json.loads(r[11])}))
            out.append(ValuePost(
                r[0], r[1], r[2], r[3], r[4], Tier(r[5] or "unverified"), dt(r[6]),
                tuple(json.loads(r[7])) if r[7] else (), named,
            ))
        return out

    def has_value_posts(self, incident_id: str, start: datetime, end: datetime) -> bool:
        """Whether :meth:`value_posts` would find anything (cheap: the first row only)."""
        row = self._one(self._value_posts(False), (incident_id, ts(start), ts(end)))
        return row is not None

    def conflict_rows(self, incident_id: str | None = None) -> list[ConflictRow]:
        """Conflict rule states (of one incident, or all), by rule, incident, question."""
        sql = (
            "SELECT rule, incident_id, question, open_alert, last_event, last_at, last_rate, "
            "severity, below_since, conflict FROM conflict_states"
        )
        params: tuple[Any, ...] = ()
        if incident_id is not None:
            sql += " WHERE incident_id = ?"
            params = (incident_id,)
        rows = self._all(sql + " ORDER BY rule, incident_id, question", params)
        return [
            ConflictRow(r[0], r[1], r[2], _state(r[3:9]), json.loads(r[9]) if r[9] else None)
            for r in rows
        ]

    def open_conflict_incidents(self) -> list[str]:
        """Incidents with an open conflict alert."""
        rows = self._all(
            "SELECT DISTINCT incident_id FROM conflict_states WHERE open_alert IS NOT NULL "
            "ORDER BY incident_id"
        )
        return [r[0] for r in rows]

    def save_conflict_state(
        self, rule: str, incident_id: str, question: str, state: RuleState,
        conflict: dict[str, Any] | None,
    ) -> None:
        self._run(
            "INSERT INTO conflict_states (rule, incident_id, question, open_alert, last_event, "
            "last_at, last_rate, severity, below_since, conflict) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (rule, incident_id, question) DO UPDATE SET "
            "open_alert = excluded.open_alert, last_event = excluded.last_event, "
            "last_at = excluded.last_at, last_rate = excluded.last_rate, "
            "severity = excluded.severity, below_since = excluded.below_since, "
            "conflict = coalesce(excluded.conflict, conflict_states.conflict)",
            (rule, incident_id, question, state.open_alert, state.last_event.value,
             ts(state.last_at), state.last_rate, state.severity,
             ts(state.below_since) if state.below_since else None,
             json.dumps(conflict) if conflict is not None else None),
        )


def _followers(metrics: str) -> int:
    """The ``followers`` a post's metrics JSON reports, as SQLite's ``json_extract`` read
    it before (a number, truncated; 0 when absent or not a number)."""
    try:
        value = json.loads(metrics).get("followers") if metrics else None
        return int(value) if isinstance(value, int | float) else 0
    except (ValueError, AttributeError, OverflowError):  # not an object; inf or nan
        return 0


def _state(row: Sequence[Any]) -> RuleState:
    return RuleState(
        open_alert=row[0], last_event=AlertEvent(row[1]), last_at=dt(row[2]),
        last_rate=float(row[3]), severity=row[4],
        below_since=dt(row[5]) if row[5] is not None else None,
    )
