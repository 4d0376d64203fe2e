"""What several workers on one database coordinate through (migration 8).

- **Leases**: a named lease (``source:<name>``: who polls that source) is held by one
  worker id until ``expires_at`` (seconds since the epoch, UTC wall clock). One
  ``INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE ... RETURNING`` statement takes a
  lease that is free, expired or already ours, and renews it; it works the same on SQLite
  and PostgreSQL, and is atomic on both.
- **Clustering locks**: :meth:`LeaseTables.lock_clustering` takes, inside the caller's
  transaction, PostgreSQL transaction-scoped advisory locks (``pg_advisory_xact_lock``) on
  the given keys, in sorted order (no deadlock between workers), with ``lock_timeout``
  and ``idle_in_transaction_session_timeout`` bounded so that a hung holder cannot block
  the others for ever. They go at commit or rollback, or when a killed holder's
  connection drops. On SQLite the ``BEGIN IMMEDIATE`` of the transaction already
  serialises every writer of the file: nothing more is taken.
- **The clustering revision**: a counter bumped by every transaction that changed what a
  worker keeps in memory about narratives (centroids, the alert monitor's event-time
  clock), with that clock. A worker that finds the counter moved since its own last bump
  reads narratives again before clustering.
- **Orphans**: stored posts never processed (their worker died between the two
  transactions) that have waited longer than a lease.
"""

from __future__ import annotations

import hashlib
import time

from tracker.store.base import Tables

__all__ = ["CLUSTERING", "LeaseTables", "lock_key"]

CLUSTERING = "*"
"""The clustering-lock key of what spans incidents: the alert monitor's open alerts and
its clock (every rule evaluation ticks the open alerts of every incident)."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every worker)."""
    digest = hashlib.blake2b(f"claimwatch:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaseTables(Tables):
    """Leases, clustering locks and the clustering revision."""

    def acquire(self, name: str, holder: str, seconds: float, now: float | None = None) -> bool:
        """Take lease ``name`` for ``holder`` for ``seconds`` from ``now``: when it is free,
        expired or held by ``holder`` already (then it is renewed). Whether ``holder``
        holds it now."""
        now = time.time() if now is None else now
        with self.transaction():
            row = self._one(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at < ? "
                "RETURNING holder",
                (name, holder, now + seconds, now),
            )
        return row is not None and row[0] == holder

    def release(self, name: str, holder: str) -> None:
        """Give lease ``name`` up, when ``holder`` holds it (a stopping worker)."""
        with self.transaction():
            self._run("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def holder_of(self, name: str, now: float | None = None) -> str | None:
        """Who holds lease ``name`` now, or None when it is free or expired."""
        now = time.time() if now is None else now
        row = self._one(
            "SELECT holder FROM leases WHERE name = ? AND expires_at >= ?", (name, now)
        )
        return None if row is None else str(row[0])

    def lock_clustering(self, keys: list[str], timeout: float) -> None:
        """Inside a transaction: wait (at most ``timeout`` seconds, then the database's
        error) for the clustering locks of ``keys`` (incident ids, :data:`CLUSTERING`),
        taken in sorted order and held until the transaction ends. PostgreSQL only; SQLite's
        ``BEGIN IMMEDIATE`` has serialised the writers already."""
        if self.dialect != "postgresql":
            return
        millis = max(1, int(timeout * 1000))
        # SET LOCAL takes no bound parameters: the values are integers formatted here
        self._run(f"SET LOCAL lock_timeout = {millis}")
        self._run(f"SET LOCAL idle_in_transaction_session_timeout = {millis * 2}")
        for key in sorted(set(keys)):
            self._one("SELECT pg_advisory_xact_lock(?)", (lock_key(key),))

    def clustering_revision(self) -> tuple[int, float | None]:
        """The clustering revision and the alert monitor's clock stored with it (event
        time, seconds since the epoch; None before the first evaluation)."""
        row = self._one(
            "SELECT revision, clock FROM clustering_revisions WHERE scope = ?", (CLUSTERING,)
        )
        if row is None:
            return 0, None
        return int(row[0]), None if row[1] is None else float(row[1])

    def bump_clustering_revision(self, clock: float | None, holder: str) -> int:
        """Record that ``holder`` changed narratives (in the caller's transaction), with the
        monitor's ``clock``; the new revision."""
        with self.transaction():
            row = self._one(
                "INSERT INTO clustering_revisions (scope, revision, clock, holder) "
                "VALUES (?, 1, ?, ?) ON CONFLICT (scope) DO UPDATE SET "
                "revision = clustering_revisions.revision + 1, clock = excluded.clock, "
                "holder = excluded.holder RETURNING revision",
                (CLUSTERING, clock, holder),
            )
        return int(row[0])

    def orphan_posts(self, before: float, limit: int = 2000) -> list[int]:
        """Row ids of stored posts never processed that were stored before ``before``
        (seconds since the epoch), oldest first: their worker died before processing
        them."""
        rows = self._all(
            "SELECT id FROM posts WHERE processed = 0 AND ingested_at < ? "
            "ORDER BY created_at, id LIMIT ?",
            (before, limit),
        )
        return [int(r[0]) for r in rows]
