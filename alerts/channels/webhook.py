"""Signed JSON webhooks.

The body is :func:`alerts.render.json_body` (``alert.as_dict()``, compact, sorted keys).
Headers sent with every POST::

    Content-Type: application/json
    X-Claimwatch-Event: raised | escalated | resolved | test
    X-Claimwatch-Timestamp: <unix seconds, integer>
    X-Claimwatch-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>
    X-Claimwatch-Idempotency-Key: <alert id>     (and the same value as Idempotency-Key)

The signature is sent only when ``secret_env`` is configured. Receivers check it with
:func:`verify_signature`, which also rejects timestamps more than five minutes off (replays).
Statuses, timeouts and URLs in messages are handled by :func:`alerts.channels.http.post`
(2xx success; 408, 429, 5xx and connection failures transient; anything else permanent).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping

from multidict import CIMultiDict

from alerts import render
from alerts.channels.base import env_value
from alerts.channels.http import HttpClient, post, resolve_url
from tracker.models import Alert

__all__ = ["SIGNATURE_TOLERANCE_SECONDS", "WebhookChannel", "sign", "verify_signature"]

SIGNATURE_TOLERANCE_SECONDS = 300.0


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Claimwatch-Signature`` value: ``sha256=`` + hex HMAC-SHA256 keyed with
    ``secret`` (UTF-8) over ``f"{timestamp}.".encode() + body``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` (``X-Claimwatch-Signature``) signs ``body`` sent at ``timestamp``
    (``X-Claimwatch-Timestamp``, unix seconds) with ``secret``, and that timestamp lies
    within ``tolerance`` seconds of ``now`` (unix seconds; default the current time).
    Constant-time comparison; any malformed input gives False."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), header.strip())


class WebhookChannel:
    """POSTs each alert as signed JSON to ``url`` (or the URL in ``$url_env``).

    ``secret_env`` names the variable holding the HMAC secret (empty: unsigned);
    ``headers`` are extra request headers (ours win on a clash); ``timeout_seconds`` bounds
    one attempt. ``environ`` is read at send time (default ``os.environ``); ``clock``
    gives unix seconds for the timestamp header."""

    kind = "webhook"

    def __init__(
        self,
        name: str,
        *,
        url: str = "",
        url_env: str = "",
        secret_env: str = "",
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.url = url
        self.url_env = url_env
        self.secret_env = secret_env
        self.headers = dict(headers or {})
        self.timeout_seconds = timeout_seconds
        self._environ = os.environ if environ is None else environ
        self._http = http or HttpClient()
        self._clock = clock

    @property
    def label(self) -> str:
        return f"webhook {self.name}"

    def __repr__(self) -> str:  # no URL: it may hold a token
        return f"WebhookChannel(name={self.name!r}, signed={bool(self.secret_env)})"

    async def send(self, alert: Alert, key: str) -> str:
        """POST ``alert`` with idempotency key ``key``; ``"HTTP <status>"`` on 2xx."""
        url, secret_url = resolve_url(self.url, self.url_env, self._environ, self.label)
        body = render.json_body(alert)
        timestamp = str(int(self._clock()))
        headers = CIMultiDict(self.headers)  # ours replace configured ones, any case
        headers.update({
            "Content-Type": "application/json",
            "X-Claimwatch-Event": alert.event.value,
            "X-Claimwatch-Timestamp": timestamp,
            "X-Claimwatch-Idempotency-Key": key,
            "Idempotency-Key": key,
        })
        if self.secret_env:
            secret = env_value(self._environ, self.secret_env, what="secret_env",
                               label=self.label)
            headers["X-Claimwatch-Signature"] = sign(secret, timestamp, body)
        status, _ = await post(self._http, url, body, headers, timeout=self.timeout_seconds,
                               label=self.label, secret_url=secret_url)
        return f"HTTP {status}"

    async def close(self) -> None:
        """Close the HTTP session if this channel's client created one."""
        await self._http.close()
