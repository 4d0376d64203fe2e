"""Mastodon hashtag timelines, read without login from one instance.

Each poll asks ``{instance}/api/v1/timelines/tag/{tag}?limit=40&since_id=...`` for every
configured tag. A status becomes a :class:`Post` with its id, its HTML content as plain
text (a content warning, when set, comes first on its own line), ``account.acct`` as
author, ``created_at`` in UTC, ``url``, ``language``, ``in_reply_to_id`` as ``reply_to`` and
metrics ``reposts`` (``reblogs_count``), ``likes`` (``favourites_count``) and ``followers``
(``account.followers_count``). A boost becomes a repost post (its own id, no text,
``repost_of`` the boosted status, metrics ``followers`` of the booster only) and the
boosted status is emitted as a post of its own, before the boost, so the repost has
something to join.

Paging: the timeline answers newest first. When a page comes back full, the poll pages
back with ``max_id`` (same ``since_id``) up to ``max_pages`` pages per tag, so a burst
between two polls is not lost. Beyond that, the older part of the burst is skipped and a
warning is logged naming the tag. The first poll of a tag (no cursor) reads one page only:
it starts at the newest statuses rather than backfilling history.

The cursor is ``{"since_id": {tag: newest status id seen}}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from tracker.errors import SourceError
from tracker.models import Post, Tier
from tracker.sources.base import (
    HttpSource,
    Poll,
    display_url,
    html_to_text,
    id_key,
    parse_iso_time,
    with_timeout,
)

__all__ = ["PAGE_LIMIT", "MastodonSource"]

log = logging.getLogger(__name__)

PAGE_LIMIT = 40
"""Statuses per request (Mastodon's maximum for timelines)."""

_HINTS = {
    401: "the instance does not show tag timelines without login",
    403: "the instance does not show tag timelines without login",
    404: "no Mastodon API here; check [[sources]] instance",
    410: "no Mastodon API here; check [[sources]] instance",
    422: "the instance refused the request",
}


class MastodonSource(HttpSource):
    """The public timelines of ``tags`` (without ``#``) on the instance at base URL
    ``instance``, polled every ``interval`` seconds, each poll given ``timeout`` seconds."""

    def __init__(
        self, name: str, instance: str, tags: Sequence[str], *, tier: Tier | None = None,
        interval: float = 60.0, timeout: float = 30.0, max_pages: int = 5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        base = instance.strip().rstrip("/")
        self.instance = base if "://" in base else f"https://{base}"
        self.tags = tuple(dict.fromkeys(t.strip().lstrip("#") for t in tags if t.strip("# ")))
        self.tier = tier
        self.max_pages = max(1, max_pages)

    def __repr__(self) -> str:
        return f"MastodonSource({self.name!r}, {self.instance!r}, tags={list(self.tags)!r})"

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Statuses newer than ``cursor`` on every tag (see the module docstring)."""
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def _poll(self, cursor: Mapping[str, Any]) -> Poll:
        old = cursor.get("since_id")
        since_ids: dict[str, str] = (
            {str(k): str(v) for k, v in old.items() if v} if isinstance(old, Mapping) else {}
        )
        posts: dict[str, Post] = {}
        for tag in self.tags:
            statuses = await self._tag(tag, since_ids.get(tag))
            for status in statuses:
                for post in self._posts(status):
                    posts.setdefault(post.id, post)
            ids = [str(s["id"]) for s in statuses]
            if ids:
                since_ids[tag] = max(ids, key=id_key)
        ordered = sorted(posts.values(), key=lambda p: (p.created_at, p.is_repost))
        return Poll(posts=ordered, cursor={"since_id": since_ids})

    async def _tag(self, tag: str, since_id: str | None) -> list[dict[str, Any]]:
        """The statuses of ``tag`` newer than ``since_id``, newest first."""
        url = f"{self.instance}/api/v1/timelines/tag/{quote(tag, safe='')}"
        params = {"limit": str(PAGE_LIMIT)}
        if since_id:
            params["since_id"] = since_id
        out: list[dict[str, Any]] = []
        pages = self.max_pages if since_id else 1
        for _ in range(pages):
            _, _, body = await self.get(url, params=params, hint=_HINTS)
            page = self._statuses(body, url)
            out.extend(page)
            if len(page) < PAGE_LIMIT:
                return out
            params["max_id"] = min((str(s["id"]) for s in page), key=id_key)
        if since_id:
            log.warning(
                "source %s: over %d new statuses for #%s since the last poll; the older "
                "ones beyond %d pages were skipped (poll more often)",
                self.name, len(out), tag, pages,
            )
        return out

    def _statuses(self, body: bytes, url: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, list):
            raise SourceError(
                f"source {self.name}: {display_url(url)} did not answer with a JSON list of "
                "statuses"
            )
        return [s for s in data if isinstance(s, dict) and isinstance(s.get("id"), str | int)]

    def _posts(self, status: Mapping[str, Any]) -> list[Post]:
        """The status as a post; a boost as the boosted status, then the repost."""
        reblog = status.get("reblog")
        if isinstance(reblog, Mapping) and reblog.get("id") is not None:
            original = self._post(reblog)
            repost = self._post(status, repost_of=str(reblog["id"]))
            return [p for p in (original, repost) if p is not None]
        post = self._post(status)
        return [] if post is None else [post]

    def _post(self, status: Mapping[str, Any], *, repost_of: str | None = None) -> Post | None:
        created = parse_iso_time(status.get("created_at"))
        if created is None:
            log.debug("source %s: status %s has no valid created_at; skipped",
                      self.name, status.get("id"))
            return None
        account = status.get("account")
        account = account if isinstance(account, Mapping) else {}
        followers = _count(account.get("followers_count"))
        metrics: dict[str, int] = {}
        if repost_of is None:
            text = html_to_text(str(status.get("content") or ""))
            warning = html_to_text(str(status.get("spoiler_text") or ""))
            if warning:
                text = f"{warning}\n{text}" if text else warning
            if not text:
                return None
            for key, field in (("reposts", "reblogs_count"), ("likes", "favourites_count")):
                value = _count(status.get(field))
                if value is not None:
                    metrics[key] = value
        else:
            text = ""
        if followers is not None:
            metrics["followers"] = followers
        reply_to = status.get("in_reply_to_id")
        return Post(
            source=self.name,
            id=str(status["id"]),
            text=text,
            created_at=created,
            author=_str(account.get("acct")),
            tier=self.tier,
            url=_str(status.get("url")) or _str(status.get("uri")),
            lang=_str(status.get("language")),
            repost_of=repost_of,
            reply_to=None if reply_to is None else str(reply_to),
            metrics=metrics,
        )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
