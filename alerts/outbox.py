"""The outbox drainer: alerts and their deliveries, written together, sent later, never lost.

Rules write an alert event and one delivery per channel in one transaction (the store's
``outbox`` records them: :class:`OutboxStorage` says what is asked of it). A
:class:`Drainer` sends due deliveries through their channels; a failure is retried with
exponential backoff and jitter (:mod:`alerts.retry`) until it succeeds, or the delivery
has failed ``max_attempts`` times or is older than ``max_age``, when it is recorded dead
and shown as such; a receiver's ``Retry-After`` (``DeliveryError.retry_after``) is waited
out when it is longer than the backoff. A failure the channel calls permanent (a 4xx
answer, a refused address) is dead at once. Every attempt carries the alert id as its
idempotency key, so a receiver can drop a repeat after a crash between sending and
recording.

Several workers can drain one outbox: each drain claims the due deliveries it takes for
``claim_seconds`` (:meth:`OutboxStorage.claim_due`), and renews the claim of each just
before sending it (one whose claim ran out meanwhile is left alone), so every delivery is
sent by one of them as long as one send takes less than ``claim_seconds``; a delivery
claimed by a worker that died is due again once its claim runs out, and whichever worker
is alive sends it (with the same idempotency key).

Times are float seconds since the epoch (UTC wall clock; the alert's own ``at`` is event
time).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from alerts.retry import RetryPolicy
from tracker.errors import DeliveryError
from tracker.models import Alert

__all__ = [
    "DrainReport",
    "Drainer",
    "DueDelivery",
    "OutboxStorage",
    "Sender",
]

log = logging.getLogger("claimwatch.outbox")
T = TypeVar("T")


class DueDelivery(Protocol):
    """What the drainer reads of a delivery due to be sent."""

    @property
    def id(self) -> int: ...

    @property
    def channel(self) -> str: ...

    @property
    def attempts(self) -> int:
        """Attempts made so far (0 before the first)."""
        ...


class OutboxStorage(Protocol):
    """Where alerts and deliveries are kept (``tracker.store.outbox.Outbox`` is one).
    Calls block (database work): the drainer runs them off the event loop."""

    def enqueue(
        self, alert: Alert, channels: Sequence[str], *, hold: bool = False,
        now: float | None = None,
    ) -> None:
        """Record ``alert`` and one delivery per channel, together (held, not to be sent,
        with ``hold``)."""
        ...

    def due(
        self, now: float | None = None, *, limit: int = 100, waiting_too: bool = False
    ) -> Sequence[tuple[DueDelivery, Alert, float]]:
        """Pending deliveries due at ``now`` (every pending one with ``waiting_too``),
        oldest first, each with its alert and the wall time the alert was recorded."""
        ...

    def claim_due(
        self, holder: str, seconds: float, now: float | None = None, *, limit: int = 100,
        waiting_too: bool = False,
    ) -> Sequence[tuple[DueDelivery, Alert, float]]:
        """What :meth:`due` gives, claimed by ``holder`` for ``seconds`` (no other drainer
        is given them until the outcome is recorded or the claim runs out), committed."""
        ...

    def renew_claim(
        self, delivery_id: int, holder: str, seconds: float, now: float | None = None
    ) -> bool:
        """Extend ``holder``'s claim on a delivery for ``seconds``; False when it ran out
        (another drainer may have it now)."""
        ...

    def sent(self, delivery_id: int, detail: str, *, now: float | None = None) -> None:
        """Record the attempt that delivered it."""
        ...

    def failed(
        self, delivery_id: int, error: str, *, attempts: int, retry_at: float | None,
        now: float | None = None,
    ) -> None:
        """Record a failed attempt: due again at ``retry_at``, or dead when it is None."""
        ...

    def next_due(self) -> float | None:
        """When the earliest pending delivery is due, None when nothing is pending."""
        ...

    def counts(self) -> dict[str, int]:
        """Deliveries by state (pending, sent, dead, held)."""
        ...


class Sender(Protocol):
    """What the drainer needs of a channel (``alerts.channels.base.Channel`` is one)."""

    name: str

    async def send(self, alert: Alert, key: str) -> str: ...


@dataclass(slots=True)
class DrainReport:
    """What one drain did: deliveries sent, failed (to be retried) and given up."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class Drainer:
    """Sends due deliveries through their channels and records what happened; each drain
    claims what it sends as ``holder`` for ``claim_seconds`` (see the module docstring).

    Database work runs through ``blocking`` (a thread by default), never on the loop.
    A delivery whose channel is no longer configured is retried until it is too old,
    then dead, with a message saying so."""

    def __init__(
        self, outbox: OutboxStorage, channels: Mapping[str, Sender], policy: RetryPolicy,
        *, rng: random.Random | None = None,
        blocking: Callable[..., Any] | None = None,
        on_result: Callable[[str, str], None] | None = None,
        holder: str | None = None, claim_seconds: float = 60.0,
    ) -> None:
        self.outbox = outbox
        # who claims the deliveries this drainer sends (a worker id), and for how long
        self.holder = holder or f"drainer-{os.getpid()}-{secrets.token_hex(4)}"
        self.claim_seconds = claim_seconds
        self.channels = dict(channels)
        self.policy = policy
        self.rng = rng or random.Random()
        self._blocking = blocking
        self._restarted = True
        self.on_result = on_result  # (channel, "sent" | "retrying" | "dead")

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._blocking is not None:
            result: T = await self._blocking(fn, *args, **kwargs)
            return result
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def drain(self, *, limit: int = 100) -> DrainReport:
        """Send every delivery that is due now (at the first drain of a process, every
        pending one). Channels are tried concurrently, one delivery at a time each."""
        report = DrainReport()
        waiting_too, self._restarted = self._restarted, False
        due = await self._run(self.outbox.claim_due, self.holder, self.claim_seconds,
                              limit=limit, waiting_too=waiting_too)
        by_channel: dict[str, list[tuple[DueDelivery, Alert, float]]] = {}
        for item in due:
            by_channel.setdefault(item[0].channel, []).append(item)
        await asyncio.gather(*(self._send_all(items, report) for items in by_channel.values()))
        return report

    async def _send_all(
        self, items: list[tuple[DueDelivery, Alert, float]], report: DrainReport
    ) -> None:
        for delivery, alert, created_at in items:
            channel = self.channels.get(delivery.channel)
            # the claim runs for claim_seconds from now: earlier sends took their time, and
            # once it has run out another worker may be sending this one
            if not await self._run(self.outbox.renew_claim, delivery.id, self.holder,
                                   self.claim_seconds):
                continue
            try:
                if channel is None:
                    raise DeliveryError(f"channel {delivery.channel!r} is not configured")
                detail = await channel.send(alert, alert.alert_id)
            except DeliveryError as exc:
                dead = await self._failed(delivery, created_at, str(exc), exc.permanent,
                                          exc.retry_after)
                if dead:
                    log.error("alert %s to %s is dead: %s", alert.alert_id, delivery.channel, exc)
                else:
                    log.warning("alert %s to %s failed, will retry: %s",
                                alert.alert_id, delivery.channel, exc)
                error = str(exc)
            except Exception as exc:  # a channel bug must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                dead = await self._failed(delivery, created_at, error, False)
                log.exception("channel %s failed unexpectedly", delivery.channel)
            else:
                await self._run(self.outbox.sent, delivery.id, detail)
                report.sent += 1
                if self.on_result is not None:
                    self.on_result(delivery.channel, "sent")
                continue
            report.dead += dead
            report.retrying += not dead
            report.errors.append(f"{delivery.channel}: {error}")
            if self.on_result is not None:
                self.on_result(delivery.channel, "dead" if dead else "retrying")

    async def _failed(
        self, delivery: DueDelivery, created_at: float, error: str, permanent: bool,
        retry_after: float | None = None,
    ) -> bool:
        """Record a failed attempt: retried after the policy's backoff, or after the wait
        the receiver asked for (``retry_after``, at most the longest backoff) when that is
        longer; or dead (True) when it is permanent, has failed too often or is too old."""
        now = time.time()
        attempts = delivery.attempts + 1
        why = None if permanent else self.policy.gives_up(attempts, now - created_at)
        dead = permanent or why is not None
        retry_at = None
        if not dead:
            delay = self.policy.delay(attempts, self.rng)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.policy.max_backoff))
            retry_at = now + delay
        await self._run(self.outbox.failed, delivery.id, error + (f" ({why})" if why else ""),
                        attempts=attempts, retry_at=retry_at, now=now)
        return dead

    async def drain_until_settled(self, timeout: float) -> DrainReport:
        """Drain, waiting out backoffs, until nothing is pending or ``timeout`` seconds
        have passed. What is still pending then stays for the next process."""
        total = DrainReport()
        deadline = time.monotonic() + timeout
        while True:
            report = await self.drain()
            total.sent += report.sent
            total.retrying += report.retrying
            total.dead += report.dead
            total.errors.extend(report.errors)
            upcoming = await self._run(self.outbox.next_due)
            if upcoming is None:
                return total
            wait = max(0.0, upcoming - time.time())
            if time.monotonic() + wait > deadline:
                return total
            await asyncio.sleep(max(wait, 0.01))
