"""The outbox's two tables: each alert as recorded, and one delivery row per channel.

Created by migration 7 (:mod:`tracker.store.schema`). An alert and its deliveries are
written in one ``SAVEPOINT``, so they join the caller's transaction when there is one:
the rule state that produced the alert commits with it. This module only records; when
to retry and when to give up is decided by :mod:`alerts.outbox`, which reaches these
tables through its ``OutboxStorage`` protocol (:class:`Outbox` is one).

Several workers may drain one database: :meth:`Outbox.claim_due` marks the deliveries a
worker is about to send as claimed by it until a deadline (migration 8), so no other
worker sends them meanwhile, and one whose worker died is due again once the deadline
has passed.

Times are float seconds since the epoch (UTC wall clock for ``next_at``, ``created_at``,
``updated_at`` and ``claimed_until``; the alert's own ``at`` is event time).
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tracker.models import Alert
from tracker.store.connection import Connection

__all__ = ["Delivery", "DeliveryState", "Outbox"]


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


_DELIVERY_COLUMNS = (
    "id, alert_id, channel, state, attempts, next_at, last_error, detail, updated_at"
)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=row[0], alert_id=row[1], channel=row[2], state=DeliveryState(row[3]),
        attempts=row[4], next_at=row[5], last_error=row[6], detail=row[7], updated_at=row[8],
    )


class Outbox:
    """Alerts and deliveries in the claimwatch database, reached as ``store.outbox``.
    Shares the store's connection and lock (thread-safe through ``lock``)."""

    def __init__(self, db: Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        with self._lock, self._db.savepoint("outbox"):
            yield

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
        """Record the attempt that delivered it, with the receiver's ``detail``."""
        now = time.time() if now is None else now
        with self._savepoint():
            self._db.execute(
                "UPDATE outbox_deliveries SET state = 'sent', attempts = attempts + 1, "
                "detail = ?, last_error = NULL, updated_at = ?, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = ?",
                (detail, now, delivery_id),
            )

    def failed(
        self, delivery_id: int, error: str, *, attempts: int, retry_at: float | None,
        now: float | None = None,
    ) -> None:
        """Record a failed attempt, the ``attempts``-th: pending again until ``retry_at``
        (seconds since the epoch), or dead when ``retry_at`` is None (given up)."""
        now = time.time() if now is None else now
        state = DeliveryState.DEAD if retry_at is None else DeliveryState.PENDING
        with self._savepoint():
            self._db.execute(
                "UPDATE outbox_deliveries SET state = ?, attempts = ?, next_at = ?, "
                "last_error = ?, updated_at = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ?",
                (state.value, attempts, now if retry_at is None else retry_at, error, now,
                 delivery_id),
            )

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

    def claim_due(
        self, holder: str, seconds: float, now: float | None = None, *, limit: int = 100,
        waiting_too: bool = False,
    ) -> list[tuple[Delivery, Alert, float]]:
        """What :meth:`due` gives, claimed by worker ``holder`` for ``seconds``: no other
        worker claims them until it records the outcome (:meth:`sent`, :meth:`failed`) or
        the claim runs out (a dead worker's deliveries are due again then). One statement,
        committed at once; on PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so
        workers draining together each take different deliveries without waiting."""
        now = time.time() if now is None else now
        bound = float("inf") if waiting_too else now
        skip = " FOR UPDATE OF d SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        with self._lock, self._db.savepoint("outbox_claim"):
            rows = self._db.execute(
                "UPDATE outbox_deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                "SELECT d.id FROM outbox_deliveries d JOIN outbox_alerts a ON a.id = d.alert_id "
                "WHERE d.state = 'pending' AND d.next_at <= ? "
                "AND (d.claimed_until IS NULL OR d.claimed_until < ?) "
                f"ORDER BY a.seq, d.id LIMIT ?{skip}) RETURNING id",
                (holder, now + seconds, bound, now, limit),
            ).fetchall()
            if not rows:
                return []
            claimed = [int(r[0]) for r in rows]
            found = self._db.execute(
                f"SELECT {', '.join('d.' + c for c in _DELIVERY_COLUMNS.split(', '))}, "
                "a.body, a.created_at FROM outbox_deliveries d "
                "JOIN outbox_alerts a ON a.id = d.alert_id "
                f"WHERE d.id IN ({','.join('?' * len(claimed))}) ORDER BY a.seq, d.id",
                claimed,
            ).fetchall()
        return [(_delivery(r[:9]), Alert.from_dict(json.loads(r[9])), r[10]) for r in found]

    def renew_claim(
        self, delivery_id: int, holder: str, seconds: float, now: float | None = None
    ) -> bool:
        """Extend ``holder``'s claim on a delivery to ``seconds`` from ``now``, just before
        sending it; False when the claim ran out meanwhile (another worker may have taken
        it: this one must not send it). One atomic statement."""
        now = time.time() if now is None else now
        with self._lock, self._db.savepoint("outbox_claim"):
            row = self._db.execute(
                "UPDATE outbox_deliveries SET claimed_until = ? WHERE id = ? AND "
                "claimed_by = ? AND claimed_until >= ? AND state = 'pending' RETURNING id",
                (now + seconds, delivery_id, holder, now),
            ).fetchone()
        return row is not None

    def next_due(self) -> float | None:
        """When the earliest pending delivery is due (seconds since the epoch)."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_at) FROM outbox_deliveries WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Deliveries by state (every state, 0 when none)."""
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
