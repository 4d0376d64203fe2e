"""The HTTP plumbing the webhook, Slack, Teams and Discord channels share: one aiohttp
session, one POST with the failure table, URLs as messages may show them.

2xx is success; 408, 429, 5xx, timeouts and connection failures are transient (with the
receiver's ``Retry-After`` as the error's ``retry_after``); any other status (redirects
included: they are not followed) is permanent. Messages show the URL as
``scheme://host:port/path``, never its credentials or query string (only
``scheme://host:port`` when the URL itself is a secret).
"""

from __future__ import annotations

import json
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp

from alerts.channels.base import env_value
from tracker.errors import DeliveryError
from tracker.models import Alert

__all__ = ["HttpClient", "SecretWebhookChannel", "post", "resolve_url", "shown_url"]

_TRANSIENT_STATUSES = frozenset({408, 429})
_SNIPPET = 120  # characters of a refusing receiver's answer quoted in messages


def shown_url(url: str, *, secret: bool = False) -> str:
    """``url`` as messages may show it: ``scheme://host:port/path``, without credentials,
    query or fragment; only ``scheme://host:port`` when the whole URL is a secret (it came
    from an environment variable, or it is a Slack webhook whose path is the token)."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    base = f"{parts.scheme}://{host}:{port}"
    return base if secret else base + (parts.path or "/")


class HttpClient:
    """An aiohttp session for HTTP channels: the one given (its owner closes it), else one
    created on first use and closed by :meth:`close` (a later send makes a fresh one)."""

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self._given = session
        self._own: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session to use; call it inside the running event loop."""
        if self._given is not None:
            return self._given
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession()
        return self._own

    async def close(self) -> None:
        """Close the session this client created, if any (idempotent)."""
        own, self._own = self._own, None
        if own is not None and not own.closed:
            await own.close()


def _reason(exc: aiohttp.ClientError) -> str:
    """Words for an aiohttp failure, without the request URL (it may hold a token)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return " ".join((exc.os_error.strerror or str(exc.os_error)).split())[:_SNIPPET] or (
            type(exc.os_error).__name__
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


async def post(
    http: HttpClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    label: str,
    secret_url: bool = False,
) -> tuple[int, str]:
    """POST ``body`` to ``url`` once, within ``timeout`` seconds, without following
    redirects. Returns the 2xx status and up to 120 characters of the answer; otherwise
    raises ``DeliveryError`` (transient for 408, 429, 5xx, timeouts and connection
    failures). ``label`` starts messages (``"webhook desk"``); ``secret_url`` hides the path."""
    where = shown_url(url, secret=secret_url)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DeliveryError(f"{label}: the URL must be http or https, not {scheme or 'empty'}",
                            permanent=True)
    try:
        async with http.session().post(
            url, data=body, headers=headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            head = await response.content.read(4 * _SNIPPET)  # never the whole body
            answer = " ".join(head.decode("utf-8", "replace").split())[:_SNIPPET]
            status = response.status
            retry_after = response.headers.get("Retry-After", "")
    except TimeoutError:
        raise DeliveryError(f"{label}: no answer from {where} within {timeout:g} s") from None
    except aiohttp.ClientConnectorError as exc:
        host = shown_url(url, secret=True).split("://", 1)[1]
        raise DeliveryError(f"{label}: cannot connect to {host} ({_reason(exc)})") from None
    except aiohttp.InvalidURL:
        raise DeliveryError(f"{label}: the URL {where} is not valid", permanent=True) from None
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"{label}: POST to {where} failed: {_reason(exc)}") from None
    except ValueError:  # a header aiohttp will not send; its words may quote a token
        raise DeliveryError(f"{label}: the request to {where} cannot be built (check the "
                            "configured headers)", permanent=True) from None
    if 200 <= status < 300:
        return status, answer
    detail = f"{label}: HTTP {status} from {where}"
    if retry_after:
        detail += f" (Retry-After: {' '.join(retry_after.split())[:40]})"
    if status in range(300, 400):
        detail += " (redirects are not followed; configure the final URL)"
    if answer:
        detail += f": {answer}"
    transient = status in _TRANSIENT_STATUSES or status >= 500
    raise DeliveryError(detail, permanent=not transient,
                        retry_after=_seconds(retry_after) if transient else None)


def _seconds(retry_after: str) -> float | None:
    """A ``Retry-After`` value as seconds from now: delta-seconds (Discord sends
    fractions) or an HTTP date; None when absent or unreadable."""
    value = retry_after.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def resolve_url(
    url: str, url_env: str, environ: Mapping[str, str], label: str
) -> tuple[str, bool]:
    """The URL to POST to and whether it is secret (read from ``url_env``, which wins).
    Raises a permanent ``DeliveryError`` when neither gives one."""
    if url_env:
        return env_value(environ, url_env, what="url_env", label=label), True
    if not url:
        raise DeliveryError(f"{label}: no URL configured (set url or url_env)", permanent=True)
    return url, False


class SecretWebhookChannel(ABC):
    """What the Slack, Teams and Discord channels share: a webhook whose URL is itself the
    credential, from ``url`` or (preferred) ``$url_env`` read at send time and never
    shown; one JSON POST per alert of :meth:`payload`, with the idempotency key.
    ``timeout_seconds`` bounds one attempt; ``environ`` defaults to ``os.environ``."""

    kind = ""

    def __init__(
        self,
        name: str,
        *,
        url: str = "",
        url_env: str = "",
        timeout_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
        http: HttpClient | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.url_env = url_env
        self.timeout_seconds = timeout_seconds
        self._environ = os.environ if environ is None else environ
        self._http = http or HttpClient()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def __repr__(self) -> str:  # no URL: it is the credential
        return f"{type(self).__name__}(name={self.name!r})"

    @abstractmethod
    def payload(self, alert: Alert) -> object:
        """The JSON body for ``alert`` (each kind of webhook has its own)."""

    async def _post(self, alert: Alert, headers: Mapping[str, str]) -> tuple[int, str]:
        url, _ = resolve_url(self.url, self.url_env, self._environ, self.label)
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode("utf-8")
        return await post(self._http, url, body,
                          {"Content-Type": "application/json; charset=utf-8", **headers},
                          timeout=self.timeout_seconds, label=self.label, secret_url=True)

    async def send(self, alert: Alert, key: str) -> str:
        """POST the alert with idempotency key ``key``; ``"HTTP <status>"`` when taken."""
        status, _ = await self._post(
            alert, {"Idempotency-Key": key, "X-Claimwatch-Idempotency-Key": key})
        return f"HTTP {status}"

    async def close(self) -> None:
        """Close the HTTP session if this channel's client created one."""
        await self._http.close()
