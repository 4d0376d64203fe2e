"""The CLI's side of the daemon: ask a running ``claimwatch run`` instead of opening the
files (and loading the model) again.

:func:`daemon_get` connects to ``[service] host:port`` with a short connect timeout; when
nothing answers there, or what answers is not a claimwatch daemon serving the same
database as ``settings`` (its ``/healthz`` names the database file to a reader), it returns
None and the caller opens the files itself. The daemon's reads need a token: the CLI sends
the one in its environment (``[service] read_token_env``, else ``token_env``); without one
it opens the files itself. Plain blocking ``http.client``: the CLI has no loop.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from tracker.config.settings import Settings
from tracker.errors import InputError

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "daemon_get"]

CONNECT_TIMEOUT = 0.3
"""Seconds to wait for the daemon's port to accept a connection."""

READ_TIMEOUT = 120.0
"""Seconds to wait for an answer once connected (a query waits behind a batch being
embedded)."""

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def _request(
    host: str, port: int, path: str, connect_timeout: float, read_timeout: float,
    token: str | None = None,
) -> tuple[int, Any] | None:
    """GET ``path``: (status, decoded JSON body), or None when the connection fails or
    the answer is not JSON."""
    conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(read_timeout)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body)
    except (TimeoutError, OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def daemon_get(
    settings: Settings, path: str, params: Mapping[str, object] | None = None, *,
    connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
) -> Any | None:
    """The JSON the daemon at ``[service] host:port`` answers to ``GET path?params``
    (parameters whose value is None are left out); None when no daemon serving this
    database answers there, or it failed (the caller then opens the files itself).

    Raises :class:`InputError` with the daemon's message when it refuses the request
    (an unknown incident or narrative, a bad parameter): the same error as without it."""
    service = settings.service
    if service.port == 0:
        return None
    host = _WILDCARDS.get(service.host, service.host)
    token = (os.environ.get(service.read_token_env, "").strip()
             or os.environ.get(service.token_env, "").strip() or None)
    if token is None:
        return None
    health = _request(host, service.port, "/healthz", connect_timeout, read_timeout, token)
    if health is None or not isinstance(health[1], dict):
        return None
    served = health[1].get("database")
    if not isinstance(served, str) or served != settings.database_label:
        return None
    query = {k: str(v) for k, v in (params or {}).items() if v is not None}
    target = path + ("?" + urlencode(query) if query else "")
    answer = _request(host, service.port, target, connect_timeout, read_timeout, token)
    if answer is None:
        return None
    status, body = answer
    if status == 200:
        return body
    if 400 <= status < 500 and isinstance(body, dict) and isinstance(body.get("error"), str):
        raise InputError(body["error"])
    return None
