"""The daemon's HTTP API: JSON everywhere, errors as ``{"error": "..."}``.

Tokens (:mod:`tracker.daemon.auth`): ``POST /v1/posts`` needs the write token; every other
``/v1/*`` route and ``/metrics`` need the read token (or the write token), as
``Authorization: Bearer TOKEN`` or the page's ``claimwatch_read`` cookie. Without a valid
token: 401. ``GET /healthz`` is open.

``POST /v1/posts``
    Posts in: one post object, an array of them, or JSON Lines (``Content-Type:
    application/x-ndjson``, or any body of several lines that is not one JSON value),
    optionally ``Content-Encoding: gzip`` (or ``deflate``). Answers 202 once the accepted
    posts are committed::

        {"items": [{"index": 0, "id": "1862", "status": "accepted", "reason": null}, ...],
         "accepted": 1, "duplicates": 0, "rejected": 0}

    ``status`` is ``accepted`` (stored now), ``duplicate`` (its (source, id) was stored
    already) or ``rejected`` (``reason`` says why: a malformed field, a line that is not
    JSON or not UTF-8, or a post the pipeline failed on), by ``index`` in the request
    (JSON Lines: also ``line``). A bad item never costs the good ones beside it, nor
    another client's. 400 for a body that is not JSON at all or not validly compressed,
    401 without the write token, 408 for a body that did not arrive within ``[service]
    body_timeout_seconds``, 413 over ``[service] max_body_bytes`` (after decompression
    too), 415 for another Content-Encoding, 429 with ``Retry-After`` (seconds) when
    ``[service] queue_batches`` batches wait already, 503 while shutting down or when the
    database failed (send again).

``GET /v1/query?q=TEXT&k=10&incident=ID``,
``GET /v1/narratives?incident=&status=&kind=&limit=&offset=&all=`` (all=1: single posts
too), ``GET /v1/narratives/{id}?claims_limit=&claims_offset=``, ``GET /v1/incidents?limit=
&offset=``, ``GET /v1/alerts?incident=&limit=&offset=``
    The same JSON as ``claimwatch query``, ``narratives``, ``narrative show``,
    ``incident list`` and ``alerts`` print with ``--json`` (one function in
    :mod:`tracker.views` builds each), a page of it: lists take ``limit`` (at most
    :data:`MAX_PAGE`; a larger one is cut to it) and ``offset`` (at most
    :data:`MAX_OFFSET`); the answer says ``X-Total-Count`` where it is known and gives the
    next page as ``Link: <...>; rel="next"``. A narrative's claims are paged the same way
    (``claims_limit``, default :data:`CLAIMS_PAGE`, at most :data:`MAX_PAGE`), and it says
    ``claims_total`` and ``claims_next_offset`` (None on the last page). 404 for an
    unknown incident or narrative, 400 for a bad parameter.

    Read on the daemon's read pool (:class:`~tracker.store.pool.ReadPool`): read-only
    connections that see the last commit and never wait for the writer. A read past
    ``[service] read_timeout_seconds`` is stopped and answered 503 with ``Retry-After``.
    At most :data:`READ_SLOTS` reads run at once; more get 429, so readers cannot starve
    the writer.

``GET /healthz``
    Up, whether the database can be read, queue depth, last poll per source. 200, or 503
    when the database cannot be read. Open to anyone, so it says nothing private: with
    the read token it also names the database file and each source's last error.

``GET /metrics``
    Prometheus text format (see :mod:`tracker.daemon.metrics`).

Every client address may have ``[service] client_requests`` requests in flight (``/healthz``
aside); more get 429 with ``Retry-After``. A client that goes away mid-request is logged at
INFO and counted under status ``499``, never as a 500.

Request bodies are parsed, and answers serialized, on worker threads: the event loop only
waits. The handlers depend on :class:`Service` (what they need of the daemon), not on the
daemon itself: :mod:`tracker.daemon.service` builds the app from its ``Daemon`` and serves
it with :func:`server_options` (aiohttp must not decompress bodies itself: a bad gzip
stream would break the connection).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from tracker.config.settings import ServiceSettings, Settings
from tracker.daemon.auth import CHALLENGE, read_allowed, write_allowed
from tracker.daemon.intake import Failed, Intake, IntakeClosed, IntakeFull
from tracker.daemon.metrics import CONTENT_TYPE, Metrics
from tracker.errors import ClaimwatchError, InputError, ReadTimeoutError
from tracker.ingest.records import parse_post
from tracker.models import ClaimKind, Post, Status
from tracker.pipeline import Outcome
from tracker.runtime import Runtime
from tracker.store import Store
from tracker.store.pool import ReadPool
from tracker.views import (
    alerts_json,
    incidents_json,
    narrative_detail_json,
    narratives_json,
    query_json,
)

__all__ = [
    "CLAIMS_PAGE",
    "MAX_OFFSET",
    "MAX_PAGE",
    "PUSH_SOURCE",
    "READ_SLOTS",
    "BodyError",
    "Pushed",
    "Service",
    "build_app",
    "decode_body",
    "read_items",
    "read_posts",
    "server_options",
]

log = logging.getLogger("claimwatch.api")

PUSH_SOURCE = "push"
"""The source name of pushed posts that carry none."""

MAX_PAGE = 1000
"""Most items of one list answer (``limit``), and most claims of one narrative answer."""

MAX_OFFSET = 100_000
"""Deepest ``offset`` of a list."""

CLAIMS_PAGE = 500
"""A narrative's claims in one answer unless ``claims_limit`` says otherwise."""

