"""The analyst's page: the daemon serves it at ``GET /`` on the API's host and port.

A shell of plain HTML (``static/app.html``) with one stylesheet and one script, no build
step and nothing loaded from elsewhere; the script draws the views (incidents, one
incident with its timeline, one narrative) from JSON: the ``/v1`` API and the read-only
``/page/api/...`` answers below, which give what the API lacks (the timeline's series, a
narrative's top posts and status history, what is new since a cursor).

Routes::

    GET  /, /incidents/{id}, /narratives/{id}   the page (the sign-in form without the cookie)
    GET  /static/...                             its stylesheet and script
    POST /signin                                 form field ``token``: the read token
    POST /signout                                clears the cookie
    GET  /page/api/overview                      incidents with counts, alerts open, latest post
    GET  /page/api/incidents/{id}?span=          one incident: its top narratives, newest
                                                 alerts, findings, newest posts, the timeline
    GET  /page/api/incidents/{id}/narratives?status=&kind=&offset=&limit=
                                                 its narratives, most spread first, filtered
    GET  /page/api/incidents/{id}/alerts         all its alert events, newest first
    GET  /page/api/incidents/{id}/timeline?span= the timeline over ``busiest``, ``6h``,
                                                 ``24h`` or ``all`` (default ``busiest``)
    GET  /page/api/narratives/{id}?offset=&limit=  one narrative, its claims paged
    GET  /page/api/live?posts=N&alert=ID&incident=  what is new since the cursor
    POST /page/api/incidents/{id}/findings       JSON {text, kind?, status?, actors?}
    POST /page/api/incidents/{id}/close          close the incident now

Signing in keeps the read token in the ``claimwatch_read`` cookie (``HttpOnly``,
``SameSite=Strict``, ``Secure`` behind https); every read checks it with
:func:`tracker.daemon.auth.read_allowed`. Writes need the write token as ``Authorization:
Bearer`` (the script asks for it and keeps it in memory only; checked by
:func:`tracker.daemon.auth.write_allowed`) and are refused from other sites: the
``Origin`` (or ``Sec-Fetch-Site``) must be this page's own, and the ``X-CSRF-Token`` header
must be the token the page was served with (an HMAC of the cookie under a key made at
start). Times in answers are ISO 8601 UTC; rates are posts per minute. The JSON answers
are gzip-compressed for clients that accept it, and carry what a view shows: an
incident's :data:`NARRATIVES_SHOWN` top narratives and :data:`ALERTS_SHOWN` newest alerts
(without their first post and samples), the rest a request away.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from aiohttp import web

from tracker.daemon.api import Service
from tracker.daemon.auth import READ_COOKIE, read_allowed, same_token, write_allowed
from tracker.errors import InputError
from tracker.evaluation.plot import rate_series
from tracker.models import Alert, AlertEvent, ClaimKind, FindingStatus, Narrative, Status, iso
from tracker.narratives.findings import NarrativeView, status_of
from tracker.pipeline import Pipeline
from tracker.store import Store
from tracker.views import (
    alert_json,
    finding_json,
    incident_json,
    narrative_detail_json,
)

__all__ = ["COOKIE", "STATIC", "PageService", "add_page_routes"]

COOKIE = READ_COOKIE
"""The cookie that holds the read token (``claimwatch_read``)."""

STATIC = Path(str(resources.files("tracker.daemon") / "static"))
"""The page's files: app.html, signin.html, page.css, page.js."""

TOP_NARRATIVES = 6
"""Narratives drawn on an incident's timeline (the most posts first)."""

TIMELINE_POINTS = 240
"""Samples per series on the timeline."""

WINDOW_MINUTES = 15.0
"""The sliding window of the timeline's rates (as `claimwatch plot` draws them)."""

NARRATIVES_SHOWN = 20
"""Narratives in the incident answer (most spread first); the rest from ``/narratives``."""

