"""Bluesky post search: ``app.bsky.feed.searchPosts`` for the open incidents' terms.

Each poll asks ``{base_url}/xrpc/app.bsky.feed.searchPosts?q=TERM&sort=latest`` once per
term: the configured ``query``, or else every term of the open incidents (``terms()`` is
called at every poll; with no terms there is nothing to ask and the poll returns no posts).
Without a token the public AppView (:data:`DEFAULT_BASE_URL`) is asked; with one (read from
the environment variable ``token_env`` names, never logged) it goes as a bearer token to
whatever ``base_url`` says (a PDS, which proxies the search).

A post view becomes a :class:`Post`:

- ``id``: the post's AT URI (``at://did:plc:.../app.bsky.feed.post/RKEY``), ``url`` its
  ``https://bsky.app/profile/HANDLE/post/RKEY`` page;
- ``text``: ``record.text``; ``created_at``: ``record.createdAt`` (else ``indexedAt``), UTC;
  ``lang``: the first of ``record.langs``, primary subtag;
- ``author``: ``author.handle``; metrics ``replies``, ``reposts``, ``likes``, ``quotes``
  (``replyCount`` ...) and ``followers`` (``author.followersCount``, where the view has it:
  the search's basic profile views often do not);
- ``reply_to``: ``record.reply.parent.uri``; ``extra``: ``did``, ``cid``, ``display_name``,
  ``thread_root`` (when not the parent), ``links`` (the full URLs of the text's link facets,
  then a link card's URL) and ``quote_of``.

A quote (an ``app.bsky.embed.record`` or ``recordWithMedia`` embed of a post) is emitted
after the quoted post, which the view carries and which is emitted as a post of its own:
with text of its own, the quote is a reply to the quoted post (its claims count as a
reply's do, unless it is itself a reply, which keeps its parent); without, it is a repost
of it. Plain reposts are not search results: ``repostCount`` is their measure.

Paging: results come newest first. The first poll of a term reads one page (``limit``
posts). Later polls ask ``since`` the newest ``sortAt`` seen (the earlier of ``createdAt``
and ``indexedAt``, which the API filters on; inclusive) and follow the response's
``cursor`` up to ``max_pages`` pages, so a burst between polls is not lost; beyond that the
older part is skipped and a warning names the term.

The cursor is ``{"terms": {term: {"since": ISO time, "seen": [uri, ...]}}}``: ``seen``
holds the URIs served at the newest times, which ``since`` being inclusive serves again
and the poll leaves out. A term no longer asked is dropped from it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tracker.errors import SourceError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier
from tracker.sources.base import HttpSource, Poll, display_url, parse_iso_time, with_timeout

__all__ = ["DEFAULT_BASE_URL", "SEARCH_PATH", "BlueskySource"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://public.api.bsky.app"
"""The public Bluesky AppView, which answers searches without login."""

SEARCH_PATH = "/xrpc/app.bsky.feed.searchPosts"

_SEEN_WINDOW = timedelta(seconds=60)
"""URIs whose ``sortAt`` is this close to the newest are remembered in the cursor."""
_SEEN_LIMIT = 200

_LINK = "app.bsky.richtext.facet#link"
_RECORD_VIEW = "app.bsky.embed.record#view"
_RECORD_WITH_MEDIA_VIEW = "app.bsky.embed.recordWithMedia#view"
_EXTERNAL_VIEW = "app.bsky.embed.external#view"


class BlueskySource(HttpSource):
    """``app.bsky.feed.searchPosts`` on the Bluesky API at ``base_url``, polled every
    ``interval`` seconds, each poll given ``timeout`` seconds.

    ``query`` is a fixed search (``""``: one search per term ``terms()`` gives at poll
    time); ``limit`` posts per page (1-100); ``token`` an access token sent as a bearer
    token (None: ask anonymously), read from ``token_env`` (named in messages, never the
    token itself).
    """

    def __init__(
        self, name: str, *, query: str = "", terms: Callable[[], Sequence[str]] = tuple,
        tier: Tier | None = None, interval: float = 60.0, timeout: float = 30.0,
        limit: int = 100, max_pages: int = 5, base_url: str = DEFAULT_BASE_URL,
        token: str | None = None, token_env: str = "", session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        self.query = " ".join(query.split())
        self.terms = terms
        self.tier = tier
        self.limit = min(100, max(1, limit))
        self.max_pages = max(1, max_pages)
        self.base_url = base_url.strip().rstrip("/")
        self.token_env = token_env
        self._token = token or None

    def __repr__(self) -> str:  # never the token
        auth = f"token from {self.token_env}" if self._token else "anonymous"
        return f"BlueskySource({self.name!r}, {display_url(self.base_url)!r}, {auth})"

    def current_terms(self) -> list[str]:
        """What the next poll searches for, one request each (repeats in any case
        dropped)."""
        if self.query:
            return [self.query]
        out: dict[str, str] = {}
        for raw in self.terms():
            term = " ".join(raw.split())
            if term:
                out.setdefault(term.casefold(), term)
        return list(out.values())

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Posts newer than ``cursor`` for every term (see the module docstring)."""
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def _poll(self, cursor: Mapping[str, Any]) -> Poll:
        terms = self.current_terms()
        if not terms:
            return Poll(posts=[], cursor=dict(cursor) or None)
        old = cursor.get("terms")
        old = old if isinstance(old, Mapping) else {}
        state: dict[str, dict[str, Any]] = {}
        posts: dict[str, Post] = {}
        for term in terms:
            previous = old.get(term)
            views, state[term] = await self._term(
                term, previous if isinstance(previous, Mapping) else {}
            )
            for view in views:
                for post in self._posts(view):
                    posts.setdefault(post.id, post)
        ordered = sorted(posts.values(), key=lambda p: (p.created_at, p.is_repost))
        return Poll(posts=ordered, cursor={"terms": state})

    async def _term(self, term: str, previous: Mapping[str, Any]
                    ) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
        """The post views for ``term`` not served before, and the term's new cursor."""
        since = parse_iso_time(previous.get("since"))
        seen = {s for s in previous.get("seen") or () if isinstance(s, str)}
        params = {"q": term, "sort": "latest", "limit": str(self.limit)}
        if since is not None:
            params["since"] = _iso(since)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        url = self.base_url + SEARCH_PATH
        served: list[Mapping[str, Any]] = []
        pages = self.max_pages if since is not None else 1
        more = False
        for _ in range(pages):
            _, _, body = await self.get(url, params=params, headers=headers, hint=self._hints())
            page, next_cursor = self._page(body, url)
            served.extend(page)
            more = bool(page and next_cursor)
            if not more or next_cursor is None:
                break
            params["cursor"] = next_cursor
        if more and since is not None:
            log.warning("source %s: over %d pages of new posts for %r since the last poll; "
                        "older ones were skipped (poll more often)", self.name, pages, term)
        fresh = [v for v in served if v["uri"] not in seen]
        times = [(t, str(v["uri"])) for v in served if (t := _sort_at(v)) is not None]
        newest = max([t for t, _ in times] + ([since] if since is not None else []),
                     default=None)
        if newest is None:
            return fresh, dict(previous)
        recent = [uri for t, uri in sorted(times, reverse=True) if t >= newest - _SEEN_WINDOW]
        if since is not None and newest - since <= _SEEN_WINDOW:
            recent.extend(s for s in seen if s not in recent)
        return fresh, {"since": _iso(newest), "seen": recent[:_SEEN_LIMIT]}

    def _hints(self) -> dict[int, str]:
        token = (f"check the token in {self.token_env}" if self._token else
                 "the API may need a token: set token_env and base_url to your PDS")
        return {
            400: "the search was rejected; check [[sources]] query or the incident's terms",
            401: token,
            403: token,
            404: "no searchPosts here; check [[sources]] base_url",
        }

    def _page(self, body: bytes, url: str) -> tuple[list[Mapping[str, Any]], str | None]:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, Mapping) or not isinstance(data.get("posts"), list):
            raise SourceError(
                f"source {self.name}: {display_url(url)} did not answer with searchPosts "
                "results (a JSON object with posts)"
            )
        posts = [p for p in data["posts"] if isinstance(p, Mapping)
                 and isinstance(p.get("uri"), str) and isinstance(p.get("record"), Mapping)]
        cursor = data.get("cursor")
        return posts, cursor if isinstance(cursor, str) and cursor else None

    def _posts(self, view: Mapping[str, Any]) -> list[Post]:
        """The view as a post; a quote after the quoted post (when the view carries it)."""
        quoted_uri, quoted = _quoted(view)
        out: list[Post] = []
        if quoted is not None:
            original = self._post(quoted, record=quoted.get("value"))
            if original is not None:
                out.append(original)
        post = self._post(view, record=view.get("record"), quote_of=quoted_uri)
        if post is not None:
            out.append(post)
        return out

    def _post(self, view: Mapping[str, Any], *, record: Any,
              quote_of: str | None = None) -> Post | None:
        uri = view.get("uri")
        if not isinstance(uri, str) or not isinstance(record, Mapping):
            return None
        created = parse_iso_time(record.get("createdAt")) or parse_iso_time(
            view.get("indexedAt"))
        if created is None:
            log.debug("source %s: post %s has no valid createdAt; skipped", self.name, uri)
            return None
        text = normalize_text(str(record.get("text") or ""))
        reply = record.get("reply")
        parent = _uri(reply.get("parent")) if isinstance(reply, Mapping) else None
        root = _uri(reply.get("root")) if isinstance(reply, Mapping) else None
        repost_of = None
        if quote_of is not None and not text:
            repost_of = quote_of
        elif quote_of is not None and parent is None:
            parent = quote_of
        if not text and repost_of is None:
            return None
        author = view.get("author")
        author = author if isinstance(author, Mapping) else {}
        handle = _str(author.get("handle"))
        metrics: dict[str, int] = {}
        if repost_of is None:
            for key, field in (("replies", "replyCount"), ("reposts", "repostCount"),
                               ("likes", "likeCount"), ("quotes", "quoteCount")):
                value = _count(view.get(field))
                if value is not None:
                    metrics[key] = value
        followers = _count(author.get("followersCount"))
        if followers is not None:
            metrics["followers"] = followers
        extra: dict[str, Any] = {}
        for key, found in (("did", _str(author.get("did"))), ("cid", _str(view.get("cid"))),
                           ("display_name", _str(author.get("displayName")))):
            if found is not None:
                extra[key] = found
        if root is not None and root != parent:
            extra["thread_root"] = root
        links = _links(record, view.get("embed"))
        if links:
            extra["links"] = links
        if quote_of is not None:
            extra["quote_of"] = quote_of
        langs = record.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) \
            else None
        return Post(
            source=self.name, id=uri, text=text, created_at=created, author=handle,
            tier=self.tier, url=_web_url(uri, handle), lang=_primary(lang),
            repost_of=repost_of, reply_to=parent, metrics=metrics, extra=extra,
        )


