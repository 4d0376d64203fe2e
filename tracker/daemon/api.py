"""The daemon's HTTP API: JSON everywhere, errors as ``{"error": "..."}``.

``POST /v1/posts``
    Posts in: one post object, an array of them, or JSON Lines (``Content-Type:
    application/x-ndjson``, or any body of several lines that is not one JSON value).
    Needs ``Authorization: Bearer TOKEN``, the token being the value of the environment
    variable ``[service] token_env`` names; without that variable set, every request is
    refused. Answers 202 once the accepted posts are committed::

        {"items": [{"index": 0, "id": "1862", "status": "accepted", "reason": null}, ...],
         "accepted": 1, "duplicates": 0, "rejected": 0}

    ``status`` is ``accepted`` (stored now), ``duplicate`` (its (source, id) was stored
    already) or ``rejected`` (malformed; ``reason`` names the field), by ``index`` in the
    request (JSON Lines: also ``line``). 400 for a body that is not JSON at all, 401 without
    a valid token, 413 over ``[service] max_body_bytes``, 429 with ``Retry-After`` (seconds)
    when ``[service] queue_batches`` batches wait already, 503 while shutting down.

``GET /v1/query?q=TEXT&k=10&incident=ID``,
``GET /v1/narratives?incident=&status=&kind=&limit=&all=`` (all=1: single posts too),
``GET /v1/narratives/{id}``, ``GET /v1/incidents``, ``GET /v1/alerts?incident=&limit=``
    The same JSON as ``claimwatch query``, ``narratives``, ``narrative show``,
    ``incident list`` and ``alerts`` print with ``--json`` (one function in
    :mod:`tracker.views` builds each). No token needed. 404 for an unknown incident or
    narrative, 400 for a bad parameter.

    Read on the daemon's read pool (:class:`~tracker.store.pool.ReadPool`): read-only
    connections that see the last commit and never wait for the writer. A read past
    ``[service] read_timeout_seconds`` is stopped and answered 503 with ``Retry-After``.

``GET /healthz``
    Up, the database path and whether it can be read, queue depth, last poll per source
    (time, ok or not, reason). 200, or 503 when the database cannot be read.

``GET /metrics``
    Prometheus text format (see :mod:`tracker.daemon.metrics`).

Request bodies are parsed, and answers serialized, on worker threads: the event loop only
waits. The handlers depend on :class:`Service` (what they need of the daemon), not on the
daemon itself: :mod:`tracker.daemon.service` builds the app from its ``Daemon``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from tracker.config.settings import Settings
from tracker.daemon.intake import Intake, IntakeClosed, IntakeFull
from tracker.daemon.metrics import CONTENT_TYPE, Metrics
from tracker.errors import ClaimwatchError, InputError, PostError, ReadTimeoutError
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

__all__ = ["PUSH_SOURCE", "BodyError", "Pushed", "Service", "build_app", "read_items", "read_posts"]

log = logging.getLogger("claimwatch.api")

PUSH_SOURCE = "push"
"""The source name of pushed posts that carry none."""

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/jsonlines",
                          "application/x-jsonlines"})
_AUTH = {"WWW-Authenticate": 'Bearer realm="claimwatch"'}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Service(Protocol):
    """What the handlers need of the daemon (:class:`tracker.daemon.service.Daemon`)."""

    settings: Settings
    runtime: Runtime
    metrics: Metrics
    reads: ReadPool
    intake: Intake
    token: str | None
    accepting: bool
    query_lock: asyncio.Lock

    def reject(self, count: int) -> None:
        """Count pushed items rejected as malformed."""

    def retry_after(self) -> int:
        """Seconds a client refused with 429 should wait."""

    async def healthz(self) -> tuple[bool, dict[str, Any]]:
        """Whether the daemon is healthy, and what ``GET /healthz`` shows."""


class BodyError(ValueError):
    """A request body that is not a post, an array of posts or JSON Lines."""


class _LineError:
    """One JSON Lines line that is not JSON."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def read_items(body: bytes, content_type: str) -> list[tuple[int | None, Any]]:
    """The items of a ``POST /v1/posts`` body, each with its line number (JSON Lines) or
    None: a JSON object is one item, a JSON array its elements, JSON Lines one item per
    non-blank line (a line that is not JSON becomes an item that is rejected). Raises
    :class:`BodyError` for a body that is none of these."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        raise BodyError("the body is empty: send a post object, an array or JSON Lines")
    if content_type not in NDJSON_TYPES:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if sum(1 for line in text.splitlines() if line.strip()) < 2:
                raise BodyError(f"the body is not JSON: {exc}") from None
        else:
            if isinstance(value, list):
                return [(None, v) for v in value]
            if isinstance(value, dict):
                return [(None, value)]
            raise BodyError(
                f"the body is a JSON {type(value).__name__}: send a post object, an array "
                "of posts or JSON Lines"
            )
    items: list[tuple[int | None, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            items.append((number, _LineError(f"line {number} is not JSON: {exc}")))
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
    for a body that is no post, array or JSON Lines."""
    pushed = Pushed([], [], [])
    for index, (line, record) in enumerate(read_items(body, content_type)):
        result: dict[str, Any] = {"index": index, "id": _item_id(record),
                                  "status": "rejected", "reason": None}
        if line is not None:
            result["line"] = line
        pushed.results.append(result)
        if isinstance(record, _LineError):
            result["reason"] = record.reason
            continue
        try:
            post = parse_post(record, default_source=PUSH_SOURCE, max_text_chars=max_text_chars)
        except PostError as exc:
            result["reason"] = str(exc)
            continue
        pushed.posts.append(post)
        pushed.at.append(index)
    return pushed


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _json(text: str, status: int = 200) -> web.Response:
    """A response of JSON serialized already (off the loop)."""
    return web.Response(text=text, status=status, content_type="application/json")


