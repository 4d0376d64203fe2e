"""The outbox: alerts and their deliveries, written together, sent later, never lost.

An alert event and one delivery row per channel are written in one transaction (a
``SAVEPOINT``, so it joins the caller's transaction when there is one: the rule state
that produced the alert commits with it). A :class:`Drainer` sends due deliveries through
their channels; a failure is retried with exponential backoff and jitter until it
succeeds, or the delivery has failed ``max_attempts`` times or is older than ``max_age``,
when it is marked ``dead`` and shown as such. A failure the channel calls permanent (a
4xx answer, a refused address) is dead at once. Every attempt carries the alert id as
its idempotency key, so a receiver can drop a repeat after a crash between sending and
recording.

The outbox keeps its own two tables in the claimwatch database (created here when
missing); it shares the caller's SQLite connection and lock. Times are float seconds
since the epoch (UTC wall clock for ``next_at``; the alert's own ``at`` is event time).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from tracker.errors import DeliveryError
from tracker.models import Alert

__all__ = [
    "Delivery",
    "DeliveryState",
    "DrainReport",
    "Drainer",
    "Outbox",
    "RetryPolicy",
    "Sender",
]

log = logging.getLogger("claimwatch.outbox")
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_alerts (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    incident_id  TEXT NOT NULL,
    narrative_id INTEGER NOT NULL,
    event        TEXT NOT NULL,
    at           REAL NOT NULL,
    body         TEXT NOT NULL,
    created_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_alerts_incident ON outbox_alerts (incident_id, seq);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    id         INTEGER PRIMARY KEY,
    alert_id   TEXT NOT NULL REFERENCES outbox_alerts (id) ON DELETE CASCADE,
    channel    TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL,
    last_error TEXT,
    detail     TEXT,
    updated_at REAL NOT NULL,
    UNIQUE (alert_id, channel)
);
CREATE INDEX IF NOT EXISTS outbox_deliveries_due ON outbox_deliveries (next_at)
    WHERE state = 'pending';
"""


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # not sent yet, or failed and waiting for its next attempt
    SENT = "sent"  # the channel accepted it
    DEAD = "dead"  # given up: too many attempts, too old, or refused for good
    HELD = "held"  # recorded without delivery (a replay without --deliver)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert's delivery through one channel."""

    id: int
    alert_id: str
    channel: str
    state: DeliveryState
    attempts: int
    next_at: float
    last_error: str | None
    detail: str | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry and when to give up. Seconds; ``jitter`` a fraction."""

    max_attempts: int = 10
    max_age: float = 86400.0
    backoff: float = 2.0
    max_backoff: float = 600.0
    jitter: float = 0.25

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure (1 for the first)."""
        base = min(self.max_backoff, self.backoff * 2 ** max(0, attempts - 1))
        return float(max(0.0, base * (1 + self.jitter * (2 * rng.random() - 1))))


class Sender(Protocol):
    """What the drainer needs of a channel (``alerts.channels.Channel`` is one)."""

    name: str

    async def send(self, alert: Alert, key: str) -> str: ...


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=row[0], alert_id=row[1], channel=row[2], state=DeliveryState(row[3]),
        attempts=row[4], next_at=row[5], last_error=row[6], detail=row[7], updated_at=row[8],
    )


_DELIVERY_COLUMNS = (
    "id, alert_id, channel, state, attempts, next_at, last_error, detail, updated_at"
)