READ_SLOTS = 8
"""Reads (GET /v1/*, /metrics) in flight at once, all clients together; more get 429."""

ECHO_CHARS = 200
"""At most this much of an item's id is echoed back; reasons are cut at twice that."""

MAX_INT_DIGITS = 4000
"""A JSON integer longer than this is not converted (Python refuses past 4,300 digits):
the item holding it is rejected."""

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/jsonlines",
                          "application/x-jsonlines"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Service(Protocol):
    """What the handlers need of the daemon (:class:`tracker.daemon.service.Daemon`)."""

    settings: Settings
    runtime: Runtime
    metrics: Metrics
    reads: ReadPool
    intake: Intake
    token: str | None
    read_token: str | None
    accepting: bool
    query_lock: asyncio.Lock

    def reject(self, count: int) -> None:
        """Count pushed items rejected as malformed."""

    def retry_after(self) -> int:
        """Seconds a client refused with 429 should wait."""

    async def healthz(self, *, detail: bool = False) -> tuple[bool, dict[str, Any]]:
        """Whether the daemon is healthy, and what ``GET /healthz`` shows (``detail``: also
        what only a reader may see)."""


class _ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server log, with a request that is not valid HTTP (a bad chunk size, a
    malformed header line) logged at INFO in one line, not at ERROR with a traceback:
    anyone can send one, and must not be able to fill the log. Anything else aiohttp
    reports stays an ERROR with its traceback."""

    def exception(self, msg: object, *args: object, exc_info: Any = True,
                  **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError):
            what = " ".join(str(exc).split())[:200]
            self.logger.info("a request that is not valid HTTP was refused: %s", what)
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)


def server_options(service: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` serving the API: no decompression by
    aiohttp (:func:`decode_body` does it, within the size limit, and a bad stream is a 400
    that keeps the connection), a connection closed when it has sent no whole request
    head for ``header_timeout_seconds`` (slow headers, idle keep-alive), malformed HTTP
    logged at INFO (see :class:`_ServerLog`)."""
    return {"auto_decompress": False, "keepalive_timeout": service.header_timeout_seconds,
            "logger": _ServerLog(logging.getLogger("aiohttp.server"), {})}


class BodyError(ValueError):
    """A request body that is not a post, an array of posts or JSON Lines."""

    status = 400


class _TooLargeError(BodyError):
    status = 413


class _EncodingError(BodyError):
    status = 415


class _ClientGone(Exception):  # noqa: N818 (a state)
    """The client closed the connection before its request was read."""


