"""The nouns claimwatch works with, as plain frozen data.

Times are timezone-aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

import numpy as np

_UTC_Z = "+00:00"

__all__ = [
    "Alert",
    "AlertEvent",
    "Claim",
    "ClaimKind",
    "Conflict",
    "ConflictSide",
    "Finding",
    "FindingStatus",
    "Incident",
    "Narrative",
    "Post",
    "Provenance",
    "QueryHit",
    "Sample",
    "Stance",
    "Status",
    "Tier",
    "Value",
    "format_number",
    "iso",
]


class Tier(enum.StrEnum):
    """How much a post's author is trusted."""

    OFFICIAL = "official"
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


class ClaimKind(enum.StrEnum):
    """What a claim asserts."""

    ATTRIBUTION = "attribution"  # who is responsible
    CASUALTY = "casualty"  # how many were hurt or killed
    METHOD = "method"  # how it was done
    OTHER = "other"


class Status(enum.StrEnum):
    """Where a narrative stands against what authorities have established."""

    REPORT = "report"  # a plain event report by trusted sources, unhedged: no open question
    SPECULATIVE = "speculative"  # on an open question, first seen before any finding on it
    UNCONFIRMED = "unconfirmed"  # findings of its kind exist, none decides it
    CONFIRMED = "confirmed"  # a finding agrees
    CONTRADICTED = "contradicted"  # a finding disagrees or rules it out


class Stance(enum.StrEnum):
    """What a reply does to the post it answers (RumourEval's four classes)."""

    SUPPORT = "support"  # agrees, repeats, adds evidence
    DENY = "deny"  # says it is false
    QUERY = "query"  # asks for evidence or whether it is true
    COMMENT = "comment"  # anything else


class FindingStatus(enum.StrEnum):
    """What a finding says of the actors (or the text) it names."""

    CONFIRMED = "confirmed"
    RULED_OUT = "ruled_out"
    PENDING = "pending"  # e.g. "no group has claimed responsibility", "investigation ongoing"


@dataclass(frozen=True, slots=True)
class Incident:
    """What the analyst tracks. Posts between ``started_at`` and the end of the window
    (``window_hours`` later, or ``closed_at`` if earlier) are candidates for linking."""

    id: str
    title: str
    started_at: datetime
    description: str = ""
    terms: tuple[str, ...] = ()
    location: str | None = None
    window_hours: float = 72.0
    closed_at: datetime | None = None
    origin: str = "cli"

    @property
    def ends_at(self) -> datetime:
        from datetime import timedelta

        end = self.started_at + timedelta(hours=self.window_hours)
        return min(end, self.closed_at) if self.closed_at else end

    def covers(self, when: datetime) -> bool:
        return self.started_at <= when <= self.ends_at


@dataclass(frozen=True, slots=True)
class Finding:
    """What an authority has established about an incident, from the analyst
    (``automatic`` False) or from an official-tier post (``automatic`` True)."""

    id: int
    incident_id: str
    text: str
    kind: ClaimKind
    actors: tuple[str, ...]
    status: FindingStatus
    at: datetime
    automatic: bool = False
    post_id: str | None = None
    authority: str | None = None  # the official it came from ("police", "ctd")
    author: str | None = None  # who posted it (a newsroom reporting an official's word)
    # the answers it gives to questions with comparable values (tracker.claims.values.Value
    # as_dict data: {"question": "dead", "low": 150, "high": 150}, ...)
    values: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Narrative:
    """Claims in one incident that say the same thing, with the same kind, actor set and
    negation. ``size`` counts posts (reposts included), ``authors`` distinct authors."""

    id: int
    incident_id: str
    kind: ClaimKind
    actors: tuple[str, ...]
    negated: bool
    label: str
    status: Status
    first_seen: datetime
    first_post_id: str
    size: int
    authors: int
    claims: int
    tiers: dict[str, int] = field(default_factory=dict)
    last_seen: datetime | None = None
    recent: int = 0
    candidates: tuple[str, ...] = ()  # those of ``actors`` not among the known actors
    replies: int = 0  # posts in its conversation (replies to its posts, down the thread)
    reposts: int = 0
    stances: dict[str, int] = field(default_factory=dict)  # replies by stance
    # open conflicts it takes a side in: (question, the values the sides give)
    conflicts: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def singleton(self) -> bool:
        """A single post that nobody reposted or answered: hidden from default lists."""
        return self.size <= 1