def _item_id(record: Any) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(reason=f"{name} must be between {low} and {high}, got {value}")
    return value


def _choice(request: web.Request, name: str, kind: type[Status] | type[ClaimKind]) -> Any:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise web.HTTPBadRequest(reason=f"{name} must be one of {choices}, got {raw!r}") from None


def _json_errors(daemon: Service) -> Any:
    """Middleware: aiohttp's own HTTP errors (404, 405, 413...) answered as JSON; a
    library error in a read as 404 (unknown incident or narrative), a read past its time
    limit as 503; requests counted."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            keep = {k: v for k, v in exc.headers.items()
                    if k in ("Allow", "Retry-After", "WWW-Authenticate")}
            if exc.status == 413:
                message = (f"the body is over the limit of {daemon.settings.service.max_body_bytes}"
                           " bytes ([service] max_body_bytes); send smaller batches")
            elif exc.status in (404, 405):
                message = f"{exc.reason}: {request.method} {request.path}"
            else:
                message = str(exc.reason)
            response = _error(exc.status, message, keep)
        except ReadTimeoutError as exc:
            response = _error(503, str(exc), {"Retry-After": "5"})
        except InputError as exc:
            response = _error(404, str(exc))
        except Exception:
            log.exception("%s %s failed", request.method, route)
            response = _error(500, "internal error; see the daemon's log")
        daemon.metrics.requests.labels(route, str(response.status)).inc()
        return response

    return middleware


def build_app(daemon: Service) -> web.Application:
    """The aiohttp application serving ``daemon`` (routes as in the module docstring)."""
    service = daemon.settings.service
    app = web.Application(
        client_max_size=service.max_body_bytes, middlewares=[_json_errors(daemon)]
    )
    runtime = daemon.runtime
    reads = daemon.reads

    async def post_posts(request: web.Request) -> web.Response:
        if not daemon.accepting:
            return _error(503, "the daemon is starting or shutting down; retry shortly",
                          {"Retry-After": "5"})
        if daemon.token is None:
            return _error(401, "the daemon has no API token configured, so it accepts no "
                          f"posts: set {service.token_env} in its environment and restart it",
                          _AUTH)
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), daemon.token.encode()
        ):
            return _error(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)",
                          _AUTH)
        limit = service.max_body_bytes
        size = request.content_length
        if size is not None and size > limit:
            return _error(413, f"the body is {size} bytes, over the limit of {limit} "
                          "([service] max_body_bytes); send smaller batches")
        if daemon.intake.full:
            return _too_busy()
        body = await request.read()
        try:
            pushed = await asyncio.to_thread(
                read_posts, body, request.content_type,
                max_text_chars=daemon.settings.ingest.max_text_chars,
            )
        except BodyError as exc:
            return _error(400, str(exc))
        results, posts, at = pushed.results, pushed.posts, pushed.at
        rejected = len(results) - len(posts)
        if rejected:
            daemon.reject(rejected)
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
            except ClaimwatchError as exc:
                log.error("a pushed batch of %d posts failed: %s", len(posts), exc)
                return _error(500, f"the posts were not stored: {exc}; send them again")
            for index, outcome in zip(at, outcomes, strict=True):
                stored = outcome is Outcome.STORED
                results[index]["status"] = "accepted" if stored else "duplicate"
        counts = {s: sum(1 for r in results if r["status"] == s)
                  for s in ("accepted", "duplicate", "rejected")}
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
        k = _int_param(request, "k", 10, 1, 1000)
        incident = request.query.get("incident") or None

        def read(store: Store) -> str:
            return json.dumps(query_json(runtime.query(text, k, incident, store=store)))

        async with daemon.query_lock:
            return _json(await reads.run(read))

    async def get_narratives(request: web.Request) -> web.Response:
        incident = request.query.get("incident") or None
        status = _choice(request, "status", Status)
        kind = _choice(request, "kind", ClaimKind)
        limit = _int_param(request, "limit", 1000, 1, 1_000_000)
        every = request.query.get("all", "").lower() in ("1", "true", "yes")

        def read(store: Store) -> str:
            found = runtime.narratives(incident, status, kind, singletons=every, store=store)
            return json.dumps(narratives_json(found[:limit]))

        return _json(await reads.run(read))

    async def get_narrative(request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        try:
            narrative_id = int(raw)
        except ValueError:
            raise web.HTTPBadRequest(reason=f"a narrative id is a number, got {raw!r}") from None
        return _json(await reads.run(
            lambda store: json.dumps(narrative_detail_json(store, narrative_id))
        ))

    async def get_incidents(request: web.Request) -> web.Response:
        return _json(await reads.run(lambda store: json.dumps(incidents_json(store))))

    async def get_alerts(request: web.Request) -> web.Response:
        incident = request.query.get("incident") or None
        limit = _int_param(request, "limit", 200, 1, 100_000)

        def read(store: Store) -> str:
            if incident is not None:
                runtime.incident(incident, store=store)
            return json.dumps(alerts_json(store.outbox.alerts(incident, limit=limit)))

        return _json(await reads.run(read))

    async def healthz(request: web.Request) -> web.Response:
        ok, payload = await daemon.healthz()
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
