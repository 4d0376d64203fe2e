"""What every live source is: a :class:`Source` the daemon polls on a schedule.

A poll takes the cursor saved after the previous poll (None the first time) and returns a
:class:`Poll`: the new posts, oldest first, and the cursor to save **only after** those
posts are committed, so a crash between the two re-polls rather than loses posts. Sources
know nothing of claims, incidents or the store; the store also dedupes by
``(source, id)``, so a post served twice is harmless.

A failed poll raises :class:`~tracker.errors.SourceError`: ``transient`` (retry at the next
interval) for timeouts, refused connections, HTTP 5xx, 408, 429 and bodies that are not what
the source serves; permanent for 401, 403, 404, 410 and other 4xx answers, which a retry
cannot fix (a wrong URL, a missing or refused token). The message names the source and the
reason, never a token or a URL's query string. :class:`RateLimitError` is the transient error
that also says when the server will accept requests again.

This module also holds the HTTP plumbing the aiohttp-based sources share.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tracker import __version__
from tracker.errors import SourceError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier

_log = logging.getLogger("tracker.sources")

__all__ = [
    "MAX_BODY_BYTES",
    "USER_AGENT",
    "HttpSource",
    "Poll",
    "RateLimitError",
    "Source",
    "display_url",
    "html_to_text",
    "id_key",
    "parse_iso_time",
    "parse_tier",
    "rate_limited",
    "status_error",
    "with_timeout",
]

T = TypeVar("T")

USER_AGENT = f"claimwatch/{__version__} (+https://github.com/claimwatch)"
MAX_BODY_BYTES = 16 * 1024 * 1024
"""A response body larger than this (bytes) fails the poll (transient) instead of filling
memory."""

# Inline tags are dropped without a space, so Mastodon's ``#<span>Nushki</span>`` reads
# "#Nushki" and its split links ``<span class="invisible">https://</span>...`` read whole.
_INLINE = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|font|i|kbd|mark|q|s|samp|small|span|"
    r"strong|sub|sup|time|u|var)\b[^<>]*>",
    re.I,
)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Poll:
    """The result of one poll: ``posts`` oldest first (an original before its reposts) and
    ``cursor``, to save with ``store.set_cursor(source.name, cursor)`` once the posts are
    committed (None: nothing to save)."""

    posts: list[Post]
    cursor: dict[str, Any] | None


@runtime_checkable
class Source(Protocol):
    """A live source of posts, polled every ``interval`` seconds.

    ``disabled_reason`` is None for a working source; otherwise it is one line saying why
    the source cannot run and how to fix it, and ``poll`` must not be called (it raises a
    permanent :class:`SourceError` with that line). ``close`` releases connections; call
    it once at shutdown (it is safe to call twice).
    """

    name: str
    interval: float
    disabled_reason: str | None

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Fetch what is new since ``cursor``; raises :class:`SourceError`."""
        ...

    async def close(self) -> None:
        """Release the source's connections."""
        ...


class RateLimitError(SourceError):
    """The server refused the poll for now (HTTP 429). Always transient; ``reset_at`` is
    when it says it will accept requests again (aware UTC), if it said."""

    def __init__(self, message: str, *, reset_at: datetime | None = None) -> None:
        super().__init__(message, transient=True)
        self.reset_at = reset_at