ALERTS_SHOWN = 20
"""Alert events in the incident answer (newest first); all from ``/alerts``."""

SPANS = {"6h": timedelta(hours=6), "24h": timedelta(hours=24), "all": None, "busiest": None}
"""The timeline's ranges: from the incident's start, ``busiest`` as :func:`busiest_end`."""

BUSIEST_MAX = timedelta(hours=12)
"""The longest ``busiest`` span."""

QUIET_SHARE = 0.05
"""``busiest`` ends where the incident's posts per 10 minutes stay under this share of
their peak."""

_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class PageService(Service, Protocol):
    """What the page needs of the daemon: the API's :class:`Service`, its read token (for
    :mod:`tracker.daemon.auth`) and the pipeline (whose writer thread runs the writes)."""

    read_token: str | None

    @property
    def pipeline(self) -> Pipeline:
        """The running pipeline."""


def add_page_routes(app: web.Application, daemon: PageService) -> None:
    """Serve the page and its JSON from ``app`` (routes in the module docstring)."""
    Page(daemon).mount(app)


class Page:
    """The page's handlers over one daemon; ``key`` signs the CSRF tokens."""

    def __init__(self, daemon: PageService) -> None:
        self.daemon = daemon
        self.key = secrets.token_bytes(32)
        self.shell = (STATIC / "app.html").read_text(encoding="utf-8")
        self.signin_form = (STATIC / "signin.html").read_text(encoding="utf-8")

    def mount(self, app: web.Application) -> None:
        router = app.router
        for path in ("/", "/incidents/{id}", "/narratives/{id}"):
            router.add_get(path, self.page)
        router.add_static("/static/", STATIC, append_version=False)
        router.add_post("/signin", self.signin)
        router.add_post("/signout", self.signout)
        router.add_get("/page/api/overview", self.overview)
        router.add_get("/page/api/incidents/{id}", self.incident)
        router.add_get("/page/api/incidents/{id}/narratives", self.incident_narratives)
        router.add_get("/page/api/incidents/{id}/alerts", self.incident_alerts)
        router.add_get("/page/api/incidents/{id}/timeline", self.incident_timeline)
        router.add_get("/page/api/narratives/{id}", self.narrative)
        router.add_get("/page/api/live", self.live)
        router.add_post("/page/api/incidents/{id}/findings", self.add_finding)
        router.add_post("/page/api/incidents/{id}/close", self.close_incident)

    # -- signing in ---------------------------------------------------------------------

    def csrf(self, request: web.Request) -> str:
        """The CSRF token of this request's cookie (an HMAC of it under the page's key)."""
        cookie = request.cookies.get(COOKIE, "")
        return hmac.new(self.key, cookie.encode(), hashlib.sha256).hexdigest()

    def _html(self, text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html",
                            charset="utf-8", headers=_SECURITY)

    def _signin_page(self, error: str = "", status: int = 200) -> web.Response:
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        return self._html(self.signin_form.replace("{{error}}", message), status)

    async def page(self, request: web.Request) -> web.Response:
        """The page's shell, or only the sign-in form without a valid read cookie."""
        if not read_allowed(request, self.daemon):
            return self._signin_page()
        return self._html(self.shell.replace("{{csrf}}", html.escape(self.csrf(request))))

    async def signin(self, request: web.Request) -> web.StreamResponse:
        """Check the read token from the form; keep it in the cookie and go to the page."""
        if not _same_origin(request):
            return _refuse("a sign-in from another site is refused")
        form = await request.post()
        token = str(form.get("token", "")).strip()
        daemon = self.daemon
        if not any(same_token(token, t) for t in (daemon.read_token or daemon.token,
                                                  daemon.token)):  # as read_allowed takes it
            return self._signin_page("That read token is not the daemon's: try again.", 401)
        response = _see_other("/")
        response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="Strict",
                            secure=request.secure)
        return response

    async def signout(self, request: web.Request) -> web.StreamResponse:
        """Clear the cookie (a form of the page's own: same origin and its CSRF token)."""
        form = await request.post()
        if not _same_origin(request) or not hmac.compare_digest(
            str(form.get("csrf", "")), self.csrf(request)
        ):
            return _refuse("a sign-out from another site is refused")
        response = _see_other("/")
        response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
        return response

    def _reader(self, request: web.Request) -> None:
        if not read_allowed(request, self.daemon):
            raise web.HTTPUnauthorized(reason="sign in: the read token is missing or wrong")

    def _writer(self, request: web.Request) -> None:
        """Writes: same origin, the page's CSRF token, the read cookie and the write token."""
        if not _same_origin(request):
            raise web.HTTPForbidden(reason="a write from another site is refused")
        given = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(given, self.csrf(request)):
            raise web.HTTPForbidden(reason="the page's CSRF token is missing or stale: reload")
        self._reader(request)
        if not write_allowed(request, self.daemon):
            raise web.HTTPUnauthorized(reason="the write token is missing or wrong")

    # -- reads --------------------------------------------------------------------------

    async def _answer(self, request: web.Request, fn: Any) -> web.Response:
        self._reader(request)
        text = await self.daemon.reads.run(
            lambda store: json.dumps(fn(store), separators=(",", ":")))
        response = web.Response(text=text, content_type="application/json",
                                headers={"Cache-Control": "no-store"})
        response.enable_compression()  # gzip or deflate when the client accepts it
        return response

    async def overview(self, request: web.Request) -> web.Response:
        return await self._answer(request, overview_json)

    async def incident(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        span = _span(request)
        runtime = self.daemon.runtime
        active_minutes = self.daemon.settings.narratives.active_minutes

        def read(store: Store) -> dict[str, Any]:
            runtime.incident(incident_id, store=store)
            narratives = runtime.narratives(incident_id, store=store)
            return incident_view_json(store, incident_id, narratives, active_minutes, span)

        return await self._answer(request, read)

    async def incident_narratives(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        status = request.query.get("status", "")
        kind = request.query.get("kind", "")
        offset = max(_int(request.query.get("offset", "0"), "offset"), 0)
        limit = min(max(_int(request.query.get("limit", str(NARRATIVES_SHOWN)), "limit"), 1),
                    5000)
        runtime = self.daemon.runtime
        active_minutes = self.daemon.settings.narratives.active_minutes

        def read(store: Store) -> dict[str, Any]:
            runtime.incident(incident_id, store=store)
            narratives = runtime.narratives(incident_id, store=store)
            return narrative_rows_json(store, incident_id, narratives, active_minutes,
                                       status=status, kind=kind, offset=offset, limit=limit)

        return await self._answer(request, read)

    async def incident_alerts(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        runtime = self.daemon.runtime

        def read(store: Store) -> dict[str, Any]:
            runtime.incident(incident_id, store=store)
            shown, total, still_open = alert_rows_json(store, incident_id, None)
            return {"alerts": shown, "total": total, "open": still_open}

        return await self._answer(request, read)

    async def incident_timeline(self, request: web.Request) -> web.Response:
        incident_id = request.match_info["id"]
        span = _span(request)
        runtime = self.daemon.runtime

        def read(store: Store) -> dict[str, Any]:
            runtime.incident(incident_id, store=store)
            return timeline_json(store, incident_id, _live_alerts(store, incident_id), span)

        return await self._answer(request, read)

    async def narrative(self, request: web.Request) -> web.Response:
        narrative_id = _int(request.match_info["id"], "a narrative id")
        offset = _int(request.query.get("offset", "0"), "offset")
        limit = min(max(_int(request.query.get("limit", "50"), "limit"), 1), 500)
        model = self.daemon.runtime.embedder.name
        similarity = self.daemon.settings.narratives.join_similarity
        return await self._answer(request, functools.partial(
            narrative_view_json, narrative_id=narrative_id, offset=max(offset, 0),
            limit=limit, model=model, similarity=similarity,
        ))

    async def live(self, request: web.Request) -> web.Response:
        posts = _int(request.query.get("posts", "-1"), "posts")
        alert = request.query.get("alert", "")
        incident = request.query.get("incident") or None
        return await self._answer(request, functools.partial(
            live_json, posts=posts, alert=alert, incident_id=incident,
        ))

    # -- writes -------------------------------------------------------------------------

    async def add_finding(self, request: web.Request) -> web.Response:
        self._writer(request)
        incident_id = request.match_info["id"]
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(reason="the body is not JSON") from None
        if not isinstance(body, dict) or not str(body.get("text", "")).strip():
            raise web.HTTPBadRequest(reason="text (what the authority established) is required")
        kind = _enum(body.get("kind"), ClaimKind, "kind")
        status = _enum(body.get("status"), FindingStatus, "status") or FindingStatus.CONFIRMED
        actors = [str(a).strip() for a in body.get("actors") or [] if str(a).strip()]
        runtime = self.daemon.runtime
        finding = await self.daemon.pipeline.run_db(functools.partial(
            runtime.add_finding, incident_id, str(body["text"]), kind=kind, actors=actors,
            status=status,
        ))
        return web.json_response(finding_json(finding), status=201)

    async def close_incident(self, request: web.Request) -> web.Response:
        self._writer(request)
        incident_id = request.match_info["id"]
        runtime = self.daemon.runtime
        now = datetime.now(UTC)

        def close() -> None:
            runtime.incident(incident_id)
            runtime.store.close_incident(incident_id, now)

        await self.daemon.pipeline.run_db(close)
        return web.json_response({"id": incident_id, "closed_at": iso(now)})


def _see_other(location: str) -> web.Response:
    """A redirect returned, not raised (the API's middleware answers raised HTTP errors
    as JSON, without their cookies)."""
    return web.Response(status=303, headers={"Location": location, **_SECURITY})


def _refuse(message: str) -> web.Response:
    return web.json_response({"error": message}, status=403)


def _same_origin(request: web.Request) -> bool:
    """Whether the request comes from a page of this host: its ``Origin`` (browsers send
    one with every POST) is ours, and ``Sec-Fetch-Site``, when sent, says same-origin."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return site is not None  # a browser that says where it came from
    return origin == f"{request.scheme}://{request.host}"


def _span(request: web.Request) -> str:
    span = request.query.get("span", "busiest")
    if span not in SPANS:
        raise web.HTTPBadRequest(reason=f"span must be one of {', '.join(SPANS)}, got {span!r}")
    return span


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name} must be an integer, got {raw!r}") from None


def _enum(raw: Any, kind: type[ClaimKind] | type[FindingStatus], name: str) -> Any:
    if raw in (None, ""):
        return None
    try:
        return kind(str(raw))
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise web.HTTPBadRequest(reason=f"{name} must be one of {choices}, got {raw!r}") from None


# -- what the views read (on the read pool: each takes a read-only Store) ------------------


def _rows(store: Store, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows of a read the store's table groups do not offer (the page's own lists)."""
    return store._all(sql, params)


_POST_COLUMNS = (
    "p.id, p.ext_id, p.source, p.author, p.tier, p.text, p.created_at, p.url, "
    "coalesce(json_extract(p.metrics, '$.followers'), 0), "
    "coalesce(json_extract(p.metrics, '$.reposts'), 0)"
)


def _post(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "post_id": row[1], "source": row[2], "author": row[3], "tier": row[4], "text": row[5],
        "created_at": iso(datetime.fromtimestamp(row[6], UTC)), "url": row[7],
        "followers": int(row[8]) if isinstance(row[8], int | float) else 0,
        "reposts": int(row[9]) if isinstance(row[9], int | float) else 0,
    }


def _live_alerts(
    store: Store, incident_id: str | None, recorded: Sequence[tuple[Alert, Any]] | None = None
) -> list[Alert]:
    """Recorded alert events (``recorded``, or all the incident's), newest first, each on
    the live narrative its own was merged into (as `claimwatch plot` draws them)."""
    if recorded is None:
        recorded = store.outbox.alerts(incident_id, limit=100_000)
    out = []
    for alert, _ in recorded:
        live = store.resolve_narrative(alert.narrative_id) or alert.narrative_id
        out.append(replace(alert, narrative_id=live) if live != alert.narrative_id else alert)
    return out


def _open_alerts(alerts: Sequence[Alert]) -> set[str]:
    """Ids of the raised alerts no resolving event follows."""
    raised = {a.alert_id for a in alerts if a.event is AlertEvent.RAISED}
    return raised - {a.follows for a in alerts if a.event is AlertEvent.RESOLVED and a.follows}


def overview_json(store: Store) -> dict[str, Any]:
    """Every incident with its counts, the alerts open on it and its latest post; and the
    live cursor (posts stored, the newest alert)."""
    incidents = []
    for incident in store.incidents():
        alerts = _live_alerts(store, incident.id)
        latest = store.latest_post_time(incident.id)
        incidents.append({
            **incident_json(incident), **store.incident_counts(incident.id),
            "alerts": len(alerts), "alerts_open": len(_open_alerts(alerts)),
            "latest_post": iso(latest),
        })
    return {"incidents": incidents, "cursor": _cursor(store)}


def _cursor(store: Store) -> dict[str, Any]:
    newest = store.outbox.alerts(None, limit=1)
    return {"posts": store.count("posts"), "alert": newest[0][0].alert_id if newest else ""}


_ALERT_FIELDS = ("alert_id", "event", "rule", "narrative_id", "label", "kind", "status",
                 "severity", "at", "spread_rate", "verified_rate", "reason", "follows")


def alert_rows_json(
    store: Store, incident_id: str, limit: int | None,
    recorded: Sequence[tuple[Alert, Any]] | None = None, alerts: Sequence[Alert] | None = None,
) -> tuple[list[dict[str, Any]], int, int]:
    """The incident's alert events as the alert list shows them, newest first (the
    ``limit`` newest, all with None): :data:`_ALERT_FIELDS`, ``deliveries`` and ``open``
    (a raised alert not yet resolved); with how many there are and how many are open.
    ``recorded`` and ``alerts`` (as :func:`_live_alerts` gives them), when the caller has
    read them already."""
    if recorded is None:
        recorded = store.outbox.alerts(incident_id, limit=100_000)
    if alerts is None:
        alerts = _live_alerts(store, incident_id, recorded)
    still_open = _open_alerts(alerts)
    shown = []
    for alert, (_, deliveries) in list(zip(alerts, recorded, strict=True))[:limit]:
        full = alert_json(alert, deliveries)
        item = {k: full[k] for k in _ALERT_FIELDS}
        item["deliveries"] = full["deliveries"]
        item["open"] = alert.alert_id in still_open
        shown.append(item)
    return shown, len(alerts), len(still_open)


def narrative_rows_json(
    store: Store, incident_id: str, narratives: Sequence[Narrative], active_minutes: float,
    *, status: str = "", kind: str = "", offset: int = 0, limit: int = NARRATIVES_SHOWN,
) -> dict[str, Any]:
    """The narratives table's rows: those of ``status`` and ``kind`` (any when empty), most
    spread first (``spread_now``: posts per minute in the last ``active_minutes`` of event
    time; then the most posts), ``limit`` from ``offset``; each with the table's columns
    and ``reach`` (its posts' authors' followers, summed). ``total``: all the incident's
    narratives; ``matching``: those of the filter."""
    reach = {
        int(nid): int(total or 0)
        for nid, total in _rows(
            store,
            "SELECT np.narrative_id, sum(coalesce(json_extract(p.metrics, '$.followers'), 0)) "
            "FROM narratives n JOIN narrative_posts np ON np.narrative_id = n.id "
            "JOIN posts p ON p.id = np.post_id WHERE n.incident_id = ? AND "
            "n.merged_into IS NULL GROUP BY np.narrative_id",
            (incident_id,),
        )
    }
    per_minute = max(active_minutes, 1e-9)
    matching = sorted(
        (n for n in narratives
         if (not status or n.status.value == status) and (not kind or n.kind.value == kind)),
        key=lambda n: (-n.recent / per_minute, -n.size, n.id),
    )
    rows = [
        {"id": n.id, "label": n.label, "status": n.status.value, "kind": n.kind.value,
         "actors": list(n.actors), "size": n.size, "authors": n.authors,
         "stances": dict(n.stances), "first_seen": iso(n.first_seen),
         "reach": reach.get(n.id, 0), "spread_now": round(n.recent / per_minute, 3)}
        for n in matching[offset : offset + limit]
    ]
    return {"narratives": rows, "total": len(narratives), "matching": len(matching),
            "offset": offset, "status": status, "kind": kind, "active_minutes": active_minutes}


def incident_view_json(
    store: Store, incident_id: str, narratives: Sequence[Narrative], active_minutes: float,
    span: str = "busiest",
) -> dict[str, Any]:
    """One incident: its counts; the :data:`NARRATIVES_SHOWN` most spread narratives (as
    :func:`narrative_rows_json`, under ``narratives``, with ``narratives_total``); the
    :data:`ALERTS_SHOWN` newest alert events (as :func:`alert_rows_json`, with
    ``alerts_total``); findings; the newest posts; the timeline over ``span``."""
    incident = store.incident(incident_id)
    assert incident is not None
    # the incident's alerts read once, for the list and the timeline
    recorded = store.outbox.alerts(incident_id, limit=100_000)
    live = _live_alerts(store, incident_id, recorded)
    shown, total, still_open = alert_rows_json(store, incident_id, ALERTS_SHOWN, recorded, live)
    table = narrative_rows_json(store, incident_id, narratives, active_minutes)
    findings = [f for f, _ in store.findings(incident_id)]
    return {
        "incident": {**incident_json(incident), **store.incident_counts(incident_id),
                     "alerts_open": still_open,
                     "latest_post": iso(store.latest_post_time(incident_id))},
        "narratives": table["narratives"],
        "narratives_total": table["total"],
        "active_minutes": active_minutes,
        "alerts": shown,
        "alerts_total": total,
        "findings": [finding_json(f) for f in findings],
        "posts": latest_posts(store, incident_id),
        "timeline": timeline_json(store, incident_id, live, span),
        "cursor": _cursor(store),
    }


def latest_posts(store: Store, incident_id: str, after: int = 0, limit: int = 8) -> list[Any]:
    """The incident's newest posts (stored after row ``after``), newest first."""
    rows = _rows(
        store,
        f"SELECT {_POST_COLUMNS} FROM post_incidents pi JOIN posts p ON p.id = pi.post_id "
        "WHERE pi.incident_id = ? AND p.id > ? ORDER BY p.id DESC LIMIT ?",
        (incident_id, after, limit),
    )
    return [_post(r) for r in rows]


def busiest_end(posts: Sequence[float], start: float, latest: float) -> float:
    """Where an incident's busy span ends (epoch seconds): the end of the last 10-minute
    bin from ``start`` holding at least :data:`QUIET_SHARE` of the busiest bin's posts, at
    most :data:`BUSIEST_MAX` after ``start`` and at least an hour; ``posts`` are the
    incident's post times (epoch seconds, UTC)."""
    limit = min(latest, start + BUSIEST_MAX.total_seconds())
    if limit <= start:
        return limit
    bins = np.bincount(
        [int((t - start) // 600) for t in posts if start <= t <= limit],
        minlength=int((limit - start) // 600) + 1,
    )
    if not len(bins) or bins.max() == 0:
        return limit
    busy = np.nonzero(bins >= QUIET_SHARE * bins.max())[0]
    return min(limit, max(start + (int(busy[-1]) + 1) * 600.0, start + 3600.0))


def timeline_json(
    store: Store, incident_id: str, alerts: Sequence[Alert], span: str = "busiest"
) -> dict[str, Any]:
    """What `claimwatch plot` draws, as data: :data:`TOP_NARRATIVES` narratives (those
    that alerted first, then those on an open question, then plain reports; each group by
    size), each with its spread rate and the verified rate on its question (its
    kind), from the incident's start over ``span`` (a key of :data:`SPANS`: ``all`` to
    its latest post, ``busiest`` as :func:`busiest_end`); findings; alert events.
    ``first``/``last``: the incident's whole range, ``span``: the one drawn."""
    incident = store.incident(incident_id)
    assert incident is not None
    latest = store.latest_post_time(incident_id)
    if latest is None:
        return {"start": None, "end": None, "series": [], "verified": {}, "findings": [],
                "alerts": [], "window_minutes": WINDOW_MINUTES, "span": span}
    start = min(incident.started_at, latest)
    last = max(latest, start + timedelta(minutes=WINDOW_MINUTES))
    width = SPANS[span]
    if span == "busiest":
        times_all = [float(r[0]) for r in _rows(
            store, "SELECT p.created_at FROM post_incidents pi JOIN posts p ON p.id = "
            "pi.post_id WHERE pi.incident_id = ?", (incident_id,))]
        end = datetime.fromtimestamp(
            busiest_end(times_all, start.timestamp(), last.timestamp()), UTC)
    else:
        end = last if width is None else min(last, start + width)
    end = max(end, start + timedelta(minutes=WINDOW_MINUTES))
    # what an analyst watches first: the narratives that alerted, then open questions
    # (not plain reports), each by size
    alerted = {a.narrative_id for a in alerts if a.event is AlertEvent.RAISED}
    live = sorted(store.narrative_summaries(incident_id), key=lambda n: (
        n.id not in alerted, n.status is Status.REPORT, -n.size, n.id))
    chosen = live[:TOP_NARRATIVES]
    times = [iso(start + (end - start) * i / (TIMELINE_POINTS - 1)) for i in range(TIMELINE_POINTS)]

    def rates(posts: Sequence[datetime]) -> list[float]:
        _, ys = rate_series(posts, start, end, WINDOW_MINUTES, points=TIMELINE_POINTS)
        return [round(y, 3) for y in ys[:TIMELINE_POINTS]]

    series = [
        {"narrative_id": n.id, "label": n.label, "kind": n.kind.value,
         "status": n.status.value, "rates": rates(store.narrative_post_times(n.id))}
        for n in chosen
    ]
    verified = {
        kind: rates(store.verified_times(incident_id, ClaimKind(kind)))
        for kind in sorted({n.kind.value for n in chosen})
    }
    return {
        "start": iso(start), "end": iso(end), "first": iso(start), "last": iso(last),
        "span": span, "times": times, "series": series,
        "verified": verified, "window_minutes": WINDOW_MINUTES,
        "findings": [
            {"id": f.id, "at": iso(f.at), "text": f.text, "kind": f.kind.value,
             "status": f.status.value}
            for f, _ in store.findings(incident_id) if start <= f.at <= end
        ],
        "alerts": [
            {"alert_id": a.alert_id, "event": a.event.value, "narrative_id": a.narrative_id,
             "at": iso(a.at), "spread_rate": round(a.spread_rate, 3), "reason": a.reason,
             "rule": a.rule, "severity": a.severity}
            for a in alerts if start <= a.at <= end
        ],
    }


def narrative_view_json(
    store: Store, *, narrative_id: int, offset: int, limit: int, model: str, similarity: float,
) -> dict[str, Any]:
    """One narrative as ``GET /v1/narratives/{id}`` gives it, with its claims paged
    (``claims_total`` in all), and: the posts that spread it most (by their authors'
    followers), its alert events, and its status history against the incident's findings
    (each change with the finding that made it)."""
    detail = narrative_detail_json(store, narrative_id)
    live = int(detail["id"])
    claims = detail.pop("claims")
    detail["claims"] = claims[offset : offset + limit]
    detail["claims_total"] = len(claims)
    detail["claims_offset"] = offset
    top = _rows(
        store,
        f"SELECT {_POST_COLUMNS}, np.role FROM narrative_posts np "
        "JOIN posts p ON p.id = np.post_id WHERE np.narrative_id = ? "
        "ORDER BY 9 DESC, p.created_at LIMIT 10",
        (live,),
    )
    detail["top_posts"] = [{**_post(r), "role": r[10]} for r in top]
    incident_id = str(detail["incident_id"])
    recorded = store.outbox.alerts(incident_id, limit=100_000)
    detail["alerts"] = [
        alert_json(a, deliveries)
        for a, (_, deliveries) in zip(_live_alerts(store, incident_id, recorded), recorded,
                                      strict=True)
        if a.narrative_id == live
    ]
    detail["history"] = status_history(store, incident_id, live, model, similarity)
    return detail


def status_history(
    store: Store, incident_id: str, narrative_id: int, model: str, similarity: float
) -> list[dict[str, Any]]:
    """The narrative's status from its first post on, then after each finding of the
    incident that changed it (the status rules of :mod:`tracker.narratives.findings`
    applied to the findings known at each time, its centroid the mean of its claims'
    vectors): ``{"at", "status", "finding"}``, ``finding`` the one that decided it."""
    found = store.narrative_views(incident_id, {narrative_id})
    if not found:
        return []
    nid, kind, actors, negated, first_seen, label, current, unsure, values = found[0]
    _, vectors = store.member_vectors(nid, model)
    if len(vectors):
        mean = vectors.mean(axis=0)
        centroid = mean / max(float(np.linalg.norm(mean)), 1e-12)
    else:
        centroid = np.zeros(0, np.float32)
    view = NarrativeView(kind, frozenset(actors), negated, first_seen, centroid, label,
                         unsure, values)
    findings = store.findings(incident_id)
    stored = store.embeddings(model, [h for _, h in findings])
    known = [(f, stored.get(h)) for f, h in findings]
    status = status_of(view, [], similarity) if len(vectors) else current
    history: list[dict[str, Any]] = [
        {"at": iso(first_seen), "status": status.value, "finding": None}
    ]
    for i, (finding, _) in enumerate(known):
        now = status_of(view, known[: i + 1], similarity) if len(vectors) else current
        if now is not status:
            status = now
            history.append({"at": iso(finding.at), "status": now.value,
                            "finding": finding_json(finding)})
    if status is not current:  # the stored status is what the daemon decided: trust it
        history.append({"at": history[-1]["at"], "status": current.value, "finding": None})
    return history


def live_json(
    store: Store, *, posts: int, alert: str, incident_id: str | None
) -> dict[str, Any]:
    """What is new since the cursor (``posts`` stored, the newest ``alert`` seen): the
    alert events after that one (newest first, at most 50), how many posts arrived, and
    the incident's newest posts when ``incident_id`` is given."""
    cursor = _cursor(store)
    fresh: list[dict[str, Any]] = []
    if alert != cursor["alert"]:
        for a, deliveries in store.outbox.alerts(None, limit=50):
            if a.alert_id == alert:
                break
            fresh.append(alert_json(a, deliveries))
    new_posts = max(0, cursor["posts"] - posts) if posts >= 0 else 0
    out: dict[str, Any] = {"cursor": cursor, "alerts": fresh, "new_posts": new_posts}
    if incident_id is not None and new_posts:
        try:
            out["posts"] = latest_posts(store, incident_id, limit=min(new_posts, 8))
        except InputError:
            out["posts"] = []
    return out