class Outbox:
    """Alerts and deliveries in the claimwatch database. Thread-safe through ``lock``."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock | None = None) -> None:
        self._db = db
        self._lock = lock or threading.RLock()
        with self._lock:
            if not self._has_tables():
                self._db.executescript(_SCHEMA)

    def _has_tables(self) -> bool:
        row = self._db.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN "
            "('outbox_alerts', 'outbox_deliveries')"
        ).fetchone()
        return int(row[0]) == 2

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("SAVEPOINT outbox")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK TO outbox")
                self._db.execute("RELEASE outbox")
                raise
            self._db.execute("RELEASE outbox")

    # -- writing ------------------------------------------------------------------------

    def enqueue(
        self, alert: Alert, channels: Sequence[str], *, hold: bool = False,
        now: float | None = None,
    ) -> None:
        """Record ``alert`` and one delivery per channel, together. With ``hold`` the
        deliveries are recorded as held (not to be sent)."""
        now = time.time() if now is None else now
        state = DeliveryState.HELD if hold else DeliveryState.PENDING
        with self._savepoint():
            self._db.execute(
                "INSERT INTO outbox_alerts (id, incident_id, narrative_id, event, at, body, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (alert.alert_id, alert.incident_id, alert.narrative_id, alert.event.value,
                 alert.at.timestamp(), json.dumps(alert.as_dict(), ensure_ascii=False), now),
            )
            self._db.executemany(
                "INSERT INTO outbox_deliveries (alert_id, channel, state, next_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(alert.alert_id, name, state.value, now, now) for name in channels],
            )

    def sent(self, delivery_id: int, detail: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._savepoint():
            self._db.execute(
                "UPDATE outbox_deliveries SET state = 'sent', attempts = attempts + 1, "
                "detail = ?, last_error = NULL, updated_at = ? WHERE id = ?",
                (detail, now, delivery_id),
            )

    def failed(
        self, delivery: Delivery, error: str, *, permanent: bool, policy: RetryPolicy,
        created_at: float, rng: random.Random, now: float | None = None,
    ) -> DeliveryState:
        """Record a failed attempt; dead when it cannot or may no longer be retried."""
        now = time.time() if now is None else now
        attempts = delivery.attempts + 1
        too_old = now - created_at >= policy.max_age
        dead = permanent or attempts >= policy.max_attempts or too_old
        if dead and not permanent:
            error += (
                f" (gave up after {attempts} attempts)" if not too_old
                else f" (gave up: undelivered after {policy.max_age / 60:.0f} minutes)"
            )
        next_at = now if dead else now + policy.delay(attempts, rng)
        state = DeliveryState.DEAD if dead else DeliveryState.PENDING
        with self._savepoint():
            self._db.execute(
                "UPDATE outbox_deliveries SET state = ?, attempts = ?, next_at = ?, "
                "last_error = ?, updated_at = ? WHERE id = ?",
                (state.value, attempts, next_at, error, now, delivery.id),
            )
        return state

    # -- reading ------------------------------------------------------------------------

    def due(
        self, now: float | None = None, *, limit: int = 100, waiting_too: bool = False
    ) -> list[tuple[Delivery, Alert, float]]:
        """Pending deliveries whose time has come (every pending one with
        ``waiting_too``: a restarted process retries at once), oldest first, each with
        its alert and the wall time the alert was recorded."""
        now = time.time() if now is None else now
        bound = float("inf") if waiting_too else now
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join('d.' + c for c in _DELIVERY_COLUMNS.split(', '))}, "
                "a.body, a.created_at FROM outbox_deliveries d "
                "JOIN outbox_alerts a ON a.id = d.alert_id "
                "WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY a.seq, d.id LIMIT ?",
                (bound, limit),
            ).fetchall()
        return [(_delivery(r[:9]), Alert.from_dict(json.loads(r[9])), r[10]) for r in rows]

    def next_due(self) -> float | None:
        """When the earliest pending delivery is due (seconds since the epoch)."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_at) FROM outbox_deliveries WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Deliveries by state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, count(*) FROM outbox_deliveries GROUP BY state"
            ).fetchall()
        return {state.value: 0 for state in DeliveryState} | {s: n for s, n in rows}

    def alerts(
        self, incident_id: str | None = None, *, limit: int = 200
    ) -> list[tuple[Alert, list[Delivery]]]:
        """Recorded alerts, newest first, each with its deliveries by channel."""
        where, params = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, body FROM outbox_alerts {where} ORDER BY seq DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            found: dict[str, list[Delivery]] = {r[0]: [] for r in rows}
            if found:
                marks = ",".join("?" * len(found))
                for row in self._db.execute(
                    f"SELECT {_DELIVERY_COLUMNS} FROM outbox_deliveries "
                    f"WHERE alert_id IN ({marks}) ORDER BY channel",
                    list(found),
                ):
                    found[row[1]].append(_delivery(row))
        return [(Alert.from_dict(json.loads(body)), found[aid]) for aid, body in rows]


@dataclass(slots=True)
class DrainReport:
    """What one drain did: deliveries sent, failed (to be retried) and given up."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class Drainer:
    """Sends due deliveries through their channels and records what happened.

    Database work runs through ``blocking`` (a thread by default), never on the loop.
    A delivery whose channel is no longer configured is retried until it is too old,
    then dead, with a message saying so."""

    def __init__(
        self, outbox: Outbox, channels: Mapping[str, Sender], policy: RetryPolicy,
        *, rng: random.Random | None = None,
        blocking: Callable[..., Any] | None = None,
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        self.outbox = outbox
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
        due = await self._run(self.outbox.due, limit=limit, waiting_too=waiting_too)
        by_channel: dict[str, list[tuple[Delivery, Alert, float]]] = {}
        for item in due:
            by_channel.setdefault(item[0].channel, []).append(item)
        await asyncio.gather(*(self._send_all(items, report) for items in by_channel.values()))
        return report

    async def _send_all(
        self, items: list[tuple[Delivery, Alert, float]], report: DrainReport
    ) -> None:
        for delivery, alert, created_at in items:
            channel = self.channels.get(delivery.channel)
            try:
                if channel is None:
                    raise DeliveryError(f"channel {delivery.channel!r} is not configured")
                detail = await channel.send(alert, alert.alert_id)
            except DeliveryError as exc:
                state = await self._run(
                    self.outbox.failed, delivery, str(exc), permanent=exc.permanent,
                    policy=self.policy, created_at=created_at, rng=self.rng,
                )
                outcome = "dead" if state is DeliveryState.DEAD else "retrying"
                if state is DeliveryState.DEAD:
                    report.dead += 1
                    log.error("alert %s to %s is dead: %s", alert.alert_id, delivery.channel, exc)
                else:
                    report.retrying += 1
                    log.warning("alert %s to %s failed, will retry: %s",
                                alert.alert_id, delivery.channel, exc)
                report.errors.append(f"{delivery.channel}: {exc}")
            except Exception as exc:  # a channel bug must not stop the others
                state = await self._run(
                    self.outbox.failed, delivery, f"{type(exc).__name__}: {exc}",
                    permanent=False, policy=self.policy, created_at=created_at, rng=self.rng,
                )
                outcome = "dead" if state is DeliveryState.DEAD else "retrying"
                report.retrying += outcome == "retrying"
                report.dead += outcome == "dead"
                report.errors.append(f"{delivery.channel}: {type(exc).__name__}: {exc}")
                log.exception("channel %s failed unexpectedly", delivery.channel)
            else:
                await self._run(self.outbox.sent, delivery.id, detail)
                report.sent += 1
                outcome = "sent"
            if self.on_result is not None:
                self.on_result(delivery.channel, outcome)

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