class _LineError:
    """One JSON Lines line that is not JSON (or not UTF-8)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _HugeNumber:
    """A JSON integer of more than :data:`MAX_INT_DIGITS` digits, left unconverted."""

    def __init__(self, digits: str) -> None:
        self.digits = len(digits)

    def __repr__(self) -> str:
        return f"<a number of {self.digits} digits>"


def _parse_int(text: str) -> int | _HugeNumber:
    return int(text) if len(text) <= MAX_INT_DIGITS else _HugeNumber(text)


def _loads(text: str) -> Any:
    """``json.loads`` that never raises for what JSON allows: huge integers are left as
    :class:`_HugeNumber`; nesting too deep for Python is a :class:`json.JSONDecodeError`."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def decode_body(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` as sent with ``Content-Encoding: encoding`` (identity, gzip, x-gzip or
    deflate), decompressed to at most ``limit`` bytes. Raises :class:`BodyError` (400)
    for a stream that is not valid, 413 past ``limit``, 415 for another encoding."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return body
    if name in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif name == "deflate":  # zlib-wrapped, as the RFC says; raw deflate as browsers send
        wbits = zlib.MAX_WBITS if body[:1] and (body[0] & 0x0F) == 8 else -zlib.MAX_WBITS
    else:
        raise _EncodingError(
            f"Content-Encoding {encoding[:40]!r} is not supported: send identity, gzip or "
            "deflate"
        )
    stream = zlib.decompressobj(wbits)
    try:
        out = stream.decompress(body, limit + 1)
        if len(out) > limit or stream.unconsumed_tail:
            raise _TooLargeError(f"the body is over the limit of {limit} bytes once "
                                "decompressed ([service] max_body_bytes); send smaller batches")
        out += stream.flush()
    except zlib.error as exc:
        raise BodyError(f"the body is not valid {name} data: {exc}") from None
    if not stream.eof:
        raise BodyError(f"the {name} body is cut short")
    if len(out) > limit:
        raise _TooLargeError(f"the body is over the limit of {limit} bytes once decompressed "
                            "([service] max_body_bytes); send smaller batches")
    return out


def read_items(body: bytes, content_type: str) -> list[tuple[int | None, Any]]:
    """The items of a ``POST /v1/posts`` body, each with its line number (JSON Lines) or
    None: a JSON object is one item, a JSON array its elements, JSON Lines one item per
    non-blank line (a line that is not JSON, or not UTF-8, becomes an item that is
    rejected). Raises :class:`BodyError` for a body that is none of these."""
    try:
        text: str | None = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = None
        problem = f"the body is not UTF-8: {exc.reason} at byte {exc.start}"
    if text is not None and not text.strip():
        raise BodyError("the body is empty: send a post object, an array or JSON Lines")
    if content_type not in NDJSON_TYPES:
        if text is None:
            if sum(1 for line in body.splitlines() if line.strip()) < 2:
                raise BodyError(problem)
        else:
            try:
                value = _loads(text)
            except json.JSONDecodeError as exc:
                if sum(1 for line in text.splitlines() if line.strip()) < 2:
                    raise BodyError(f"the body is not JSON: {exc}") from None
            else:
                if isinstance(value, list):
                    return [(None, v) for v in value]
                if isinstance(value, dict):
                    return [(None, value)]
                raise BodyError(
                    f"the body is a JSON {type(value).__name__}: send a post object, an "
                    "array of posts or JSON Lines"
                )
    items: list[tuple[int | None, Any]] = []
    lines = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            items.append((number, _LineError(
                f"line {number} is not UTF-8: {exc.reason} at byte {exc.start}")))
            continue
        if not line.strip():
            continue
        try:
            items.append((number, _loads(line)))
        except json.JSONDecodeError as exc:
            items.append((number, _LineError(f"line {number} is not JSON: {exc}")))
    if not items:
        raise BodyError("the body is empty: send a post object, an array or JSON Lines")
    return items


@dataclass(slots=True)
class Pushed:
    """A ``POST /v1/posts`` body read: one result per item (its ``status`` still
    ``rejected`` for items to be stored), the posts to store and the item index of each."""

    results: list[dict[str, Any]]
    posts: list[Post]
    at: list[int]


def read_posts(body: bytes, content_type: str, *, max_text_chars: int) -> Pushed:
    """The posts of a ``POST /v1/posts`` body, and why each other item was rejected
    (pure CPU work: the handler runs it on a worker thread). Raises :class:`BodyError`
    for a body that is no post, array or JSON Lines. Whatever an item holds, it is one
    result: the parser's :class:`~tracker.errors.PostError`, or any other failure to read
    it, rejects that item alone."""
    pushed = Pushed([], [], [])
    for index, (line, record) in enumerate(read_items(body, content_type)):
        result: dict[str, Any] = {"index": index, "id": _item_id(record),
                                  "status": "rejected", "reason": None}
        if line is not None:
            result["line"] = line
        pushed.results.append(result)
        if isinstance(record, _LineError):
            result["reason"] = _cut(record.reason)
            continue
        try:
            post = parse_post(record, default_source=PUSH_SOURCE, max_text_chars=max_text_chars)
        except InputError as exc:  # PostError: the parser's own verdict
            result["reason"] = _cut(str(exc))
            continue
        except (ValueError, TypeError, OverflowError, RecursionError, AttributeError,
                KeyError, IndexError) as exc:
            result["reason"] = _cut(f"the post cannot be read: {type(exc).__name__}: {exc}")
            continue
        pushed.posts.append(post)
        pushed.at.append(index)
    return pushed


