"""Live sources by name: :func:`build_source` turns one ``[[sources]]`` table into a
:class:`~tracker.sources.base.Source`.

Only :mod:`tracker.sources.x` needs tweepy, and it imports it only when a token is set, so
feeds, Mastodon, Bluesky, Telegram and GDELT work without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp

from tracker.config.settings import SourceSettings
from tracker.errors import ConfigError
from tracker.models import Tier
from tracker.sources import bluesky, gdelt, telegram
from tracker.sources.base import Source, parse_tier
from tracker.sources.bluesky import BlueskySource
from tracker.sources.gdelt import GdeltSource
from tracker.sources.mastodon import MastodonSource
from tracker.sources.rss import RssSource
from tracker.sources.telegram import TelegramSource, channel_name, valid_channel

__all__ = ["build_source", "source_names"]

_TYPES = ("rss", "mastodon", "x", "bluesky", "telegram", "gdelt")
_DEFAULT_BASE_URLS = {
    "bluesky": bluesky.DEFAULT_BASE_URL,
    "telegram": telegram.DEFAULT_BASE_URL,
    "gdelt": gdelt.DEFAULT_BASE_URL,
}


def source_names() -> tuple[str, ...]:
    """The source types ``[[sources]] type`` accepts."""
    return _TYPES


def build_source(
    settings: SourceSettings, *, terms: Callable[[], Sequence[str]],
    environ: Mapping[str, str] | None = None, session: aiohttp.ClientSession | None = None,
) -> Source:
    """The source ``settings`` describe.

    ``terms`` returns the open incidents' search terms at the time of the call (the X,
    Bluesky and GDELT sources ask at every poll when they have no fixed query);
    ``environ`` is where tokens are read (default: ``os.environ``); ``session``, when
    given, carries every request and is never closed by the source. Raises
    :class:`ConfigError` when a setting the type needs is missing or a ``base_url`` is not
    an http(s) address. An X source without a token is returned disabled: check
    ``source.disabled_reason`` and do not poll it. Where a source's requests go is its
    settings' business (``url``, ``instance``, ``api_base``, ``base_url``), never the
    environment's; the environment holds only tokens (a Bluesky source sends one when
    ``token_env`` names a set variable).
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
    if settings.type in _DEFAULT_BASE_URLS:
        return _build_with_base_url(settings, tier=tier, terms=terms,
                          environ=os.environ if environ is None else environ, session=session)
    raise ConfigError(
        f"{where}: unknown type {settings.type!r}; expected one of {', '.join(_TYPES)}"
    )


def _build_with_base_url(
    settings: SourceSettings, *, tier: Tier | None, terms: Callable[[], Sequence[str]],
    environ: Mapping[str, str], session: aiohttp.ClientSession | None,
) -> Source:
    """A bluesky, telegram or gdelt source: each asks ``base_url`` (empty: the service's
    own address)."""
    where = f"[[sources]] {settings.name!r}"
    default = _DEFAULT_BASE_URLS[settings.type]
    base_url = settings.base_url.strip() or default
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(
            f"{where}: base_url must be an http(s) address without a query, e.g. "
            f"\"{default}\" (the default)"
        )
    interval, timeout = settings.interval_seconds, settings.timeout_seconds
    if settings.type == "bluesky":
        token = (environ.get(settings.token_env) or "").strip() if settings.token_env else ""
        return BlueskySource(
            settings.name, query=settings.query, terms=terms, tier=tier,
            limit=settings.max_results, base_url=base_url, token=token or None,
            token_env=settings.token_env, interval=interval, timeout=timeout, session=session,
        )
    if settings.type == "telegram":
        names = [channel_name(c) for c in settings.channels]
        bad = [c for c, n in zip(settings.channels, names, strict=True) if not valid_channel(n)]
        if bad or not names:
            raise ConfigError(
                f"{where}: type telegram needs channels, public channel names as in "
                f"t.me/NAME, e.g. [\"durov\"]" + (f"; {bad[0]!r} is not one" if bad else "")
            )
        return TelegramSource(settings.name, names, base_url=base_url, tier=tier,
                              interval=interval, timeout=timeout, session=session)
    return GdeltSource(settings.name, query=settings.query, terms=terms, tier=tier,
                       base_url=base_url, interval=interval, timeout=timeout, session=session)
