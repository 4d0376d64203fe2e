"""News articles from the GDELT DOC 2.0 API's article list, for the open incidents' terms.

Each poll asks ``{base_url}?query=Q&mode=ArtList&format=json&sort=DateDesc&maxrecords=250``
with the configured ``query``, or, when that is empty, one built from the open incidents'
terms (``terms()`` is called at every poll; with no terms the poll returns no posts). The
first poll of a query reads the last :data:`FIRST_TIMESPAN`; later ones ask from the
newest ``seendate`` seen (``startdatetime``, inclusive).

An article becomes a :class:`Post`: ``id`` and ``url`` the article's URL, ``text`` its title,
``author`` its domain, ``created_at`` its ``seendate`` (when GDELT saw it, UTC), ``lang``
the ISO code of its ``language`` (GDELT names languages in English) and ``extra``
``domain``, ``sourcecountry`` and ``language``. Its ``tier`` is the source's configured one,
else None, so ``[tiers]`` decides by the domain as for any post with a URL
(:class:`~tracker.ingest.tiers.TierResolver`: ``official_domains`` and
``verified_domains``, subdomains included). Articles are deduplicated by URL, within a
poll and against the cursor.

GDELT answers a query it cannot run with a short text (HTTP 200, ``text/html``), not JSON:
that fails the poll (transient) with GDELT's words. A 429 (GDELT asks for one request
every five seconds) is a :class:`~tracker.sources.base.RateLimitError`.

The cursor is ``{"seendate": "20241120T101500Z", "query": the query it was for, "seen":
[url, ...]}``, ``seen`` the latest :data:`SEEN_LIMIT` URLs. When the query changes (an
incident opened or closed) the seendate is dropped and the next poll reads the last
:data:`FIRST_TIMESPAN` of the new query.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from tracker.errors import SourceError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier
from tracker.sources.base import HttpSource, Poll, any_of_terms, display_url, with_timeout

__all__ = [
    "DEFAULT_BASE_URL",
    "FIRST_TIMESPAN",
    "MAX_RECORDS",
    "SEEN_LIMIT",
    "GdeltSource",
    "build_query",
    "parse_seendate",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.gdeltproject.org/api/v2/doc/doc"
MAX_RECORDS = 250
"""Articles per request (the API's maximum)."""
FIRST_TIMESPAN = "1d"
"""How far back the first poll of a query reads (a GDELT ``timespan``)."""
SEEN_LIMIT = 1000
"""Article URLs the cursor remembers."""
MAX_QUERY_CHARS = 1000

_SEENDATE = "%Y%m%dT%H%M%SZ"
_LANGUAGES = {
    "english": "en", "urdu": "ur", "arabic": "ar", "french": "fr", "german": "de",
    "spanish": "es", "portuguese": "pt", "italian": "it", "russian": "ru", "ukrainian": "uk",
    "turkish": "tr", "persian": "fa", "hindi": "hi", "bengali": "bn", "chinese": "zh",
    "japanese": "ja", "korean": "ko", "indonesian": "id", "dutch": "nl", "polish": "pl",
    "hebrew": "he", "pashto": "ps", "punjabi": "pa", "swedish": "sv", "greek": "el",
}
_HINTS = {404: "no GDELT DOC API here; check [[sources]] base_url"}


def build_query(terms: Iterable[str], limit: int = MAX_QUERY_CHARS) -> str:
    """A GDELT query matching any of ``terms``: ``(t1 OR "two words")``; a lone term bare
    (quoted when it has spaces). Repeats (any case) are dropped, and terms past ``limit``
    characters are left out (logged)."""
    return any_of_terms(terms, limit, lambda term: " " in term, "GDELT")


def parse_seendate(value: Any) -> datetime | None:
    """GDELT's ``20241120T101500Z`` as aware UTC; None when missing or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), _SEENDATE).replace(tzinfo=UTC)
    except ValueError:
        return None


class GdeltSource(HttpSource):
    """The GDELT DOC 2.0 article list at ``base_url``, polled every ``interval`` seconds,
    each poll given ``timeout`` seconds. ``query`` is a fixed GDELT query, or ``""`` to
    build one from ``terms()`` at every poll."""

    def __init__(
        self, name: str, *, query: str = "", terms: Callable[[], Sequence[str]] = tuple,
        tier: Tier | None = None, interval: float = 300.0, timeout: float = 30.0,
        base_url: str = DEFAULT_BASE_URL, session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        self.query = query.strip()
        self.terms = terms
        self.tier = tier
        self.base_url = base_url.strip()

    def __repr__(self) -> str:
        return f"GdeltSource({self.name!r}, {display_url(self.base_url)!r})"

    def current_query(self) -> str:
        """The query the next poll will send ("" when there is nothing to ask)."""
        return self.query or build_query(self.terms())

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Articles seen since ``cursor`` (see the module docstring)."""
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def _poll(self, cursor: Mapping[str, Any]) -> Poll:
        query = self.current_query()
        if not query:
            return Poll(posts=[], cursor=dict(cursor) or None)
        same = cursor.get("query") == query
        since = parse_seendate(cursor.get("seendate")) if same else None
        old_seen = [s for s in cursor.get("seen") or () if isinstance(s, str)] if same else []
        params = {"query": query, "mode": "ArtList", "format": "json", "sort": "DateDesc",
                  "maxrecords": str(MAX_RECORDS)}
        if since is not None:
            params["startdatetime"] = since.strftime("%Y%m%d%H%M%S")
        else:
            params["timespan"] = FIRST_TIMESPAN
        _, headers, body = await self.get(self.base_url, params=params, hint=_HINTS)
        articles = self._articles(body, headers)
        if since is not None and len(articles) >= MAX_RECORDS:
            log.warning("source %s: %d articles or more since the last poll, the most GDELT "
                        "gives at once; older ones may be missed (poll more often)",
                        self.name, MAX_RECORDS)
        known = set(old_seen)
        posts: dict[str, Post] = {}
        served: dict[str, None] = {}  # ordered set, newest first
        newest = since
        for article in articles:
            post = self._post(article)
            if post is None:
                continue
            served.setdefault(post.id)
            if newest is None or post.created_at > newest:
                newest = post.created_at
            if post.id not in known:
                posts.setdefault(post.id, post)
        seen = list(dict.fromkeys([*served, *old_seen]))[:SEEN_LIMIT]
        ordered = sorted(posts.values(), key=lambda p: (p.created_at, p.id))
        return Poll(posts=ordered, cursor={
            "seendate": None if newest is None else newest.strftime(_SEENDATE),
            "query": query, "seen": seen,
        })

    def _articles(self, body: bytes, headers: Mapping[str, str]) -> list[Mapping[str, Any]]:
        text = body.decode("utf-8", errors="replace")
        try:
            data = json.loads(text, strict=False)  # GDELT titles carry raw control characters
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            said = " ".join(text.split())[:200]
            kind = headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise SourceError(
                f"source {self.name}: {display_url(self.base_url)} did not answer with an "
                f"article list ({kind}): {said or 'an empty body'}"
            )
        articles = data.get("articles", [])  # no match: "{}"
        if not isinstance(articles, list):
            raise SourceError(f"source {self.name}: {display_url(self.base_url)} answered "
                              "with articles that are not a list")
        return [a for a in articles if isinstance(a, Mapping)]

    def _post(self, article: Mapping[str, Any]) -> Post | None:
        url = article.get("url")
        seen = parse_seendate(article.get("seendate"))
        title = normalize_text(str(article.get("title") or ""))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) \
                or seen is None or not title:
            return None
        domain = _str(article.get("domain"))
        language = _str(article.get("language"))
        extra = {k: v for k, v in (("domain", domain), ("language", language),
                                   ("sourcecountry", _str(article.get("sourcecountry"))))
                 if v is not None}
        return Post(
            source=self.name, id=url, text=title, created_at=seen, author=domain,
            tier=self.tier, url=url,
            lang=_LANGUAGES.get(language.casefold()) if language else None, extra=extra,
        )


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