def _cut(text: str, limit: int = 2 * ECHO_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _item_id(record: Any) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return _cut(str(value), ECHO_CHARS)
    return None


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _json(text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A response of JSON serialized already (off the loop)."""
    return web.Response(text=text, status=status, content_type="application/json",
                        headers=headers)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int, *,
               cut: bool = False) -> int:
    """Query parameter ``name`` as an integer in [low, high] (400 otherwise; with ``cut``
    a value above ``high`` is taken as ``high``)."""
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw) if len(raw) <= 20 else None
    except ValueError:
        value = None
    if value is None:
        raise web.HTTPBadRequest(reason=f"{name} must be an integer, got {raw[:40]!r}")
    if cut and value > high:
        return high
    if not low <= value <= high:
        raise web.HTTPBadRequest(reason=f"{name} must be between {low} and {high}, got {value}")
    return value


def _page(request: web.Request, default: int) -> tuple[int, int]:
    """(limit, offset) of a list request."""
    return (_int_param(request, "limit", default, 1, MAX_PAGE, cut=True),
            _int_param(request, "offset", 0, 0, MAX_OFFSET))


def _page_headers(request: web.Request, limit: int, offset: int, total: int | None,
                  more: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    if total is not None:
        headers["X-Total-Count"] = str(total)
    if more and offset + limit <= MAX_OFFSET:
        url = request.rel_url.update_query(limit=limit, offset=offset + limit)
        headers["Link"] = f'<{url}>; rel="next"'
    return headers


def _choice(request: web.Request, name: str, kind: type[Status] | type[ClaimKind]) -> Any:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise web.HTTPBadRequest(
            reason=f"{name} must be one of {choices}, got {raw[:40]!r}") from None


def _is_read(request: web.Request) -> bool:
    """Whether ``request`` needs the read token: every ``/v1/*`` route but the push, and
    ``/metrics``."""
    path = request.path
    if path == "/metrics":
        return True
    return path.startswith("/v1/") and not (path == "/v1/posts" and request.method == "POST")


def _guard(daemon: Service) -> Any:
    """Middleware: per-client and read limits, the read token, aiohttp's own HTTP errors
    (404, 405, 413...) answered as JSON; a library error in a read as 404 (unknown
    incident or narrative), a read past its time limit as 503, a client gone as 499;
    requests counted."""
    service = daemon.settings.service
    in_flight: Counter[str] = Counter()
    reading = 0

    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal reading
        read = _is_read(request)
        if read and not read_allowed(request, daemon):
            if daemon.token is None and daemon.read_token is None:
                return _error(401, "the daemon has no token configured, so it answers no "
                              f"reads: set {service.read_token_env} (or {service.token_env}) "
                              "in its environment and restart it", CHALLENGE)
            return _error(401, "missing or wrong token (Authorization: Bearer TOKEN)",
                          CHALLENGE)
        if read and reading >= READ_SLOTS:
            return _error(429, f"{reading} reads are running; retry in 1 s",
                          {"Retry-After": "1"})
        if read:
            reading += 1
        try:
            return await handler(request)
        finally:
            if read:
                reading -= 1

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        client = request.remote or "unknown"
        counted = request.path != "/healthz"
        try:
            if counted and in_flight[client] >= service.client_requests:
                response: web.StreamResponse = _error(
                    429, f"this client has {in_flight[client]} requests in flight ([service] "
                    "client_requests); retry in 1 s", {"Retry-After": "1"})
            else:
                if counted:
                    in_flight[client] += 1
                try:
                    response = await answer(request, handler)
                finally:
                    if counted:
                        in_flight[client] -= 1
                        if not in_flight[client]:
                            del in_flight[client]
        except web.HTTPException as exc:
            keep = {k: v for k, v in exc.headers.items()
                    if k in ("Allow", "Retry-After", "WWW-Authenticate")}
            if exc.status == 413:
                message = (f"the body is over the limit of {service.max_body_bytes}"
                           " bytes ([service] max_body_bytes); send smaller batches")
            elif exc.status in (404, 405):
                message = f"{exc.reason}: {request.method} {request.path[:200]}"
            else:
                message = str(exc.reason)
            response = _error(exc.status, message, keep)
        except ReadTimeoutError as exc:
            response = _error(503, str(exc), {"Retry-After": "5"})
        except InputError as exc:
            response = _error(404, str(exc))
        except (_ClientGone, ConnectionError) as exc:
            log.info("%s %s: the client went away (%s)", request.method, route,
                     type(exc).__name__)
            response = _error(499, "the client closed the connection")
            response.force_close()
        except Exception:
            log.exception("%s %s failed", request.method, route)
            response = _error(500, "internal error; see the daemon's log")
        daemon.metrics.requests.labels(route, str(response.status)).inc()
        return response

    return middleware


async def _read_body(request: web.Request, service: ServiceSettings) -> bytes:
    """The request's body, decompressed (on a worker thread), within the body time limit.
    Raises :class:`BodyError` (answered with its status), :class:`_ClientGone`, or
    aiohttp's 413."""
    try:
        async with asyncio.timeout(service.body_timeout_seconds):
            raw = await request.read()
    except TimeoutError:
        raise _SlowBody() from None
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise _ClientGone() from exc
    except web.RequestPayloadError as exc:  # the parser's: bad chunking (or gzip, when
        # aiohttp decompresses: served without server_options)
        raise BodyError(f"the body cannot be read: {exc}".replace("\n", " ")) from None
    encoding = request.headers.get("Content-Encoding", "")
    if encoding.strip().lower() in ("", "identity"):
        return raw
    return await asyncio.to_thread(decode_body, raw, encoding, service.max_body_bytes)


class _SlowBody(Exception):  # noqa: N818
    """The body did not arrive within ``[service] body_timeout_seconds``."""


def build_app(daemon: Service) -> web.Application:
    """The aiohttp application serving ``daemon`` (routes as in the module docstring);
    serve it with :func:`server_options`."""
    service = daemon.settings.service
    app = web.Application(
        client_max_size=service.max_body_bytes, middlewares=[_guard(daemon)]
    )
    runtime = daemon.runtime
    reads = daemon.reads

    async def post_posts(request: web.Request) -> web.StreamResponse:
        if not daemon.accepting:
            return _error(503, "the daemon is starting or shutting down; retry shortly",
                          {"Retry-After": "5"})
        if daemon.token is None:
            return _error(401, "the daemon has no API token configured, so it accepts no "
                          f"posts: set {service.token_env} in its environment and restart it",
                          CHALLENGE)
        if not write_allowed(request, daemon):
            return _error(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)",
                          CHALLENGE)
        limit = service.max_body_bytes
        size = request.content_length
        if size is not None and size > limit:
            return _error(413, f"the body is {size} bytes, over the limit of {limit} "
                          "([service] max_body_bytes); send smaller batches")
        if daemon.intake.full:
            return _too_busy()
        try:
            body = await _read_body(request, service)
            pushed = await asyncio.to_thread(
                read_posts, body, request.content_type,
                max_text_chars=daemon.settings.ingest.max_text_chars,
            )
        except _SlowBody:
            response = _error(408, "the body did not arrive within "
                              f"{service.body_timeout_seconds:g} s ([service] "
                              "body_timeout_seconds)")
            response.force_close()
            return response
        except BodyError as exc:
            return _error(exc.status, str(exc))
        results, posts, at = pushed.results, pushed.posts, pushed.at
        if posts:
            try:
                future = daemon.intake.offer(posts)
            except IntakeFull:
                return _too_busy()
            except IntakeClosed:
                return _error(503, "the daemon is shutting down; retry shortly",
                              {"Retry-After": "5"})
            try:
                outcomes = await asyncio.shield(future)
            except IntakeClosed:
                return _error(503, "the daemon stopped before these posts were stored; send "
                              "them again", {"Retry-After": "5"})
            except Exception as exc:  # systemic: the database or disk, not the posts
                what = f"{type(exc).__name__}: {exc}" if not isinstance(
                    exc, ClaimwatchError) else str(exc)
                log.error("a pushed batch of %d posts was not stored: %s", len(posts),
                          _cut(what))
                return _error(503, f"the posts were not stored ({_cut(what)}); send them "
                              "again", {"Retry-After": "5"})
            for index, outcome in zip(at, outcomes, strict=True):
                if isinstance(outcome, Failed):
                    results[index]["reason"] = outcome.reason
                else:
                    stored = outcome is Outcome.STORED
                    results[index]["status"] = "accepted" if stored else "duplicate"
        counts = {s: sum(1 for r in results if r["status"] == s)
                  for s in ("accepted", "duplicate", "rejected")}
        if counts["rejected"]:
            daemon.reject(counts["rejected"])
        answer = {"items": results, "accepted": counts["accepted"],
                  "duplicates": counts["duplicate"], "rejected": counts["rejected"]}
        return _json(await asyncio.to_thread(json.dumps, answer), status=202)

    def _too_busy() -> web.Response:
        wait = daemon.retry_after()
        return _error(429, f"{daemon.intake.depth} batches are waiting to be processed "
                      f"([service] queue_batches); retry in {wait} s",
                      {"Retry-After": str(wait)})

    async def get_query(request: web.Request) -> web.Response:
        text = request.query.get("q", "").strip()
        if not text:
            raise web.HTTPBadRequest(reason="q (the claim to look for) is required")
        if len(text) > daemon.settings.ingest.max_text_chars:
            raise web.HTTPBadRequest(reason="q is longer than [ingest] max_text_chars")
        k = _int_param(request, "k", 10, 1, MAX_PAGE)
        incident = request.query.get("incident") or None

        def read(store: Store) -> str:
            return json.dumps(query_json(runtime.query(text, k, incident, store=store)))

        async with daemon.query_lock:
            return _json(await reads.run(read))

    async def get_narratives(request: web.Request) -> web.Response:
        incident = request.query.get("incident") or None
        status = _choice(request, "status", Status)
        kind = _choice(request, "kind", ClaimKind)
        limit, offset = _page(request, MAX_PAGE)
        every = request.query.get("all", "").lower() in ("1", "true", "yes")

        def read(store: Store) -> tuple[str, int]:
            found = runtime.narratives(incident, status, kind, singletons=every, store=store)
            return json.dumps(narratives_json(found[offset : offset + limit])), len(found)

        text, total = await reads.run(read)
        return _json(text, headers=_page_headers(request, limit, offset, total,
                                                 offset + limit < total))

    async def get_narrative(request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        try:
            narrative_id = int(raw) if len(raw) <= 20 else None
        except ValueError:
            narrative_id = None
        if narrative_id is None:
            raise web.HTTPBadRequest(reason=f"a narrative id is a number, got {raw[:40]!r}")
        limit = _int_param(request, "claims_limit", CLAIMS_PAGE, 1, MAX_PAGE, cut=True)
        offset = _int_param(request, "claims_offset", 0, 0, 10_000_000)

        def read(store: Store) -> str:
            shown = narrative_detail_json(store, narrative_id)
            claims = shown["claims"]
            shown["claims"] = claims[offset : offset + limit]
            shown["claims_total"] = len(claims)
            shown["claims_next_offset"] = (
                offset + limit if offset + limit < len(claims) else None)
            return json.dumps(shown)

        return _json(await reads.run(read))

    async def get_incidents(request: web.Request) -> web.Response:
        limit, offset = _page(request, MAX_PAGE)

        def read(store: Store) -> tuple[str, int]:
            found = incidents_json(store)
            return json.dumps(found[offset : offset + limit]), len(found)

        text, total = await reads.run(read)
        return _json(text, headers=_page_headers(request, limit, offset, total,
                                                 offset + limit < total))

    async def get_alerts(request: web.Request) -> web.Response:
        incident = request.query.get("incident") or None
        limit, offset = _page(request, 200)

        def read(store: Store) -> tuple[str, bool]:
            if incident is not None:
                runtime.incident(incident, store=store)
            found = store.outbox.alerts(incident, limit=offset + limit + 1)
            page = found[offset : offset + limit]
            return json.dumps(alerts_json(page)), len(found) > offset + limit

        text, more = await reads.run(read)
        return _json(text, headers=_page_headers(request, limit, offset, None, more))

    async def healthz(request: web.Request) -> web.Response:
        ok, payload = await daemon.healthz(detail=read_allowed(request, daemon))
        return web.json_response(payload, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=daemon.metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE})

    app.router.add_post("/v1/posts", post_posts)
    app.router.add_get("/v1/query", get_query)
    app.router.add_get("/v1/narratives", get_narratives)
    app.router.add_get("/v1/narratives/{id}", get_narrative)
    app.router.add_get("/v1/incidents", get_incidents)
    app.router.add_get("/v1/alerts", get_alerts)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
