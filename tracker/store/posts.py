"""Posts, claims and embeddings."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from tracker.ingest.normalize import text_hash
from tracker.models import Claim, ClaimKind, Post, Stance, Tier, Value
from tracker.store.base import Tables, chunks, dt, ts

__all__ = [
    "ClaimRow",
    "NewPost",
    "PostInfo",
    "PostTables",
]


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post about to be stored, with its claims (none for a repost) and, for a reply,
    its stance toward the post it answers."""

    post: Post
    text_hash: str
    claims: Sequence[Claim]  # as read; a claim's text_hash, when set, keys its vector
    stance: Stance | None = None


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


@dataclass(frozen=True, slots=True)
class PostInfo:
    """A stored post as the narrative stage needs it. ``repost_of`` is the row id of the
    original when the post is a repost of a stored post."""

    rowid: int
    source: str
    ext_id: str
    author: str | None
    tier: Tier
    text: str
    created_at: datetime
    is_repost: bool
    repost_of: int | None
    reply_to: int | None = None
    claims: list[Claim] = field(default_factory=list)  # stored: id, hash, vector set
    stance: Stance | None = None


class PostTables(Tables):
    """Posts, their claims, and the vectors of claim texts."""

    def existing_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those (source, id) pairs already stored."""
        found: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for source, ext_id in keys:
            by_source.setdefault(source, []).append(ext_id)
        with self._lock:
            for source, ids in by_source.items():
                for chunk in chunks(ids, 500):
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
    ) -> tuple[list[int | None], list[Claim]]:
        """Store posts, their claims and newly computed embeddings in one transaction.

        Returns, per post, its new row id (None: already stored, nothing written), and
        the claims written. ``new_vectors`` maps text hash to a (dim,) float32 vector.
        """
        now = time.time()
        inserted: list[int | None] = []
        claims: list[Claim] = []
        with self.transaction():
            # a few hundred rows per statement, in order: the ids one statement per row
            # gives; the rows come back in no set order, so by their keys
            new_ids = {
                (source, ext_id): rowid
                for rowid, source, ext_id in self._insert_values(
                    "INSERT OR IGNORE INTO posts (source, ext_id, author, tier, text, "
                    "text_hash, created_at, url, lang, repost_of, reply_to, metrics, "
                    "extra, ingested_at, stance)",
                    [_post_row(item, now) for item in posts],
                    "id, source, ext_id",
                )
            }
            pending: list[tuple[Claim, str, int, int]] = []
            params: list[tuple[object, ...]] = []
            for item in posts:
                # None: stored already, or a second post of the same key in the batch
                post_rowid = new_ids.pop((item.post.source, item.post.id), None)
                inserted.append(post_rowid)
                if post_rowid is None:
                    continue
                for position, claim in enumerate(item.claims):
                    digest = claim.text_hash or text_hash(claim.text)
                    pending.append((claim, digest, post_rowid, position))
                    params.append((
                        post_rowid, position, claim.text, digest, claim.kind.value,
                        _json_list(claim.actors), _json_list(claim.candidate_actors),
                        claim.hedge, int(claim.negated), int(claim.official_voice),
                        claim.authority,
                        json.dumps([v.as_dict() for v in claim.values])
                        if claim.values else None,
                    ))
            claim_ids = {
                (post_rowid, position): claim_id
                for claim_id, post_rowid, position in self._insert_values(
                    "INSERT INTO claims (post_id, position, text, text_hash, kind, "
                    "actors, candidates, hedge, negated, official_voice, authority, vals)",
                    params,
                    "id, post_id, position",
                )
            }
            claims = [
                replace(claim, id=claim_ids[post_rowid, position], text_hash=digest)
                for claim, digest, post_rowid, position in pending
            ]
            # in key order: each row lands next to the last one in the table's B-tree
            self._db.executemany(
                "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?,?,?)",
                (
                    (model, h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for h, v in sorted(new_vectors.items(), key=_first)
                ),
            )
        return inserted, claims

    def unprocessed_posts(self, limit: int = 5000) -> list[int]:
        """Row ids of stored posts not yet linked and clustered, oldest first."""
        rows = self._all(
            "SELECT id FROM posts WHERE processed = 0 ORDER BY created_at, id LIMIT ?", (limit,)
        )
        return [r[0] for r in rows]

    def mark_processed(self, rowids: Sequence[int]) -> None:
        with self.transaction():
            self._db.executemany(
                "UPDATE posts SET processed = 1 WHERE id = ?", ((r,) for r in rowids)
            )

    def responses_to(self, rowid: int) -> list[int]:
        """Stored reposts of and replies to a post, oldest first."""
        rows = self._all(
            "SELECT c.id, c.created_at FROM posts p JOIN posts c ON c.source = p.source "
            "AND c.repost_of = p.ext_id WHERE p.id = ? UNION "
            "SELECT c.id, c.created_at FROM posts p JOIN posts c ON c.source = p.source "
            "AND c.reply_to = p.ext_id WHERE p.id = ? ORDER BY 2, 1",
            (rowid, rowid),
        )
        return [r[0] for r in rows]

    def post_rowids_between(self, start: datetime, end: datetime) -> list[int]:
        """Stored posts created in [start, end], oldest first."""
        rows = self._all(
            "SELECT id FROM posts WHERE created_at BETWEEN ? AND ? ORDER BY created_at, id",
            (ts(start), ts(end)),
        )
        return [r[0] for r in rows]

    def posts_for_processing(self, rowids: Sequence[int], model: str) -> list[PostInfo]:
        """Posts with their claims and claim vectors, oldest first."""
        posts: dict[int, PostInfo] = {}
        tiers, stances, kinds = _TIERS, _STANCES, _KINDS
        for part in chunks(list(rowids)):
            m = ",".join("?" * len(part))
            for (rowid, source, ext_id, author, tier, text, created_at, repost_of, original,
                 parent, stance) in self._all(
                "SELECT p.id, p.source, p.ext_id, p.author, p.tier, p.text, p.created_at, "
                "p.repost_of, o.id, r.id, p.stance FROM posts p "
                "LEFT JOIN posts o ON p.repost_of IS NOT NULL "
                "AND o.source = p.source AND o.ext_id = p.repost_of "
                "LEFT JOIN posts r ON p.reply_to IS NOT NULL "
                f"AND r.source = p.source AND r.ext_id = p.reply_to WHERE p.id IN ({m})",
                part,
            ):
                is_repost = repost_of is not None and not text
                posts[rowid] = PostInfo(
                    rowid, source, ext_id, author, tiers.get(tier or "unverified") or Tier(tier),
                    text, dt(created_at), is_repost, original if is_repost else None, parent,
                    stance=(stances.get(stance) or Stance(stance)) if stance else None,
                )
            for (post_id, claim_id, text, digest, kind, actors, candidates, hedge, negated,
                 official_voice, vector, authority, vals) in self._all(
                "SELECT c.post_id, c.id, c.text, c.text_hash, c.kind, c.actors, c.candidates, "
                "c.hedge, c.negated, c.official_voice, e.vector, c.authority, c.vals "
                "FROM claims c "
                "LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = c.text_hash "
                f"WHERE c.post_id IN ({m}) ORDER BY c.post_id, c.position",
                (model, *part),
            ):
                posts[post_id].claims.append(
                    Claim(
                        text, kinds.get(kind) or ClaimKind(kind), _names(actors),
                        _names(candidates), hedge, bool(negated), bool(official_voice),
                        authority,
                        tuple(Value.from_dict(v) for v in json.loads(vals)) if vals else (),
                        id=claim_id, text_hash=digest,
                        vector=np.frombuffer(vector, dtype=np.float32) if vector else None,
                    )
                )
        return sorted(posts.values(), key=_time_and_rowid)

    def count(self, table: str) -> int:
        if table not in {"posts", "claims", "embeddings", "narratives", "findings",
                         "post_incidents"}:
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

    def claim_texts_after(self, after: int, limit: int = 50_000) -> list[tuple[int, str]]:
        """(id, text) of the claims with an id above ``after``, in id order."""
        rows = self._all(
            "SELECT id, text FROM claims WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        return [(r[0], r[1]) for r in rows]

    def claims(self, ids: Sequence[int]) -> dict[int, ClaimRow]:
        """Claims by id, with their posts."""
        out: dict[int, ClaimRow] = {}
        with self._lock:
            for chunk in chunks(list(ids), 500):
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    "SELECT c.id, c.text, c.text_hash, p.ext_id, p.source, p.author, "
                    f"p.created_at FROM claims c JOIN posts p ON p.id = c.post_id "
                    f"WHERE c.id IN ({marks})",
                    chunk,
                ):
                    out[row[0]] = ClaimRow(
                        row[0], row[1], row[2], row[3], row[4], row[5], dt(row[6])
                    )
        return out

    def same_text_counts(self, hashes: Sequence[str]) -> dict[str, int]:
        """How many claims carry each text hash."""
        out: dict[str, int] = {}
        with self._lock:
            for chunk in chunks(list(set(hashes)), 500):
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
            for chunk in chunks(list(set(hashes)), 500):
                marks = ",".join("?" * len(chunk))
                for h, blob in self._db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE model = ? "
                    f"AND text_hash IN ({marks})",
                    (model, *chunk),
                ):
                    out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?,?,?)",
                ((model, h, np.asarray(v, np.float32).tobytes()) for h, v in vectors.items()),
            )

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
                yield from _vectorchunks(rows, chunk)
        for part in chunks([int(i) for i in ids], 500):
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(
                    "SELECT c.id, e.vector FROM claims c JOIN embeddings e "
                    f"ON e.model = ? AND e.text_hash = c.text_hash WHERE c.id IN ({marks})",
                    (model, *part),
                ).fetchall()
            yield from _vectorchunks(rows, chunk)

    def responses_to_posts(self, rowids: Sequence[int]) -> dict[int, list[int]]:
        """:meth:`responses_to` of many posts in one query per 500: post rowid -> its
        stored reposts and replies, oldest first (posts without any are left out)."""
        out: dict[int, list[int]] = {}
        for part in chunks(list(dict.fromkeys(rowids))):
            m = ",".join("?" * len(part))
            for parent, child, _ in self._all(
                "SELECT p.id, c.id, c.created_at FROM posts p JOIN posts c ON c.source = p.source "
                f"AND c.repost_of = p.ext_id WHERE p.id IN ({m}) UNION "
                "SELECT p.id, c.id, c.created_at FROM posts p JOIN posts c ON c.source = p.source "
                f"AND c.reply_to = p.ext_id WHERE p.id IN ({m}) ORDER BY 1, 3, 2",
                (*part, *part),
            ):
                out.setdefault(parent, []).append(child)
        return out


_TIERS = {t.value: t for t in Tier}
_STANCES = {s.value: s for s in Stance}
_KINDS = {k.value: k for k in ClaimKind}
"""Stored values to members by a dict (calling an Enum costs more); an unknown value
falls through to the Enum, which raises as before."""


def _names(stored: str) -> tuple[str, ...]:
    """A stored JSON list of names as a tuple (most claims name none: ``[]``)."""
    return () if stored == "[]" else tuple(json.loads(stored))


def _time_and_rowid(post: PostInfo) -> tuple[datetime, int]:
    return post.created_at, post.rowid


_encode_extra = json.JSONEncoder(default=str).encode
"""``json.dumps(value, default=str)`` without a new encoder each call."""


def _first(item: tuple[str, np.ndarray]) -> str:
    return item[0]


def _json_list(items: Sequence[str]) -> str:
    """``json.dumps(list(items))`` (most claims name no actor: ``[]`` without encoding)."""
    return json.dumps(list(items)) if items else "[]"


def _post_row(item: NewPost, now: float) -> tuple[object, ...]:
    """The parameters of a post's ``INSERT`` (``now``: when it was ingested, epoch s)."""
    p = item.post
    return (
        p.source, p.id, p.author, p.tier.value if p.tier else None, p.text, item.text_hash,
        ts(p.created_at), p.url, p.lang, p.repost_of, p.reply_to, json.dumps(p.metrics),
        _encode_extra(p.extra), now, item.stance.value if item.stance else None,
    )


def _vectorchunks(
    rows: list[tuple[int, bytes]], size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        vecs = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in part])
        yield ids, vecs
