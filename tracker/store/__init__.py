"""Persistence: the database is the source of truth. Nothing else touches SQL.

SQLite (a file, the default) or PostgreSQL (a ``postgresql://`` URL, for several workers
on one database): one :class:`~tracker.store.connection.Connection` per :class:`Store`,
every write in one transaction (SQLite: ``BEGIN IMMEDIATE``, WAL mode). The schema is
created and upgraded by the numbered migrations in :mod:`tracker.store.schema`, the same
on both engines (translated for PostgreSQL at run time); SQLite's ``PRAGMA user_version``
or PostgreSQL's ``claimwatch_schema`` table records how far a database has come.

Times are stored as float seconds since the epoch, UTC. Embeddings are float32 blobs keyed
by (model, text hash), so the FAISS index is derived data that can always be rebuilt.
The tables come in two groups, each a mixin of its own module: posts, claims and
embeddings (:mod:`.posts`); incidents, links, narratives and findings (:mod:`.narratives`).
The outbox's alerts and deliveries (:mod:`.outbox`) are reached as ``store.outbox``; the
store imports nothing from ``alerts``.

May import: the shared nouns and :mod:`tracker.ingest` (text hashes); nothing after it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tracker.errors import StoreError
from tracker.store.alerts import AlertTables, ConflictRow, RuleState, ValuePost
from tracker.store.connection import (
    Connection,
    PostgresConnection,
    PostgresTarget,
    PostgresUrl,
    SqliteConnection,
    is_url,
    scratch_schema,
)
from tracker.store.cursors import CursorTables
from tracker.store.leases import LeaseTables
from tracker.store.narratives import NarrativeState, NarrativeTables
from tracker.store.outbox import Outbox
from tracker.store.posts import (
    ClaimRow,
    NewPost,
    PostInfo,
    PostTables,
)
from tracker.store.schema import MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "ClaimRow",
    "ConflictRow",
    "NarrativeState",
    "NewPost",
    "PostInfo",
    "PostgresTarget",
    "PostgresUrl",
    "RuleState",
    "Store",
    "ValuePost",
    "scratch_schema",
]


_MIGRATION_LOCK = 0x636C61696D770001
"""The PostgreSQL advisory-lock key migrations hold (one claimwatch constant)."""


class Store(PostTables, NarrativeTables, AlertTables, CursorTables, LeaseTables):
    """The claimwatch database. Safe to share between threads (calls are serialized)."""

    def __init__(
        self, target: str | Path | PostgresTarget, *, readonly: bool = False,
        migrate: bool = True,
    ) -> None:
        """Open the database at ``target``: a SQLite file's path, a ``postgresql://`` URL
        (no password in it: see :class:`~tracker.store.connection.PostgresTarget`) or a
        PostgreSQL target. Migrates it to the current schema unless ``readonly`` or not
        ``migrate``. Raises :class:`~tracker.errors.StoreError`."""
        if isinstance(target, str) and is_url(target):
            target = PostgresUrl(target)
        self.target: Path | PostgresTarget = (
            Path(target) if isinstance(target, str | Path) else target
        )
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0
        if isinstance(self.target, Path):
            self.path: Path | None = self.target
            self.where = str(self.target)
            try:
                if not readonly and not self.target.parent.exists():
                    self.target.parent.mkdir(parents=True, exist_ok=True)
                self._db: Connection = SqliteConnection(self.target, readonly=readonly)
                if migrate and not readonly:
                    self.migrate()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open database {self.where}: {exc}") from None
            except OSError as exc:
                raise StoreError(
                    f"cannot create database {self.where}: {exc.strerror}"
                ) from None
        else:
            self.path = None
            pg = PostgresConnection(self.target, readonly=readonly)
            self.where = pg.where
            self._db = pg
            try:
                if migrate and not readonly:
                    self.migrate()
            except BaseException:
                pg.close()
                raise
        self.outbox = Outbox(self._db, self._lock)

    def reader(self) -> Store:
        """A read-only connection to the same database, for reads that must not queue
        behind this store's writes (it sees what was committed)."""
        return Store(self.target, readonly=True)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.schema_version

    def migrate(self) -> tuple[int, int]:
        """Apply the migrations this database lacks, each in a transaction of its own;
        (version before, version after). Raises :class:`~tracker.errors.StoreError` for a
        database newer than this claimwatch. On PostgreSQL an advisory lock keeps two
        workers starting together from migrating at once."""
        with self._lock:
            locked = self._db.dialect == "postgresql"
            if locked:
                self._db.execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))
            try:
                current = before = self.schema_version
                if current > len(MIGRATIONS):
                    raise StoreError(
                        f"database {self.where} has schema version {current}, newer than "
                        f"this claimwatch knows ({len(MIGRATIONS)}); upgrade claimwatch"
                    )
                for number in range(current + 1, len(MIGRATIONS) + 1):
                    with self.transaction():
                        if self._db.schema_version >= number:
                            continue  # SQLite: another worker did it while this one waited
                        self._db.script(MIGRATIONS[number - 1])
                        self._db.set_schema_version(number)
                return before, self.schema_version
            finally:
                if locked:
                    self._db.execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