def display_url(url: str) -> str:
    """``url`` without credentials, query string or fragment, fit for logs and messages
    (a private feed's key often rides in its query string)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def html_to_text(value: str) -> str:
    """Visible text of an HTML fragment: source line breaks folded like any whitespace,
    inline tags unwrapped, then :func:`~tracker.ingest.normalize.normalize_text` (block tags
    become line breaks, entities decoded, whitespace folded, NFC). Text without a ``<`` is
    taken as plain text and keeps its line breaks."""
    if "<" in value:
        value = _INLINE.sub("", _WHITESPACE.sub(" ", value))
    return normalize_text(value)


def parse_iso_time(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset or ``Z`` (fractions allowed) as aware UTC; None when
    missing, malformed or without an offset."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return None if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_tier(value: str) -> Tier | None:
    """The configured tier of every post of a source; None for ``""`` (let config decide)."""
    return Tier(value) if value else None


def id_key(value: str) -> tuple[int, str]:
    """Sort key of a numeric snowflake id given as a string (Mastodon, X): longer is newer,
    then lexical order, so no int conversion of odd ids can fail."""
    return (len(value), value)


def _reset_time(headers: Mapping[str, str]) -> datetime | None:
    """When a 429 says to come back: ``Retry-After`` (seconds or an HTTP date),
    ``X-RateLimit-Reset`` (Unix seconds, or ISO 8601 as Mastodon sends it)."""
    now = datetime.now(UTC)
    retry = headers.get("Retry-After", "").strip()
    if retry.isdigit():
        return datetime.fromtimestamp(now.timestamp() + int(retry), UTC)
    if retry:
        try:
            return parsedate_to_datetime(retry).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    reset = headers.get("X-RateLimit-Reset", headers.get("x-rate-limit-reset", "")).strip()
    if reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return parse_iso_time(reset)


def rate_limited(name: str, what: str, reset_at: datetime | None) -> RateLimitError:
    """The :class:`RateLimitError` error of source ``name``, saying when the limit resets."""
    if reset_at is None:
        when = "it did not say when the limit resets"
    else:
        wait = max(0, round((reset_at - datetime.now(UTC)).total_seconds()))
        when = f"the limit resets at {reset_at:%Y-%m-%dT%H:%M:%SZ} (in {wait} s)"
    return RateLimitError(f"source {name}: rate limited by {what} (HTTP 429); {when}",
                       reset_at=reset_at)


def status_error(
    name: str, status: int, url: str, headers: Mapping[str, str] | None = None, hint: str = ""
) -> SourceError:
    """The :class:`SourceError` for an unexpected HTTP ``status`` from ``url``."""
    where = display_url(url)
    if status == 429:
        return rate_limited(name, where, _reset_time(headers or {}))
    message = f"source {name}: HTTP {status} from {where}"
    if hint:
        message += f" ({hint})"
    transient = status >= 500 or status == 408
    return SourceError(message, transient=transient)


class HttpSource:
    """Shared plumbing of the aiohttp-based sources: one session per source (or an
    injected one, which the source then never closes), a ``timeout_seconds`` budget for
    the whole poll, and HTTP failures mapped to :class:`SourceError`."""

    name: str
    interval: float
    disabled_reason: str | None = None

    def __init__(
        self, name: str, *, interval: float, timeout: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self.interval = interval
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None

    def session(self) -> aiohttp.ClientSession:
        """The session requests go through, made on first use (inside the running loop)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this source made it; an injected one stays open."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    async def get(
        self, url: str, *, params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None, ok: tuple[int, ...] = (200,),
        hint: Mapping[int, str] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """GET ``url``: its status (one of ``ok``), headers and body (at most
        :data:`MAX_BODY_BYTES`). Any other status, a timeout or a connection failure raises
        :class:`SourceError`; ``hint`` adds words to the message of a given status."""
        where = display_url(url)
        try:
            async with self.session().get(
                url, params=params, headers=headers, allow_redirects=True,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                if response.status not in ok:
                    raise status_error(self.name, response.status, url, response.headers,
                                       (hint or {}).get(response.status, ""))
                body = await _read_capped(response, self.name, where)
                return response.status, response.headers, body
        except TimeoutError:
            raise SourceError(
                f"source {self.name}: no answer from {where} within {self.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise SourceError(
                f"source {self.name}: cannot reach {where}: {_client_reason(exc)}"
            ) from None


def _client_reason(exc: aiohttp.ClientError) -> str:
    """Words for an aiohttp failure, without the request URL (it may hold a key)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed ({exc.os_error.strerror or type(exc.os_error).__name__})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}".strip()
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


async def _read_capped(response: aiohttp.ClientResponse, name: str, where: str) -> bytes:
    length = response.content_length
    too_big = SourceError(
        f"source {name}: the body from {where} is over {MAX_BODY_BYTES // 1048576} MiB"
    )
    if length is not None and length > MAX_BODY_BYTES:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def with_timeout(name: str, seconds: float, poll: Awaitable[T]) -> T:
    """Await ``poll`` within ``seconds``; a transient :class:`SourceError` naming source
    ``name`` when it takes longer."""
    try:
        async with asyncio.timeout(seconds):
            return await poll
    except TimeoutError:
        raise SourceError(f"source {name}: the poll took over {seconds:g} s") from None


def any_of_terms(
    terms: Iterable[str], limit: int, needs_quotes: Callable[[str], bool], service: str
) -> str:
    """A search query matching any of ``terms``: ``(t1 OR "two words")``, a lone term bare;
    terms for which ``needs_quotes`` holds are quoted, repeats (any case) dropped, and terms
    that would push the query past ``limit`` characters left out (logged, naming
    ``service``)."""
    parts: list[str] = []
    seen: set[str] = set()
    dropped = 0
    for raw in terms:
        term = " ".join(raw.replace('"', " ").split())
        if not term or term.casefold() in seen:
            continue
        seen.add(term.casefold())
        part = f'"{term}"' if needs_quotes(term) else term
        if len(" OR ".join([*parts, part])) + 2 > limit:
            dropped += 1
            continue
        parts.append(part)
    if dropped:
        _log.warning("%s query: %d incident terms left out to stay within %d characters",
                     service, dropped, limit)
    if len(parts) <= 1:
        return "".join(parts)
    return "(" + " OR ".join(parts) + ")"
