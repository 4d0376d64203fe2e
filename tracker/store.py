"""Persistence: the SQLite database is the source of truth. Nothing else touches SQL.

WAL mode, one connection per :class:`Store`, every write in one ``BEGIN IMMEDIATE``
transaction. The schema is created and upgraded by the numbered ``MIGRATIONS`` below;
``PRAGMA user_version`` records how far a file has come.

Times are stored as float seconds since the epoch, UTC. Embeddings are float32 blobs keyed
by (model, text hash), so the FAISS index is derived data that can always be rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.errors import StoreError
from tracker.models import Post, Tier

__all__ = ["MIGRATIONS", "ClaimRow", "NewClaim", "NewPost", "Store", "StoredClaim"]

MIGRATIONS: tuple[str, ...] = (
    # 1: posts, claims, embeddings
    """
    CREATE TABLE posts (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        ext_id      TEXT NOT NULL,
        author      TEXT,
        tier        TEXT,
        text        TEXT NOT NULL,
        text_hash   TEXT NOT NULL,
        created_at  REAL NOT NULL,
        url         TEXT,
        lang        TEXT,
        repost_of   TEXT,
        reply_to    TEXT,
        metrics     TEXT NOT NULL DEFAULT '{}',
        extra       TEXT NOT NULL DEFAULT '{}',
        ingested_at REAL NOT NULL,
        UNIQUE (source, ext_id)
    );
    CREATE INDEX posts_created_at ON posts (created_at);
    CREATE INDEX posts_repost_of ON posts (source, repost_of) WHERE repost_of IS NOT NULL;
    CREATE TABLE claims (
        id        INTEGER PRIMARY KEY,
        post_id   INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        text      TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        UNIQUE (post_id, position)
    );
    CREATE INDEX claims_text_hash ON claims (text_hash);
    CREATE TABLE embeddings (
        model     TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector    BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    ) WITHOUT ROWID;
    """,
)


@dataclass(frozen=True, slots=True)
class NewClaim:
    """A claim about to be stored: its sentence and the hash its embedding is keyed by."""

    text: str
    text_hash: str


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post about to be stored, with its claims (none for a repost)."""

    post: Post
    text_hash: str
    claims: Sequence[NewClaim]


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """A claim row just written: its id and the hash of its text."""

    id: int
    text_hash: str


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """A claim with the post it came from, as queries show it."""

    claim_id: int
    text: str
    text_hash: str
    post_id: str
    source: str
    author: str | None
    created_at: datetime


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class Store:
    """The claimwatch database. Safe to share between threads (calls are serialized)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot create database {self.path}: {exc.strerror}") from None

    # -- schema -----------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path} has schema version {current}, newer than this "
                    f"claimwatch knows ({len(MIGRATIONS)}); upgrade claimwatch"
                )
            for number in range(current + 1, len(MIGRATIONS) + 1):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[number - 1].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- posts and claims -------------------------------------------------------------

    def existing_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those (source, id) pairs already stored."""
        found: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for source, ext_id in keys:
            by_source.setdefault(source, []).append(ext_id)
        with self._lock:
            for source, ids in by_source.items():
                for chunk in _chunks(ids, 500):
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"SELECT ext_id FROM posts WHERE source = ? AND ext_id IN ({marks})",
                        (source, *chunk),
                    )
                    found.update((source, row[0]) for row in rows)
        return found

    def add_posts(
        self,
        posts: Sequence[NewPost],
        model: str,
        new_vectors: dict[str, np.ndarray],
    ) -> tuple[list[bool], list[StoredClaim]]:
        """Store posts, their claims and newly computed embeddings in one transaction.

        Returns, per post, whether it was new (False: already stored, nothing written),
        and the claims written. ``new_vectors`` maps text hash to a (dim,) float32 vector.
        """
        now = time.time()
        inserted: list[bool] = []
        claims: list[StoredClaim] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for item in posts:
                    p = item.post
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO posts (source, ext_id, author, tier, text, "
                        "text_hash, created_at, url, lang, repost_of, reply_to, metrics, "
                        "extra, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            p.source, p.id, p.author, p.tier.value if p.tier else None, p.text,
                            item.text_hash, _ts(p.created_at), p.url, p.lang, p.repost_of,
                            p.reply_to, json.dumps(p.metrics), json.dumps(p.extra, default=str),
                            now,
                        ),
                    )
                    if cur.rowcount == 0:
                        inserted.append(False)
                        continue
                    inserted.append(True)
                    post_rowid = cur.lastrowid
                    for position, claim in enumerate(item.claims):
                        c = self._db.execute(
                            "INSERT INTO claims (post_id, position, text, text_hash) "
                            "VALUES (?,?,?,?)",
                            (post_rowid, position, claim.text, claim.text_hash),
                        )
                        assert c.lastrowid is not None
                        claims.append(StoredClaim(c.lastrowid, claim.text_hash))
                self._db.executemany(
                    "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?,?,?)",
                    (
                        (model, h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                        for h, v in new_vectors.items()
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return inserted, claims

    def count(self, table: str) -> int:
        if table not in {"posts", "claims", "embeddings"}:
            raise ValueError(table)
        with self._lock:
            return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def post_claim_count(self, source: str, ext_id: str) -> int:
        """Claims a post carries, following a repost to its original."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, repost_of FROM posts WHERE source = ? AND ext_id = ?",
                (source, ext_id),
            ).fetchone()
            if row is None:
                return 0
            rowid, repost_of = row
            if repost_of is not None:
                orig = self._db.execute(
                    "SELECT id FROM posts WHERE source = ? AND ext_id = ?", (source, repost_of)
                ).fetchone()
                if orig is None:
                    return 0
                rowid = orig[0]
            return int(
                self._db.execute("SELECT count(*) FROM claims WHERE post_id = ?", (rowid,))
                .fetchone()[0]
            )

    def claim_ids(self) -> np.ndarray:
        """Every claim id, ascending, as int64."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM claims ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def claims(self, ids: Sequence[int]) -> dict[int, ClaimRow]:
        """Claims by id, with their posts."""
        out: dict[int, ClaimRow] = {}
        with self._lock:
            for chunk in _chunks(list(ids), 500):
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    "SELECT c.id, c.text, c.text_hash, p.ext_id, p.source, p.author, "
                    f"p.created_at FROM claims c JOIN posts p ON p.id = c.post_id "
                    f"WHERE c.id IN ({marks})",
                    chunk,
                ):
                    out[row[0]] = ClaimRow(
                        row[0], row[1], row[2], row[3], row[4], row[5], _dt(row[6])
                    )
        return out

    def same_text_counts(self, hashes: Sequence[str]) -> dict[str, int]:
        """How many claims carry each text hash."""
        out: dict[str, int] = {}
        with self._lock:
            for chunk in _chunks(list(set(hashes)), 500):
                marks = ",".join("?" * len(chunk))
                for h, n in self._db.execute(
                    f"SELECT text_hash, count(*) FROM claims WHERE text_hash IN ({marks}) "
                    "GROUP BY text_hash",
                    chunk,
                ):
                    out[h] = int(n)
        return out

    def tier_of(self, source: str, ext_id: str) -> Tier | None:
        with self._lock:
            row = self._db.execute(
                "SELECT tier FROM posts WHERE source = ? AND ext_id = ?", (source, ext_id)
            ).fetchone()
        return Tier(row[0]) if row and row[0] else None

    # -- embeddings -------------------------------------------------------------------

    def embeddings(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors by text hash, for those hashes that have one."""
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for chunk in _chunks(list(set(hashes)), 500):
                marks = ",".join("?" * len(chunk))
                for h, blob in self._db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE model = ? "
                    f"AND text_hash IN ({marks})",
                    (model, *chunk),
                ):
                    out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?,?,?)",
                    ((model, h, np.asarray(v, np.float32).tobytes()) for h, v in vectors.items()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def claim_texts_without_embedding(self, model: str) -> dict[str, str]:
        """Text hash -> text for claims whose text has no vector for ``model`` yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.text_hash, min(c.text) FROM claims c LEFT JOIN embeddings e "
                "ON e.model = ? AND e.text_hash = c.text_hash WHERE e.text_hash IS NULL "
                "GROUP BY c.text_hash",
                (model,),
            ).fetchall()
        return {h: t for h, t in rows}

    def iter_claim_vectors(
        self, model: str, ids: np.ndarray | None = None, chunk: int = 20000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids (n,) int64, vectors (n, dim) float32) for claims having a vector for
        ``model``: all of them, or those among ``ids``."""
        if ids is None:
            last = -1
            while True:
                with self._lock:
                    rows = self._db.execute(
                        "SELECT c.id, e.vector FROM claims c JOIN embeddings e "
                        "ON e.model = ? AND e.text_hash = c.text_hash WHERE c.id > ? "
                        "ORDER BY c.id LIMIT ?",
                        (model, last, chunk),
                    ).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                yield from _vector_chunks(rows, chunk)
        for part in _chunks([int(i) for i in ids], 500):
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(
                    "SELECT c.id, e.vector FROM claims c JOIN embeddings e "
                    f"ON e.model = ? AND e.text_hash = c.text_hash WHERE c.id IN ({marks})",
                    (model, *part),
                ).fetchall()
            yield from _vector_chunks(rows, chunk)


def _vector_chunks(
    rows: list[tuple[int, bytes]], size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        vecs = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in part])
        yield ids, vecs


def _chunks(items: Sequence[str] | list[int], size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
