"""The seam between the outbox and the ways an alert reaches a person.

A :class:`Channel` delivers one alert once: :meth:`Channel.send` returns a short detail
("HTTP 200", "250 accepted") or raises :class:`~tracker.errors.DeliveryError`, with
``permanent=True`` when retrying cannot help (HTTP 4xx other than 408 and 429, SMTP 5xx,
a missing URL or environment variable). Retries, backoff and bookkeeping belong to the
outbox, not to channels.

Channels are built from the plain dict of one ``[[channels]]`` entry
(``ChannelSettings.model_dump()``) by :func:`build_channel` / :func:`build_channels`.
Secrets (``url_env``, ``secret_env``, ``username_env``, ``password_env``) are environment
variable *names*; their values are read from ``environ`` at send time, so a rotated secret
is picked up without a restart, and never appear in a message, log line or exception.

HTTP channels share one ``aiohttp.ClientSession``: the injected one (left open: its owner
closes it), else one created on first use. Close what was built with
:func:`close_channels` (or each channel's ``close()``) before the event loop ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tracker.errors import ConfigError, DeliveryError
from tracker.models import Alert

if TYPE_CHECKING:
    import aiohttp

    from alerts.webhook import HttpClient

__all__ = [
    "KINDS",
    "Channel",
    "Closable",
    "build_channel",
    "build_channels",
    "close_channels",
    "env_value",
]

KINDS: tuple[str, ...] = ("webhook", "slack", "email", "log")


class Channel(Protocol):
    """One way an alert reaches people. ``name`` is the configured channel name (rules
    refer to it), ``kind`` one of :data:`KINDS`."""

    name: str
    kind: str

    async def send(self, alert: Alert, key: str) -> str:
        """Deliver ``alert`` once. ``key`` is the idempotency key (the alert id): a
        receiver that sees it twice should act once. Returns a short human detail of the
        receiver's answer; raises ``DeliveryError`` (``permanent`` when retrying is useless)."""
        ...


@runtime_checkable
class Closable(Protocol):
    """A channel holding resources (an HTTP session) to release before the loop ends."""

    async def close(self) -> None: ...


def env_value(environ: Mapping[str, str], variable: str, *, what: str, label: str) -> str:
    """The value of environment variable ``variable``; ``what`` names the setting that
    points at it (``"secret_env"``), ``label`` the channel (``"webhook desk"``).

    Raises a permanent ``DeliveryError`` naming the variable, never a value, when it is
    unset or empty."""
    value = environ.get(variable, "")
    if not value:
        raise DeliveryError(
            f"{label}: environment variable {variable} ({what}) is not set", permanent=True
        )
    return value


def build_channel(
    spec: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Channel:
    """The channel one ``[[channels]]`` entry describes (``ChannelSettings.model_dump()``).

    ``environ`` (default ``os.environ``, read at send time) holds the secrets named by the
    ``*_env`` settings; ``session`` is an aiohttp session for webhook and Slack channels
    (default: one made on first use and closed by the channel's ``close()``).
    Raises ``ConfigError`` for an unknown ``type``; nothing is contacted here."""
    return _build(spec, os.environ if environ is None else environ, _http(session))


def build_channels(
    specs: Iterable[Mapping[str, Any]],
    environ: Mapping[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> dict[str, Channel]:
    """Channels by name, in configuration order; HTTP channels share one session.
    Raises ``ConfigError`` for an unknown type or a name used twice."""
    env = os.environ if environ is None else environ
    http = _http(session)
    channels: dict[str, Channel] = {}
    for spec in specs:
        channel = _build(spec, env, http)
        if channel.name in channels:
            raise ConfigError(f"channels: the name {channel.name!r} is used twice")
        channels[channel.name] = channel
    return channels


async def close_channels(channels: Iterable[Channel] | Mapping[str, Channel]) -> None:
    """Close every channel that holds resources (idempotent; a shared session once)."""
    items = channels.values() if isinstance(channels, Mapping) else channels
    for channel in items:
        if isinstance(channel, Closable):
            await channel.close()


def _http(session: aiohttp.ClientSession | None) -> HttpClient:
    from alerts.webhook import HttpClient

    return HttpClient(session)


def _build(spec: Mapping[str, Any], environ: Mapping[str, str], http: HttpClient) -> Channel:
    kind = str(spec.get("type", ""))
    name = str(spec.get("name", ""))
    if not name:
        raise ConfigError(f"channels: a {kind or 'channel'} entry has no name")
    timeout = float(spec.get("timeout_seconds", 10.0))
    if kind == "webhook":
        from alerts.webhook import WebhookChannel

        return WebhookChannel(
            name, url=str(spec.get("url", "")), url_env=str(spec.get("url_env", "")),
            secret_env=str(spec.get("secret_env", "")),
            headers=dict(spec.get("headers") or {}), timeout_seconds=timeout,
            environ=environ, http=http,
        )
    if kind == "slack":
        from alerts.slack import SlackChannel

        return SlackChannel(
            name, url=str(spec.get("url", "")), url_env=str(spec.get("url_env", "")),
            timeout_seconds=timeout, environ=environ, http=http,
        )
    if kind == "email":
        from alerts.email import EmailChannel

        return EmailChannel(
            name, host=str(spec.get("host", "localhost")), port=int(spec.get("port", 0)),
            tls=str(spec.get("tls", "starttls")), ca_file=str(spec.get("ca_file", "")),
            username_env=str(spec.get("username_env", "")),
            password_env=str(spec.get("password_env", "")),
            sender=str(spec.get("sender", "")),
            recipients=tuple(str(r) for r in spec.get("recipients") or ()),
            timeout_seconds=timeout, environ=environ,
        )
    if kind == "log":
        from alerts.log import LogChannel

        return LogChannel(name, level=str(spec.get("level", "warning")))
    raise ConfigError(
        f"channels: {name!r} has type {kind!r}; expected one of {', '.join(KINDS)}"
    )
