"""RSS and Atom feeds: one GET per poll, conditional on the last ETag and Last-Modified.

Each entry becomes a :class:`Post`:

- ``id``: the entry's id (``<guid>``, Atom ``<id>``), else its link, else a hash of its
  text;
- ``text``: ``title. summary`` with HTML stripped (the summary alone when it repeats the
  title; Atom ``content`` when there is no summary);
- ``created_at``: the entry's published, else updated time, in UTC. An entry without a
  time takes the feed's own updated time, else the time of the poll (UTC): a feed that
  never dates its entries is still watched, stamped when first seen;
- ``url``: the entry's link; ``author``: the entry's author, else the feed URL's host;
- ``lang``: the feed's language, primary subtag (``en-GB`` -> ``en``);
- ``tier``: the source's configured tier (None lets ``[tiers]`` decide by author and
  domain).

The cursor is ``{"etag": str | None, "modified": str | None, "seen": [id, ...]}``: the
validators to send back (``If-None-Match``, ``If-Modified-Since``) and the ids of the
latest :data:`SEEN_LIMIT` entries, newest first, so that a feed re-serving its entries
without validators does not re-emit them. A 304 yields no posts and the same cursor.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import feedparser

from tracker.errors import SourceError
from tracker.ingest.normalize import text_hash
from tracker.models import Post, Tier
from tracker.sources.base import HttpSource, Poll, display_url, html_to_text, with_timeout

__all__ = ["SEEN_LIMIT", "RssSource"]

SEEN_LIMIT = 500
"""Entry ids the cursor remembers."""

_HINTS = {
    401: "the feed needs credentials",
    403: "the feed refused access",
    404: "no feed at this URL; check [[sources]] url",
    410: "the feed is gone; check [[sources]] url",
}


class RssSource(HttpSource):
    """An RSS 0.9x/1.0/2.0 or Atom feed at ``url``, polled every ``interval`` seconds,
    each poll given ``timeout`` seconds."""

    def __init__(
        self, name: str, url: str, *, tier: Tier | None = None, interval: float = 60.0,
        timeout: float = 30.0, session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        self.url = url
        self.tier = tier
        self._host = urlsplit(url).hostname or display_url(url)

    def __repr__(self) -> str:
        return f"RssSource({self.name!r}, {display_url(self.url)!r})"

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """New entries since ``cursor`` (see the module docstring for its shape)."""
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def _poll(self, cursor: dict[str, Any]) -> Poll:
        headers: dict[str, str] = {}
        etag, modified = cursor.get("etag"), cursor.get("modified")
        if isinstance(etag, str) and etag:
            headers["If-None-Match"] = etag
        if isinstance(modified, str) and modified:
            headers["If-Modified-Since"] = modified
        status, response_headers, body = await self.get(
            self.url, headers=headers, ok=(200, 304), hint=_HINTS
        )
        if status == 304:
            return Poll(posts=[], cursor=dict(cursor) if cursor else None)
        polled_at = datetime.now(UTC)
        parsed = await asyncio.to_thread(_parse, body, response_headers)
        entries: list[Any] = list(parsed.get("entries") or [])
        if not entries and (parsed.get("bozo") or not parsed.get("version")):
            raise SourceError(
                f"source {self.name}: not a feed at {display_url(self.url)} "
                f"({_bozo_reason(parsed)})"
            )
        feed: Mapping[str, Any] = parsed.get("feed") or {}
        fallback = _struct_time(feed.get("updated_parsed")) or polled_at
        lang = _primary_lang(feed.get("language"))
        old_seen = [s for s in cursor.get("seen") or () if isinstance(s, str)]
        known = set(old_seen)
        posts: list[Post] = []
        ids: dict[str, None] = {}  # ordered set: ids served now, feed order
        for entry in entries:
            post = self._post(entry, fallback=fallback, lang=lang)
            if post is None or post.id in ids:
                continue
            ids[post.id] = None
            if post.id not in known:
                posts.append(post)
        posts.sort(key=lambda p: p.created_at)
        seen = _merge_seen(ids, old_seen)
        return Poll(posts=posts, cursor={
            "etag": response_headers.get("ETag") or None,
            "modified": response_headers.get("Last-Modified") or None,
            "seen": seen,
        })

    def _post(self, entry: Mapping[str, Any], *, fallback: datetime, lang: str | None
              ) -> Post | None:
        title = html_to_text(str(entry.get("title") or ""))
        summary = str(entry.get("summary") or "")
        if not summary:
            contents = entry.get("content") or []
            summary = str(contents[0].get("value") or "") if contents else ""
        body = html_to_text(summary)
        text = _join(title, body)
        if not text:
            return None
        link = str(entry.get("link") or "") or None
        post_id = str(entry.get("id") or "") or link or f"sha256:{text_hash(text)}"
        created = (_struct_time(entry.get("published_parsed"))
                   or _struct_time(entry.get("updated_parsed")) or fallback)
        author = html_to_text(str(entry.get("author") or "")) or self._host
        return Post(
            source=self.name, id=post_id, text=text, created_at=created, author=author,
            tier=self.tier, url=link, lang=lang,
        )


def _parse(body: bytes, headers: Mapping[str, str]) -> Any:
    """feedparser on the downloaded bytes only: a stream, so it never fetches a URL or
    opens a file named by the body."""
    response_headers = {k.lower(): v for k, v in headers.items()}
    return feedparser.parse(io.BytesIO(body), response_headers=response_headers)


def _bozo_reason(parsed: Mapping[str, Any]) -> str:
    if not parsed.get("bozo"):
        return "no feed elements and no entries"
    exc = parsed.get("bozo_exception")
    reason = str(getattr(exc, "getMessage", lambda: exc)()) if exc is not None else ""
    return reason or "unparseable body"


def _join(title: str, body: str) -> str:
    """``title. body``; just one of them when the other is empty, and just the body when
    it already starts with the title."""
    if not title or body.startswith(title):
        return body or title
    if not body:
        return title
    end = "" if title[-1] in ".!?:;…" else "."
    return f"{title}{end} {body}"


def _struct_time(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC ``time.struct_time``) as aware UTC."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _primary_lang(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower() or None


def _merge_seen(current: Iterable[str], old: Iterable[str]) -> list[str]:
    """The ids served now (feed order, newest first as feeds serve them), then the older
    remembered ones, without repeats, at most :data:`SEEN_LIMIT`."""
    out: list[str] = []
    done: set[str] = set()
    for item in (*current, *old):
        if item not in done:
            done.add(item)
            out.append(item)
            if len(out) >= SEEN_LIMIT:
                break
    return out