@dataclass(frozen=True, slots=True)
class Post:
    """One item from a source, normalized. Immutable once stored.

    ``source`` and ``id`` together identify it; ``text`` is NFC, HTML-free and
    whitespace-folded (it may be empty for a repost); ``created_at`` is UTC.
    ``tier`` is None when the record did not say (configuration decides later).
    ``extra`` keeps every field of the record that the post format does not name.
    """

    source: str
    id: str
    text: str
    created_at: datetime
    author: str | None = None
    tier: Tier | None = None
    url: str | None = None
    lang: str | None = None
    repost_of: str | None = None
    reply_to: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_repost(self) -> bool:
        """A repost carries no text of its own: it spreads the original's claims."""
        return self.repost_of is not None and not self.text


def format_number(x: float) -> str:
    """A count as people write it: "148", "1.5"."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


@dataclass(frozen=True, slots=True)
class Value:
    """One claim's answer to one question (a key of :data:`tracker.claims.values.QUESTIONS`).

    Numeric questions hold the closed interval [``low``, ``high``] (people; ``high`` may
    be ``math.inf``: "at least 10" is [10, inf]); "suspect" holds ``state``, one of
    "at large", "arrested", "dead"."""

    question: str
    low: float | None = None
    high: float | None = None
    state: str | None = None

    def agrees(self, other: Value) -> bool:
        """Whether the two can both be true: intervals that overlap, equal states. Values
        of different questions do not compare, so they agree."""
        if self.question != other.question:
            return True
        if self.question == "places" and self.state is not None and other.state is not None:
            return bool(set(self.state.split(" | ")) & set(other.state.split(" | ")))
        if self.state is not None or other.state is not None:
            return self.state == other.state
        if self.low is None or self.high is None or other.low is None or other.high is None:
            return True
        return self.low <= other.high and other.low <= self.high

    @property
    def exact(self) -> bool:
        """A single answer (a state, or one number), not a range."""
        return self.state is not None or (self.low is not None and self.low == self.high)

    @property
    def label(self) -> str:
        """What an analyst reads: "148", "at least 10", "142-150", "up to 150", "at
        large". [2, inf] reads "more than 1", the way reports put "several"."""
        if self.state is not None:
            return self.state
        if self.low is None or self.high is None:
            return "?"
        if self.low == self.high:
            return format_number(self.low)
        if math.isinf(self.high):
            return "more than 1" if self.low == 2 else f"at least {format_number(self.low)}"
        if self.low == 0:
            return f"up to {format_number(self.high)}"
        return f"{format_number(self.low)}-{format_number(self.high)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: an open interval stores ``high`` as None with ``"open": True``."""
        out: dict[str, Any] = {"question": self.question}
        if self.state is not None:
            out["state"] = self.state
        if self.low is not None:
            out["low"] = self.low
        if self.high is not None:
            if math.isinf(self.high):
                out["high"] = None
                out["open"] = True
            else:
                out["high"] = self.high
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Value:
        """The value :meth:`as_dict` gave."""
        high = data.get("high")
        if high is None and data.get("open"):
            high = math.inf
        low = data.get("low")
        return cls(
            str(data["question"]),
            None if low is None else float(low),
            None if high is None else float(high),
            data.get("state"),
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """One check-worthy assertion in a post (a sentence) and what was read from it; once
    stored, also its id, the hash its vector is keyed by and the vector.

    ``actors`` are canonical names of known actors (sorted), set on attribution claims
    only; ``candidate_actors`` are unknown capitalized names standing in an attribution
    phrase (sorted); ``hedge`` is 0.0 (assertive) to 1.0 (heavily hedged); ``negated``
    marks a denied or absent attribution ("no group has claimed", "TTP denied
    involvement"); ``official_voice`` marks an official speaking ("police confirmed");
    ``authority`` names the authority the claim is stated on the word of ("police",
    "CTD", "prosecutor"), None when it cites none (a newspaper or "friends say" is no
    authority: citing one is a hedge); ``values`` are the answers it gives to questions
    with comparable values (:mod:`tracker.claims.values`: "148 on board", "a lone gunman").
    """

    text: str
    kind: ClaimKind = ClaimKind.OTHER
    actors: tuple[str, ...] = ()
    candidate_actors: tuple[str, ...] = ()
    hedge: float = 0.0
    negated: bool = False
    official_voice: bool = False
    authority: str | None = None
    values: tuple[Value, ...] = ()
    id: int | None = None  # set once stored
    text_hash: str = ""  # set once stored
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Sample:
    """One post in a narrative as rates count it: when (UTC), by whom, the author's
    followers (0 when unknown), whether it is verified reporting (a confirmed claim, see
    :func:`tracker.narratives.engine.is_verified_reporting`, or a repost of one), how it
    takes part (``claim``, ``repost``, ``reply``) and a reply's stance."""

    at: datetime
    author: str | None
    followers: int = 0
    verified: bool = False
    role: str = "claim"  # claim, repost or reply
    stance: Stance | None = None


@dataclass(frozen=True, slots=True)
class QueryHit:
    """A claim found near a query text. ``score`` ranks hits (the fusion of cosine
    similarity and BM25, see :meth:`tracker.runtime.Runtime.query`); ``similarity`` is
    the cosine similarity in [-1, 1].

    ``same_text`` counts the other stored claims with exactly this text (copies and
    retweets of it), folded into this hit.
    """

    claim_id: int
    post_id: str
    source: str
    score: float
    text: str
    author: str | None
    created_at: datetime
    same_text: int = 0
    narratives: tuple[tuple[int, str, str], ...] = ()
    similarity: float = 0.0  # (narrative id, incident id, status)


class AlertEvent(enum.StrEnum):
    """What happened to an alert on a narrative."""

    RAISED = "raised"  # the rule first held
    ESCALATED = "escalated"  # the spread rate reached escalate_factor x the last alert's
    RESOLVED = "resolved"  # a finding decided the narrative, or it cooled below the rule
    TEST = "test"  # `claimwatch alerts test`


@overload
def iso(value: datetime, timespec: str = "auto") -> str: ...
@overload
def iso(value: None, timespec: str = "auto") -> None: ...
def iso(value: datetime | None, timespec: str = "auto") -> str | None:
    """ISO 8601 in UTC with a ``Z`` (None stays None): how every time is written out."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec=timespec).replace(_UTC_Z, "Z")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", _UTC_Z))


@dataclass(frozen=True, slots=True)
class Provenance:
    """The first post of a narrative: where the story started."""

    post_id: str
    source: str
    author: str | None
    tier: str | None
    url: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConflictSide:
    """One answer trusted sources give to a question in a conflict: its value as an
    analyst reads it ("148", "at least 3", "more than 1"), the trusted accounts saying it,
    every post carrying it in the window (relays too) and their times and rate, and the
    narratives those posts belong to. ``post_refs`` ((source, id) of those posts) is kept
    for scoring, not delivered."""

    value: str
    sources: tuple[str, ...]
    posts: int
    trusted_posts: int
    first_post: datetime
    latest_post: datetime
    spread_rate: float
    narratives: tuple[int, ...]
    post_refs: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value, "sources": list(self.sources), "posts": self.posts,
            "trusted_posts": self.trusted_posts, "first_post": iso(self.first_post),
            "latest_post": iso(self.latest_post), "spread_rate": round(self.spread_rate, 4),
            "narratives": list(self.narratives),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConflictSide:
        return cls(
            value=str(data["value"]), sources=tuple(data["sources"]), posts=int(data["posts"]),
            trusted_posts=int(data["trusted_posts"]), first_post=_time(data["first_post"]),
            latest_post=_time(data["latest_post"]), spread_rate=float(data["spread_rate"]),
            narratives=tuple(int(n) for n in data["narratives"]),
        )


@dataclass(frozen=True, slots=True)
class Conflict:
    """Trusted sources disagreeing on one question of an incident: ``question`` is its id
    ("aboard", "attackers", "identity"), ``asks`` how an analyst reads it ("how many
    people were on board"); ``sides`` the disagreeing answers, most posts first."""

    question: str
    asks: str
    sides: tuple[ConflictSide, ...]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(side.value for side in self.sides)

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "asks": self.asks,
            "sides": [side.as_dict() for side in self.sides],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conflict:
        return cls(
            question=str(data["question"]), asks=str(data["asks"]),
            sides=tuple(ConflictSide.from_dict(s) for s in data["sides"]),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert event on a narrative, as delivered. Rates are posts per minute over the
    last ``window_minutes`` of event time (UTC) before ``at``; ``verified_rate`` is the
    incident's official and verified posts per minute in the same window (before any floor);
    ``ratio`` is ``spread_rate`` over the floored verified rate. ``follows`` is the id of the
    alert this event follows up (the raised one), ``reason`` says why in words.

    An alert of a conflict rule (trusted sources disagreeing) carries ``conflict``: its
    question and sides. Its narrative is the leading side's; ``spread_rate`` is the
    sides' posts per minute together, ``ratio`` the number of sides, ``verified_rate`` 0.

    This is the one shape ``alerts`` imports from ``tracker``: :meth:`as_dict` is the JSON
    body webhooks receive and ``claimwatch replay --json`` prints."""

    alert_id: str
    event: AlertEvent
    rule: str
    incident_id: str
    incident_title: str
    narrative_id: int
    label: str
    kind: ClaimKind
    actors: tuple[str, ...]
    status: Status
    severity: str
    at: datetime
    spread_rate: float
    verified_rate: float
    ratio: float
    posts: int
    authors: int
    reach: int
    window_minutes: float
    first_seen: datetime
    minutes_since_incident: float
    first_post: Provenance | None = None
    samples: tuple[str, ...] = ()
    reason: str = ""
    follows: str | None = None
    conflict: Conflict | None = None  # set on alerts of conflict rules

    def as_dict(self) -> dict[str, Any]:
        """The alert as JSON-ready data (times ISO 8601 UTC, rates rounded to 4 places)."""
        first = self.first_post
        return {
            "alert_id": self.alert_id,
            "event": self.event.value,
            "rule": self.rule,
            "incident_id": self.incident_id,
            "incident_title": self.incident_title,
            "narrative_id": self.narrative_id,
            "label": self.label,
            "kind": self.kind.value,
            "actors": list(self.actors),
            "status": self.status.value,
            "severity": self.severity,
            "at": iso(self.at),
            "spread_rate": round(self.spread_rate, 4),
            "verified_rate": round(self.verified_rate, 4),
            "ratio": round(self.ratio, 4),
            "posts": self.posts,
            "authors": self.authors,
            "reach": self.reach,
            "window_minutes": self.window_minutes,
            "first_seen": iso(self.first_seen),
            "minutes_since_incident": round(self.minutes_since_incident, 2),
            "first_post": None if first is None else {
                "post_id": first.post_id, "source": first.source, "author": first.author,
                "tier": first.tier, "url": first.url, "text": first.text,
                "created_at": iso(first.created_at),
            },
            "samples": list(self.samples),
            "reason": self.reason,
            "follows": self.follows,
            "conflict": None if self.conflict is None else self.conflict.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """The inverse of :meth:`as_dict`."""
        first = data.get("first_post")
        return cls(
            alert_id=data["alert_id"], event=AlertEvent(data["event"]), rule=data["rule"],
            incident_id=data["incident_id"], incident_title=data["incident_title"],
            narrative_id=int(data["narrative_id"]), label=data["label"],
            kind=ClaimKind(data["kind"]), actors=tuple(data["actors"]),
            status=Status(data["status"]), severity=data["severity"], at=_time(data["at"]),
            spread_rate=float(data["spread_rate"]), verified_rate=float(data["verified_rate"]),
            ratio=float(data["ratio"]), posts=int(data["posts"]), authors=int(data["authors"]),
            reach=int(data["reach"]), window_minutes=float(data["window_minutes"]),
            first_seen=_time(data["first_seen"]),
            minutes_since_incident=float(data["minutes_since_incident"]),
            first_post=None if first is None else Provenance(
                post_id=first["post_id"], source=first["source"], author=first["author"],
                tier=first["tier"], url=first["url"], text=first["text"],
                created_at=_time(first["created_at"]),
            ),
            samples=tuple(data.get("samples", ())), reason=data.get("reason", ""),
            follows=data.get("follows"),
            conflict=Conflict.from_dict(data["conflict"]) if data.get("conflict") else None,
        )
