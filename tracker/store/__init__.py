"""Persistence: the SQLite database is the source of truth. Nothing else touches SQL.

WAL mode, one connection per :class:`Store`, every write in one ``BEGIN IMMEDIATE``
transaction. The schema is created and upgraded by the numbered migrations in
:mod:`tracker.store.schema`; ``PRAGMA user_version`` records how far a file has come.

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
from tracker.store.connection import Connection, SqliteConnection
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
    "RuleState",
    "Store",
    "ValuePost",
]


class Store(PostTables, NarrativeTables, AlertTables, CursorTables, LeaseTables):
    """The claimwatch database. Safe to share between threads (calls are serialized)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0
        try:
            if not readonly and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db: Connection = SqliteConnection(self.path, readonly=readonly)
            if not readonly:
                self._migrate()
            self.outbox = Outbox(self._db, self._lock)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot create database {self.path}: {exc.strerror}") from None

    def reader(self) -> Store:
        """A read-only connection to the same file, for reads that must not queue behind
        this store's writes (it sees what was committed)."""
        return Store(self.path, readonly=True)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.schema_version

    def _migrate(self) -> None:
        with self._lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path} has schema version {current}, newer than this "
                    f"claimwatch knows ({len(MIGRATIONS)}); upgrade claimwatch"
                )
            for number in range(current + 1, len(MIGRATIONS) + 1):
                with self.transaction():
                    self._db.script(MIGRATIONS[number - 1])
                    self._db.set_schema_version(number)

    def close(self) -> None:
        with self._lock:
            self._db.close()
