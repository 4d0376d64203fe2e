"""The nouns claimwatch works with, as plain frozen data.

Times are timezone-aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Claim",
    "ClaimKind",
    "Finding",
    "FindingStatus",
    "Incident",
    "Narrative",
    "Post",
    "QueryHit",
    "Status",
    "Tier",
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

    SPECULATIVE = "speculative"  # first seen before any finding of its kind
    UNCONFIRMED = "unconfirmed"  # findings of its kind exist, none decides it
    CONFIRMED = "confirmed"  # a finding agrees
    CONTRADICTED = "contradicted"  # a finding disagrees or rules it out


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


@dataclass(frozen=True, slots=True)
class Claim:
    """One check-worthy assertion inside a stored post (a sentence, in this cut)."""

    id: int
    post_id: int
    position: int
    text: str
    text_hash: str


@dataclass(frozen=True, slots=True)
class QueryHit:
    """A claim found near a query text. ``score`` is cosine similarity in [-1, 1].

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
    narratives: tuple[tuple[int, str, str], ...] = ()  # (narrative id, incident id, status)
