"""The connection every table group shares: one :class:`~tracker.store.connection.Connection`
(SQLite or PostgreSQL), one lock, and transactions as explicit blocks (SQLite:
``BEGIN IMMEDIATE``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from tracker.store.connection import Connection, Cursor, Dialect

__all__ = ["Tables", "chunks", "dt", "ts"]

_VALUES_PARAMS = 30_000
"""Most parameters in one multi-row ``INSERT`` (SQLite's default limit is 32,766,
PostgreSQL's 65,535)."""
_VALUES_ROWS = 500
"""Most rows in one multi-row ``INSERT``."""

T = TypeVar("T")


def ts(value: datetime) -> float:
    """Seconds since the epoch, as stored."""
    return value.timestamp()


def dt(value: float) -> datetime:
    """A stored time back as an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)


def chunks(items: Sequence[T], size: int = 500) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (SQLite limits bound parameters)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def marks(n: int) -> str:
    return ",".join("?" * n)


class Tables:
    """Base of the table groups: the connection, its lock and transactions."""

    _db: Connection
    _lock: threading.RLock
    _depth: int

    @property
    def dialect(self) -> Dialect:
        """``sqlite`` or ``postgresql``: for the few statements that truly differ."""
        return self._db.dialect

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (SQLite: ``BEGIN IMMEDIATE``); nested uses join the outer one.
        Holds the store's lock throughout, so no other thread interleaves statements."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._db.rollback()
                raise
            self._depth = 0
            self._db.commit()

    def _insert_values(
        self, head: str, rows: Sequence[Sequence[Any]], returning: str
    ) -> list[Any]:
        """``head`` (``INSERT [OR IGNORE] INTO t (columns)``) with many rows of parameters
        per statement (``VALUES (?,..),(?,..) RETURNING returning``): one statement per
        few hundred rows, not one per row. Rows get their ids in the order given, as one
        at a time; what comes back is every inserted row's ``returning`` columns in no
        set order (SQLite does not promise one): return a key and map it."""
        if not rows:
            return []
        width = len(rows[0])
        per = max(1, min(_VALUES_ROWS, _VALUES_PARAMS // max(width, 1)))
        one = f"({','.join('?' * width)})"
        out: list[Any] = []
        with self._lock:
            start = 0
            while start < len(rows):
                # full statements, then the rest in powers of two: few distinct statement
                # texts (SQLite's statement cache, PostgreSQL's prepared statements and
                # the translation cache hold each), whatever the batch sizes
                left = len(rows) - start
                n = per if left >= per else 1 << (left.bit_length() - 1)
                part = rows[start : start + n]
                start += n
                sql = f"{head} VALUES {','.join([one] * n)} RETURNING {returning}"
                out += self._db.execute(sql, [v for row in part for v in row]).fetchall()
        return out

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self._lock:
            return self._db.execute(sql, params)
