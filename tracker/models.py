"""The nouns claimwatch works with, as plain frozen data.

Times are timezone-aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Claim", "Post", "QueryHit", "Tier"]


class Tier(enum.StrEnum):
    """How much a post's author is trusted."""

    OFFICIAL = "official"
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


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
