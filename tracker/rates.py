"""Spread rates in event time: pure functions of the posts and the time they are given.

A narrative's rate at time ``at`` over a window ``w`` counts the posts that joined it with
``at - w < created_at <= at`` (event time, UTC): posts per minute (reposts count, they are
the spread), distinct authors (posts without an author count as one together), and reach
(the sum of the authors' follower counts where known, each author once). The verified
rate is the same count of official and verified posts linked to the incident. Nothing
here reads a clock: a replay of yesterday's posts gives the rates the live run saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Rate", "Sample", "narrative_rate", "per_minute", "window_bounds"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One post in a narrative: when (UTC), by whom, the author's followers (0 when
    unknown), and whether it is verified reporting (an official or verified author, or a
    repost of one)."""

    at: datetime
    author: str | None
    followers: int = 0
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Rate:
    """Counts in one window of ``window_minutes`` ending at ``at``."""

    at: datetime
    window_minutes: float
    posts: int
    authors: int
    reach: int
    verified_posts: int

    @property
    def per_minute(self) -> float:
        """Posts per minute."""
        return per_minute(self.posts, self.window_minutes)

    @property
    def verified_share(self) -> float:
        """Share of the window's posts that are verified reporting, in [0, 1]."""
        return self.verified_posts / self.posts if self.posts else 0.0


def per_minute(count: int, window_minutes: float) -> float:
    """``count`` posts over a window of ``window_minutes``, as posts per minute."""
    return count / window_minutes if window_minutes > 0 else 0.0


def window_bounds(at: datetime, window_minutes: float) -> tuple[datetime, datetime]:
    """The window ``(start, end]`` ending at ``at``."""
    return at - timedelta(minutes=window_minutes), at


def narrative_rate(samples: Iterable[Sample], at: datetime, window_minutes: float) -> Rate:
    """The rate at ``at`` from the samples inside ``(at - window, at]``; others are ignored."""
    start, end = window_bounds(at, window_minutes)
    posts = verified = 0
    followers: dict[str, int] = {}
    anonymous = 0
    for s in samples:
        if not start < s.at <= end:
            continue
        posts += 1
        verified += s.verified
        if s.author is None:
            anonymous += 1
        else:
            followers[s.author] = max(followers.get(s.author, 0), s.followers)
    return Rate(
        at=at, window_minutes=window_minutes, posts=posts,
        authors=len(followers) + (1 if anonymous else 0), reach=sum(followers.values()),
        verified_posts=verified,
    )
