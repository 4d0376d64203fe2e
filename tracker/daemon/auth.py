"""Who may read and who may write: the daemon's bearer tokens, compared in constant time.

Two tokens, each the value of an environment variable the settings name:

- the write token (``[service] token_env``): ``POST /v1/posts``, and every read;
- the read token (``[service] read_token_env``): ``GET /v1/*`` and ``/metrics``. When it
  is not set, reads take the write token; when neither is set, nothing is allowed (every
  read and write answers 401; ``GET /healthz`` stays open and says nothing private).

A token is given as ``Authorization: Bearer TOKEN``; a read token also as the page's
sign-in cookie :data:`READ_COOKIE`. A header that is not valid UTF-8 (aiohttp hands it on
with its bytes escaped as surrogates) is compared as the bytes it was, so it is simply a
wrong token: 401, nothing raised, nothing logged.

May import: aiohttp and the standard library (the daemon's handlers and the page import
this module).
"""

from __future__ import annotations

import hmac
from typing import Protocol

from aiohttp import web

__all__ = [
    "CHALLENGE",
    "READ_COOKIE",
    "Tokens",
    "bearer",
    "read_allowed",
    "same_token",
    "write_allowed",
]

READ_COOKIE = "claimwatch_read"
"""The cookie the analyst's page signs in with: it holds the read token."""

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="claimwatch"'}
"""The header a 401 answer carries."""


class Tokens(Protocol):
    """What the checks need of the daemon: its tokens (None when not configured)."""

    token: str | None
    read_token: str | None


def _bytes(value: str) -> bytes:
    # surrogateescape: a header of invalid UTF-8 arrives as lone surrogates; this gives
    # back its bytes instead of raising UnicodeEncodeError.
    return value.encode("utf-8", "surrogateescape")


def same_token(given: str | None, expected: str | None) -> bool:
    """Whether ``given`` is ``expected``, in time independent of where they differ; False
    when either is None or empty."""
    if not given or not expected:
        return False
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def write_allowed(request: web.Request, service: Tokens) -> bool:
    """Whether ``request`` carries the write token (as a bearer token)."""
    return same_token(bearer(request), service.token)


def read_allowed(request: web.Request, service: Tokens) -> bool:
    """Whether ``request`` may read: the read token (or, when none is configured, the
    write token) or the write token, as a bearer token or in the :data:`READ_COOKIE`
    cookie. Every candidate is compared, whichever matches."""
    given = [bearer(request), request.cookies.get(READ_COOKIE)]
    expected = [service.read_token or service.token, service.token]
    allowed = False
    for token in given:
        for wanted in expected:
            allowed |= same_token(token, wanted)
    return allowed
