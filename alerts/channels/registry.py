"""Channels by kind: the one place that knows every channel module.

Channels are built from the plain dict of one ``[[channels]]`` entry
(``ChannelSettings.model_dump()``) by :func:`build_channel` / :func:`build_channels`.
HTTP channels share one ``aiohttp.ClientSession``: the injected one (left open: its owner
closes it), else one created on first use. Close what was built with
:func:`close_channels` (or each channel's ``close()``) before the event loop ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

from alerts.channels.base import KINDS, Channel, Closable
from alerts.channels.discord import DiscordChannel
from alerts.channels.email import EmailChannel
from alerts.channels.http import HttpClient
from alerts.channels.log import LogChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.teams import TeamsChannel
from alerts.channels.webhook import WebhookChannel
from tracker.errors import ConfigError

__all__ = ["build_channel", "build_channels", "close_channels"]


def build_channel(
    spec: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Channel:
    """The channel one ``[[channels]]`` entry describes (``ChannelSettings.model_dump()``).

    ``environ`` (default ``os.environ``, read at send time) holds the secrets named by the
    ``*_env`` settings; ``session`` is an aiohttp session for the HTTP channels (webhook,
    Slack, Teams, Discord; default: one made on first use and closed by the channel's
    ``close()``).
    Raises ``ConfigError`` for an unknown ``type``; nothing is contacted here."""
    return _build(spec, os.environ if environ is None else environ, HttpClient(session))


def build_channels(
    specs: Iterable[Mapping[str, Any]],
    environ: Mapping[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> dict[str, Channel]:
    """Channels by name, in configuration order; HTTP channels share one session.
    Raises ``ConfigError`` for an unknown type or a name used twice."""
    env = os.environ if environ is None else environ
    http = HttpClient(session)
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


def _build(spec: Mapping[str, Any], environ: Mapping[str, str], http: HttpClient) -> Channel:
    kind = str(spec.get("type", ""))
    name = str(spec.get("name", ""))
    if not name:
        raise ConfigError(f"channels: a {kind or 'channel'} entry has no name")
    timeout = float(spec.get("timeout_seconds", 10.0))
    if kind == "webhook":
        return WebhookChannel(
            name, url=str(spec.get("url", "")), url_env=str(spec.get("url_env", "")),
            secret_env=str(spec.get("secret_env", "")),
            headers=dict(spec.get("headers") or {}), timeout_seconds=timeout,
            environ=environ, http=http,
        )
    if kind == "slack":
        return SlackChannel(
            name, url=str(spec.get("url", "")), url_env=str(spec.get("url_env", "")),
            timeout_seconds=timeout, environ=environ, http=http,
        )
    if kind in ("teams", "discord"):
        chat = TeamsChannel if kind == "teams" else DiscordChannel
        return chat(
            name, url=str(spec.get("url", "")), url_env=str(spec.get("url_env", "")),
            timeout_seconds=timeout, environ=environ, http=http,
        )
    if kind == "email":
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
        return LogChannel(name, level=str(spec.get("level", "warning")))
    raise ConfigError(
        f"channels: {name!r} has type {kind!r}; expected one of {', '.join(KINDS)}"
    )
