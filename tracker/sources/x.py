"""X (Twitter) recent search through tweepy's asyncio client, for users with X API access.

Optional: without a bearer token (or without tweepy) :func:`build_x_source` returns a
source whose ``disabled_reason`` says, in one line, how to turn it on; claimwatch is
complete without it. tweepy is imported only when a token is set.

Each poll calls ``GET /2/tweets/search/recent`` with the configured ``query``, or, when that
is empty, one built from the current open incidents' terms (``terms()`` is called at every
poll; with no terms there is nothing to ask and the poll returns no posts). Retweets are
kept: they are the spread. A tweet becomes a :class:`Post` with ``author`` the username,
metrics ``reposts`` (``retweet_count``), ``likes`` (``like_count``) and ``followers`` (the
author's ``followers_count``), ``reply_to`` the ``replied_to`` tweet and ``lang`` (None for
``und``); the text is the long-form ``note_tweet`` text when there is one. A retweet becomes
a repost post (its own id, no text, ``repost_of`` the retweeted id, metrics ``followers``
only) and the retweeted tweet, from ``includes.tweets``, is emitted before it as a post of
its own. ``extra`` keeps ``author_id``, ``conversation_id`` and ``quote_of`` (for quotes).

Paging: the first poll reads one page (``max_results`` tweets, newest first). Later polls
follow ``next_token`` up to ``max_pages`` pages, so a burst between polls is not lost; a
warning names what was skipped beyond that. Every page is a billed read.

The cursor is ``{"since_id": newest tweet id seen, "query": the query it was for}``. When
the query changes (an incident opened or closed), the old ``since_id`` is dropped and the
next poll starts from the newest tweets of the new query. A ``since_id`` the API refuses
as too old (the daemon was down over seven days) is dropped too, once, and the poll
retried without it.

A 429 raises :class:`~tracker.sources.base.RateLimitError` (transient) saying when the
limit resets (``x-rate-limit-reset``); a 401, 403 or 400 is permanent.

Where requests go: ``api_base`` (``[[sources]] api_base``, default
:data:`DEFAULT_API_BASE`). tweepy's client builds every URL from the fixed
``https://api.twitter.com``; the source hands it its session behind a small adapter that
puts ``api_base`` in place of that prefix, so a proxy or a local server on 127.0.0.1 gets
the same requests the real API would.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from yarl import URL

from tracker.config.settings import SourceSettings
from tracker.errors import SourceError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier
from tracker.sources.base import (
    HttpSource,
    Poll,
    any_of_terms,
    parse_iso_time,
    rate_limited,
    status_error,
    with_timeout,
)

__all__ = ["DEFAULT_API_BASE", "MAX_QUERY_CHARS", "XSource", "build_query", "build_x_source"]

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 512
"""Longest query the basic X API plans accept; terms beyond it are left out."""

TWEET_FIELDS = ["created_at", "author_id", "public_metrics", "referenced_tweets", "lang",
                "conversation_id", "in_reply_to_user_id", "note_tweet"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
USER_FIELDS = ["username", "public_metrics"]

DEFAULT_API_BASE = "https://api.twitter.com"
"""The X API v2 host tweepy's client sends to (``api.x.com`` serves the same API)."""

_SEARCH_PATH = "/2/tweets/search/recent"
_BARE = re.compile(r"[\w#@]+")


def build_query(terms: Iterable[str], limit: int = MAX_QUERY_CHARS) -> str:
    """An X search query matching any of ``terms``: ``(t1 OR "two words")``, a lone term
    bare. Terms that are not one plain word are quoted; repeats (any case) are dropped;
    terms that would push the query past ``limit`` characters are left out (logged)."""
    return any_of_terms(terms, limit, lambda term: _BARE.fullmatch(term) is None, "X")


