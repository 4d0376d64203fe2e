"""What every channel is and shares: the :class:`Channel` protocol, the kinds, and how a
secret is read from the environment. Imports no channel.

A :class:`Channel` delivers one alert once: :meth:`Channel.send` returns a short detail
("HTTP 200", "250 accepted") or raises :class:`~tracker.errors.DeliveryError`, with
``permanent=True`` when retrying cannot help (HTTP 4xx other than 408 and 429, SMTP 5xx,
a missing URL or environment variable). Retries, backoff and bookkeeping belong to the
outbox, not to channels.

Secrets (``url_env``, ``secret_env``, ``username_env``, ``password_env``) are environment
variable *names*; their values are read with :func:`env_value` at send time, so a rotated
secret is picked up without a restart, and never appear in a message, log line or exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from tracker.errors import DeliveryError
from tracker.models import Alert

__all__ = ["KINDS", "Channel", "Closable", "env_value"]

KINDS: tuple[str, ...] = ("webhook", "slack", "teams", "discord", "email", "log")


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