def _quoted(view: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    """The URI of the post ``view`` quotes, and the quoted post's view record (a
    ``viewRecord``: ``uri``, ``author``, ``value`` ...) when the view carries one."""
    embed = view.get("embed")
    record: Any = None
    if isinstance(embed, Mapping):
        kind = embed.get("$type")
        record = embed.get("record")
        if kind == _RECORD_WITH_MEDIA_VIEW and isinstance(record, Mapping):
            record = record.get("record")
        elif kind != _RECORD_VIEW:
            record = None
    if isinstance(record, Mapping) and isinstance(record.get("uri"), str) \
            and "/app.bsky.feed.post/" in record["uri"]:
        full = record if isinstance(record.get("value"), Mapping) else None
        return record["uri"], full
    # the view may lack the embed view (a blocked or deleted post): the record's own ref
    raw = view.get("record")
    raw_embed = raw.get("embed") if isinstance(raw, Mapping) else None
    if isinstance(raw_embed, Mapping):
        ref = raw_embed.get("record")
        if isinstance(ref, Mapping) and isinstance(ref.get("record"), Mapping):
            ref = ref["record"]  # recordWithMedia: {record: {record: strongRef}}
        uri = _uri(ref)
        if uri is not None and "/app.bsky.feed.post/" in uri:
            return uri, None
    return None, None


def _links(record: Mapping[str, Any], embed: Any) -> list[str]:
    """The full URLs of the text's link facets (in text order), then a link card's."""
    links: list[str] = []
    facets = record.get("facets")
    spans = []
    for facet in facets if isinstance(facets, list) else ():
        if not isinstance(facet, Mapping):
            continue
        index = facet.get("index")
        start = index.get("byteStart") if isinstance(index, Mapping) else None
        for feature in facet.get("features") or ():
            if isinstance(feature, Mapping) and feature.get("$type") == _LINK \
                    and isinstance(feature.get("uri"), str):
                spans.append((start if isinstance(start, int) else 0, feature["uri"]))
    links.extend(uri for _, uri in sorted(spans, key=lambda s: s[0]))
    if isinstance(embed, Mapping) and embed.get("$type") == _RECORD_WITH_MEDIA_VIEW:
        embed = embed.get("media")
    if isinstance(embed, Mapping) and embed.get("$type") == _EXTERNAL_VIEW:
        card = embed.get("external")
        if isinstance(card, Mapping) and isinstance(card.get("uri"), str):
            links.append(card["uri"])
    return list(dict.fromkeys(u for u in links if u.startswith(("http://", "https://"))))


def _sort_at(view: Mapping[str, Any]) -> datetime | None:
    """What ``since`` compares with: the earlier of ``createdAt`` and ``indexedAt``."""
    record = view.get("record")
    created = parse_iso_time(record.get("createdAt")) if isinstance(record, Mapping) else None
    indexed = parse_iso_time(view.get("indexedAt"))
    found = [t for t in (created, indexed) if t is not None]
    return min(found) if found else None


def _web_url(uri: str, handle: str | None) -> str | None:
    """``https://bsky.app/profile/HANDLE/post/RKEY`` for ``at://DID/app.bsky.feed.post/RKEY``."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    return f"https://bsky.app/profile/{handle or parts[0]}/post/{parts[2]}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _uri(value: Any) -> str | None:
    return value["uri"] if isinstance(value, Mapping) and isinstance(value.get("uri"), str) \
        and value["uri"] else None


def _primary(lang: str | None) -> str | None:
    if not lang or not lang.strip():
        return None
    return lang.strip().replace("_", "-").split("-")[0].lower() or None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
