"""Tiers: how much a post's author is trusted, from the post itself or configured lists."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tracker.config.settings import TierSettings
from tracker.models import Post, Tier

__all__ = ["TierResolver"]


# A manual retweet or quote at the start ("RT @AP: ...", "“@BBCBreaking: ...") or a
# credit ("... via @Reuters", "@nytimes reports"): the post relays that account's reporting.
_RELAYS = (
    re.compile(r"^\W{0,3}RT\W{0,3}@(\w{1,30})", re.IGNORECASE),
    re.compile(r"^\W{0,3}@(\w{1,30})\s*:"),
    re.compile(r"\b(?:via|h/t)\s+@(\w{1,30})", re.IGNORECASE),
    re.compile(r"@(\w{1,30})\s+(?:reports|is reporting|says|confirms)\b", re.IGNORECASE),
)


def _handle(value: str) -> str:
    return value.strip().lstrip("@").casefold()


def _domain(value: str) -> str:
    value = value.strip().casefold()
    host = urlsplit(value).hostname if "//" in value else value.split("/")[0]
    return (host or "").removeprefix("www.")


class TierResolver:
    """A post's explicit ``tier`` wins; then the configured handles and domains (official
    before verified); otherwise ``unverified``."""

    def __init__(self, settings: TierSettings) -> None:
        self._authors = {
            **{_handle(h): Tier.VERIFIED for h in settings.verified_authors},
            **{_handle(h): Tier.OFFICIAL for h in settings.official_authors},
        }
        self._domains = {
            **{_domain(d): Tier.VERIFIED for d in settings.verified_domains},
            **{_domain(d): Tier.OFFICIAL for d in settings.official_domains},
        }

    def _by_domain(self, url: str) -> Tier | None:
        host = _domain(url)
        while host:
            if host in self._domains:
                return self._domains[host]
            _, dot, host = host.partition(".")
            if not dot:
                break
        return None

    def tier_of(self, post: Post) -> Tier:
        if post.tier is not None:
            return post.tier
        if post.author and _handle(post.author) in self._authors:
            return self._authors[_handle(post.author)]
        if post.url:
            found = self._by_domain(post.url)
            if found is not None:
                return found
        return Tier.UNVERIFIED

    def relayed(self, text: str) -> Tier | None:
        """The tier of the account a post's text relays (a manual retweet or quote of it
        at the start, or a "via @handle" / "@handle reports" credit), when that account is official
        or verified; None otherwise."""
        for pattern in _RELAYS:
            for match in pattern.finditer(text):
                tier = self._authors.get(_handle(match.group(1)))
                if tier is not None:
                    return tier
        return None
