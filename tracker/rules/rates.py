"""Spread rates in event time: pure functions of the posts and the time they are given.

A narrative's rate at time ``at`` over a window ``w`` counts the posts that joined it with
``at - w < created_at <= at`` (event time, UTC): posts per minute (reposts and replies
count, they are the spread; a reply that denies or questions it can count extra), distinct
authors (posts without an author count as one together), reach (the sum of the authors'
follower counts where known, each author once), and the stances of its replies. The
verified rate is the same count of verified reporting on the narrative's question.
Nothing here reads a clock: a replay of yesterday's posts gives the rates the live run saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from tracker.models import Sample, Stance

__all__ = ["Rate", "Sample", "narrative_rate", "per_minute", "window_bounds"]


@dataclass(frozen=True, slots=True)
class Rate:
    """Counts in one window of ``window_minutes`` ending at ``at``. The rate counts
    ``posts`` plus ``extra``: the rule's ``stance_weight`` for each reply that denies or
    queries."""

    at: datetime
    window_minutes: float
    posts: int
    authors: int
    reach: int
    verified_posts: int
    replies: int = 0
    reposts: int = 0
    denials: int = 0
    queries: int = 0
    supports: int = 0
    extra: float = 0.0

    @property
    def per_minute(self) -> float:
        """Posts per minute (denials and questions weighted)."""
        return per_minute(self.posts + self.extra, self.window_minutes)

    @property
    def verified_share(self) -> float:
        """Share of the window's posts that are verified reporting, in [0, 1]."""
        return self.verified_posts / self.posts if self.posts else 0.0


def per_minute(count: float, window_minutes: float) -> float:
    """``count`` posts over a window of ``window_minutes``, as posts per minute."""
    return count / window_minutes if window_minutes > 0 else 0.0


@lru_cache(maxsize=64)
def _span(window_minutes: float) -> timedelta:
    return timedelta(minutes=window_minutes)


def window_bounds(at: datetime, window_minutes: float) -> tuple[datetime, datetime]:
    """The window ``(start, end]`` ending at ``at``."""
    return at - _span(window_minutes), at


_NO_STANCES = dict.fromkeys(Stance, 0)


def narrative_rate(
    samples: Iterable[Sample], at: datetime, window_minutes: float, stance_weight: float = 0.0
) -> Rate:
    """The rate at ``at`` from the samples inside ``(at - window, at]``; others are ignored."""
    start, end = window_bounds(at, window_minutes)
    posts = verified = replies = reposts = 0
    stances = _NO_STANCES.copy()
    followers: dict[str, int] = {}
    anonymous = 0
    for s in samples:  # called for every narrative at every tick: kept lean
        if not start < s.at <= end:
            continue
        posts += 1
        verified += s.verified
        role = s.role
        if role == "reply":
            replies += 1
            if s.stance is not None:
                stances[s.stance] += 1
        elif role == "repost":
            reposts += 1
        author = s.author
        if author is None:
            anonymous += 1
        else:
            known = followers.get(author, 0)
            followers[author] = known if known >= s.followers else s.followers
    contested = stances[Stance.DENY] + stances[Stance.QUERY]
    return Rate(
        at=at, window_minutes=window_minutes, posts=posts,
        authors=len(followers) + (1 if anonymous else 0), reach=sum(followers.values()),
        verified_posts=verified, replies=replies, reposts=reposts,
        denials=stances[Stance.DENY], queries=stances[Stance.QUERY],
        supports=stances[Stance.SUPPORT], extra=stance_weight * contested,
    )
