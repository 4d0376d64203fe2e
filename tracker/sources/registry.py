"""Live sources by name: :func:`build_source` turns one ``[[sources]]`` table into a
:class:`~tracker.sources.base.Source`.

Only :mod:`tracker.sources.x` needs tweepy, and it imports it only when a token is set, so
feeds and Mastodon work without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp

from tracker.config.settings import SourceSettings
from tracker.errors import ConfigError
from tracker.sources.base import Source, parse_tier
from tracker.sources.mastodon import MastodonSource
from tracker.sources.rss import RssSource

__all__ = ["build_source", "source_names"]

_TYPES = ("rss", "mastodon", "x")


def source_names() -> tuple[str, ...]:
    """The source types ``[[sources]] type`` accepts."""
    return _TYPES


def build_source(
    settings: SourceSettings, *, terms: Callable[[], Sequence[str]],
    environ: Mapping[str, str] | None = None, session: aiohttp.ClientSession | None = None,
) -> Source:
    """The source ``settings`` describe.

    ``terms`` returns the open incidents' search terms at the time of the call (the X
    source asks at every poll when it has no fixed query); ``environ`` is where tokens are
    read (default: ``os.environ``); ``session``, when given, carries every request and is
    never closed by the source. Raises :class:`ConfigError` when a setting the type needs
    is missing. An X source without a token is returned disabled: check
    ``source.disabled_reason`` and do not poll it. Where a source's requests go is its
    settings' business (``url``, ``instance``, ``api_base``), never the environment's.
    """
    tier = parse_tier(settings.tier)
    where = f"[[sources]] {settings.name!r}"
    if settings.type == "rss":
        if not settings.url.strip():
            raise ConfigError(f"{where}: type rss needs url, the address of the feed")
        return RssSource(
            settings.name, settings.url.strip(), tier=tier, interval=settings.interval_seconds,
            timeout=settings.timeout_seconds, session=session,
        )
    if settings.type == "mastodon":
        if not settings.instance.strip():
            raise ConfigError(
                f"{where}: type mastodon needs instance, e.g. \"https://mastodon.social\""
            )
        if not any(t.strip("# ") for t in settings.tags):
            raise ConfigError(f"{where}: type mastodon needs tags, e.g. [\"nushki\"]")
        return MastodonSource(
            settings.name, settings.instance, settings.tags, tier=tier,
            interval=settings.interval_seconds, timeout=settings.timeout_seconds,
            session=session,
        )
    if settings.type == "x":
        from tracker.sources.x import build_x_source

        base = urlsplit(settings.api_base.strip())
        if base.scheme not in ("http", "https") or not base.hostname or base.query:
            raise ConfigError(
                f"{where}: api_base must be an http(s) address without a query, e.g. "
                "\"https://api.twitter.com\" (the default)"
            )

        return build_x_source(
            settings, terms=terms, tier=tier,
            environ=os.environ if environ is None else environ, session=session,
        )
    raise ConfigError(
        f"{where}: unknown type {settings.type!r}; expected one of {', '.join(_TYPES)}"
    )