class XSource(HttpSource):
    """Recent search on the X API v2, polled every ``interval`` seconds.

    ``token`` is the bearer token (None: the source is disabled and ``disabled_reason``
    says why); ``query`` the fixed query, or ``""`` to build one from ``terms()`` at every
    poll; ``max_results`` tweets per page (10-100); ``api_base`` the scheme, host, port
    and path prefix requests go to (``/2/...`` is appended). An injected ``session``
    carries every request and is never closed by the source; otherwise the source makes
    its own and closes it in :meth:`close`.
    """

    def __init__(
        self, name: str, *, token: str | None, query: str = "",
        terms: Callable[[], Sequence[str]] = tuple, tier: Tier | None = None,
        interval: float = 60.0, timeout: float = 30.0, max_results: int = 100,
        max_pages: int = 5, token_env: str = "CLAIMWATCH_X_BEARER_TOKEN",
        api_base: str = DEFAULT_API_BASE, session: aiohttp.ClientSession | None = None,
        disabled_reason: str | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        self.query = query.strip()
        self.terms = terms
        self.tier = tier
        self.max_results = min(100, max(10, max_results))
        self.max_pages = max(1, max_pages)
        self.token_env = token_env
        self.api_base = api_base.rstrip("/")
        self._token = token or None
        self.disabled_reason = disabled_reason or (
            None if self._token else
            f"source {name} disabled: set {token_env} to a bearer token for the X API v2"
        )
        self._client: Any = None
        self._errors: Any = None

    def __repr__(self) -> str:  # never the token
        state = f"disabled: {self.disabled_reason}" if self.disabled_reason else "enabled"
        return f"XSource({self.name!r}, {state})"

    def current_query(self) -> str:
        """The query the next poll will send ("" when there is nothing to ask)."""
        return self.query or build_query(self.terms())

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Tweets newer than ``cursor`` (see the module docstring). A disabled source
        raises a permanent :class:`SourceError` with its ``disabled_reason``."""
        if self.disabled_reason:
            raise SourceError(self.disabled_reason, transient=False)
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def close(self) -> None:
        self._client = None
        await super().close()

    def _ensure_client(self) -> Any:
        session = self.session()
        if self._client is None:
            import tweepy.asynchronous
            import tweepy.errors

            self._errors = tweepy.errors
            self._client = tweepy.asynchronous.AsyncClient(
                bearer_token=self._token, wait_on_rate_limit=False, return_type=dict
            )
        self._client.session = _Rebased(session, self.api_base)
        return self._client

    async def _poll(self, cursor: Mapping[str, Any]) -> Poll:
        query = self.current_query()
        if not query:
            return Poll(posts=[], cursor=dict(cursor) or None)
        since = cursor.get("since_id")
        since = since if isinstance(since, str) and since else None
        if cursor.get("query", query) != query:
            since = None
        try:
            pages, newest = await self._pages(query, since)
        except _StaleSinceIdError:
            log.warning("source %s: the X API refused since_id %s as too old; starting from "
                        "the newest tweets", self.name, since)
            since = None
            pages, newest = await self._pages(query, None)
        posts: dict[str, Post] = {}
        for page in pages:
            for post in self._posts(page):
                posts.setdefault(post.id, post)
        ordered = sorted(posts.values(), key=lambda p: (p.created_at, p.is_repost))
        return Poll(posts=ordered, cursor={"since_id": newest or since, "query": query})

    async def _pages(self, query: str, since: str | None
                     ) -> tuple[list[Mapping[str, Any]], str | None]:
        """The result pages for ``query`` newer than ``since`` and the newest id in them."""
        pages: list[Mapping[str, Any]] = []
        newest: str | None = None
        token: str | None = None
        limit = self.max_pages if since else 1
        for _ in range(limit):
            page = await self._search(query, since, token)
            pages.append(page)
            meta = page.get("meta")
            meta = meta if isinstance(meta, Mapping) else {}
            if newest is None and isinstance(meta.get("newest_id"), str):
                newest = meta["newest_id"]
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if token is None:
                return pages, newest
        if since:
            log.warning("source %s: over %d pages of new tweets since the last poll; older "
                        "ones were skipped (poll more often or narrow the query)",
                        self.name, limit)
        return pages, newest

    async def _search(self, query: str, since: str | None, token: str | None
                      ) -> Mapping[str, Any]:
        client = self._ensure_client()
        errors = self._errors
        params: dict[str, Any] = {
            "max_results": self.max_results, "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS, "user_fields": USER_FIELDS,
        }
        if since:
            params["since_id"] = since
        if token:
            params["next_token"] = token
        name, where = self.name, "the X API"
        url = self.api_base + _SEARCH_PATH
        try:
            result = await client.search_recent_tweets(query, **params)
        except errors.TooManyRequests as exc:
            reset = exc.reset_time
            reset_at = None if reset is None else datetime.fromtimestamp(int(reset), UTC)
            raise rate_limited(name, where, reset_at) from None
        except errors.Unauthorized:
            raise SourceError(
                f"source {name}: the X API refused the bearer token in {self.token_env} "
                "(HTTP 401); check or renew it", transient=False,
            ) from None
        except errors.Forbidden as exc:
            raise SourceError(
                f"source {name}: the X API refused access (HTTP 403): {_api_message(exc)}; "
                "recent search needs an X API plan that includes reads", transient=False,
            ) from None
        except errors.BadRequest as exc:
            message = _api_message(exc)
            if since and "since_id" in message:
                raise _StaleSinceIdError() from None
            raise SourceError(
                f"source {name}: the X API rejected the search (HTTP 400): {message}; "
                "check [[sources]] query", transient=False,
            ) from None
        except errors.HTTPException as exc:
            raise status_error(name, int(exc.response.status), url,
                               exc.response.headers) from None
        except TimeoutError:
            raise SourceError(f"source {name}: no answer from {where} within "
                              f"{self.timeout:g} s") from None
        except aiohttp.ClientResponseError as exc:  # a body that is not JSON
            if 200 <= exc.status < 300:
                raise SourceError(f"source {name}: {where} answered with a body that is not "
                                  "JSON") from None
            raise status_error(name, exc.status, url, exc.headers or {}) from None
        except aiohttp.ClientError as exc:
            raise SourceError(f"source {name}: cannot reach {where}: "
                              f"{type(exc).__name__}") from None
        except ValueError:
            raise SourceError(f"source {name}: {where} answered with a body that is not "
                              "JSON") from None
        if not isinstance(result, Mapping):
            raise SourceError(f"source {name}: {where} answered with unexpected data")
        return result

    def _posts(self, page: Mapping[str, Any]) -> list[Post]:
        includes = page.get("includes")
        includes = includes if isinstance(includes, Mapping) else {}
        users = {str(u.get("id")): u for u in _dicts(includes.get("users"))}
        referenced = {str(t.get("id")): t for t in _dicts(includes.get("tweets"))}
        out: list[Post] = []
        for tweet in _dicts(page.get("data")):
            refs = {str(r.get("type")): str(r.get("id"))
                    for r in _dicts(tweet.get("referenced_tweets"))}
            retweeted = refs.get("retweeted")
            if retweeted is not None:
                original = referenced.get(retweeted)
                if original is not None:
                    post = self._post(original, users, {})
                    if post is not None:
                        out.append(post)
            post = self._post(tweet, users, refs)
            if post is not None:
                out.append(post)
        return out

    def _post(self, tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]],
              refs: Mapping[str, str]) -> Post | None:
        tweet_id = tweet.get("id")
        created = parse_iso_time(tweet.get("created_at"))
        if not isinstance(tweet_id, str) or created is None:
            return None
        author_id = str(tweet.get("author_id") or "")
        user = users.get(author_id, {})
        username = user.get("username") if isinstance(user.get("username"), str) else None
        followers = _metric(user.get("public_metrics"), "followers_count")
        repost_of = refs.get("retweeted")
        metrics: dict[str, int] = {}
        if repost_of is None:
            note = tweet.get("note_tweet")
            raw = note.get("text") if isinstance(note, Mapping) else None
            text = normalize_text(str(raw or tweet.get("text") or ""))
            if not text:
                return None
            for key, field in (("reposts", "retweet_count"), ("likes", "like_count")):
                value = _metric(tweet.get("public_metrics"), field)
                if value is not None:
                    metrics[key] = value
        else:
            text = ""
        if followers is not None:
            metrics["followers"] = followers
        extra: dict[str, Any] = {"author_id": author_id} if author_id else {}
        if isinstance(tweet.get("conversation_id"), str):
            extra["conversation_id"] = tweet["conversation_id"]
        if "quoted" in refs:
            extra["quote_of"] = refs["quoted"]
        lang = tweet.get("lang")
        return Post(
            source=self.name, id=tweet_id, text=text, created_at=created, author=username,
            tier=self.tier,
            url=f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
            lang=lang if isinstance(lang, str) and lang and lang != "und" else None,
            repost_of=repost_of, reply_to=refs.get("replied_to"), metrics=metrics,
            extra=extra,
        )


class _Rebased:
    """What tweepy's client sees as its session: ``session`` with every URL under
    tweepy's fixed :data:`DEFAULT_API_BASE` moved to ``base`` (the path and query kept).
    tweepy only calls ``request``; the session stays its owner's to close."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self._session = session
        self._base = base

    def request(self, method: str, url: str | URL, **kwargs: Any) -> Any:
        text = str(url)
        if self._base != DEFAULT_API_BASE and text.startswith(DEFAULT_API_BASE + "/"):
            text = self._base + text[len(DEFAULT_API_BASE):]
            url = text if isinstance(url, str) else URL(text, encoded=True)
        return self._session.request(method, url, **kwargs)


class _StaleSinceIdError(Exception):
    """The API refused the cursor's since_id (older than its search window)."""


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _metric(metrics: Any, key: str) -> int | None:
    if not isinstance(metrics, Mapping):
        return None
    value = metrics.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _api_message(exc: Any) -> str:
    messages = [str(m) for m in getattr(exc, "api_messages", []) if m]
    text = "; ".join(messages) or "no reason given"
    return text if len(text) <= 300 else text[:297] + "..."


def build_x_source(
    settings: SourceSettings, *, terms: Callable[[], Sequence[str]], tier: Tier | None,
    environ: Mapping[str, str], session: aiohttp.ClientSession | None = None,
) -> XSource:
    """The X source of ``settings`` (a ``SourceSettings``; ``settings.api_base`` is where
    requests go), disabled with a one-line reason when ``environ`` has no token under
    ``settings.bearer_env`` or tweepy's asyncio client cannot be imported."""
    token = (environ.get(settings.bearer_env) or "").strip() or None
    reason = None
    if token is not None:
        try:
            import tweepy.asynchronous  # noqa: F401  (needs the tweepy[async] extra)
        except ImportError as exc:
            reason = (f"source {settings.name} disabled: the X client needs tweepy's async "
                      f"extra (pip install 'tweepy[async]'): {exc}")
    return XSource(
        settings.name, token=token, query=settings.query, terms=terms, tier=tier,
        interval=settings.interval_seconds, timeout=settings.timeout_seconds,
        max_results=settings.max_results, token_env=settings.bearer_env,
        api_base=settings.api_base.strip(), session=session, disabled_reason=reason,
    )
