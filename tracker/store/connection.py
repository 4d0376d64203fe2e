"""One small connection class per engine, behind the :class:`Connection` protocol.

Every store query is written once, SQLite-style (``?`` placeholders). :class:`SqliteConnection`
passes it through; :class:`PostgresConnection` translates it
by fixed rules. Transactions are explicit (``begin``/``commit``/``rollback``) on both
engines; :meth:`Connection.savepoint` works inside and outside a transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from tracker.errors import ReadTimeoutError

__all__ = ["Connection", "Cursor", "Dialect", "SqliteConnection"]

Dialect = Literal["sqlite", "postgresql"]

_CHECK_EVERY = 1000
"""SQLite virtual-machine instructions between two looks at the clock (a few microseconds)."""


class Cursor(Protocol):
    """What a statement gives back: rows (fetched, or by iteration) and ``rowcount``."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """One database connection. Not thread-safe: the store serializes calls with a lock."""

    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement (SQLite syntax, ``?`` placeholders)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        ...

    def script(self, sql: str) -> None:
        """Run a migration's statements (``;``-separated DDL) inside the open transaction."""
        ...

    def begin(self) -> None:
        """Open a transaction that writes (SQLite: ``BEGIN IMMEDIATE``)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def savepoint(self, name: str) -> Any:
        """A context manager: a savepoint inside the open transaction, else a transaction
        of its own; rolled back when the block raises."""
        ...

    def time_limit(self, seconds: float) -> Any:
        """A context manager: statements in the block are stopped once ``seconds`` have
        passed since it began, and the block raises
        :class:`~tracker.errors.ReadTimeoutError`."""
        ...

    @property
    def schema_version(self) -> int:
        """How many migrations the database has had."""
        ...

    def set_schema_version(self, number: int) -> None:
        """Record ``number`` migrations (inside the migration's transaction)."""
        ...

    def close(self) -> None: ...


class SqliteConnection:
    """A SQLite file in WAL mode (``readonly``: a reader that never waits for the writer)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        if readonly:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0,
                isolation_level=None, check_same_thread=False,
            )
        else:
            self._db = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def script(self, sql: str) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        self._db.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @contextmanager
    def savepoint(self, name: str) -> Iterator[None]:
        # outside a transaction SQLite's SAVEPOINT opens one (deferred) and RELEASE commits
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            raise
        self._db.execute(f"RELEASE {name}")

    @contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        deadline = time.monotonic() + seconds
        expired = False

        def check() -> int:
            nonlocal expired
            expired = time.monotonic() > deadline
            return 1 if expired else 0  # non-zero: SQLite interrupts the statement

        self._db.set_progress_handler(check, _CHECK_EVERY)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if expired:
                raise ReadTimeoutError(f"the read was stopped after {seconds:g} s") from exc
            raise
        finally:
            self._db.set_progress_handler(None, 0)

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, number: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(number)}")

    def close(self) -> None:
        self._db.close()
