"""Incidents, the posts linked to them, narratives and findings."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from tracker.models import (
    ClaimKind,
    Finding,
    FindingStatus,
    Incident,
    Narrative,
    Provenance,
    Stance,
    Status,
)
from tracker.store.base import Tables, chunks, dt, ts

__all__ = ["NarrativeState", "NarrativeTables"]


@dataclass(frozen=True, slots=True)
class NarrativeState:
    """What online clustering keeps in memory of a live narrative."""

    id: int
    incident_id: str
    kind: ClaimKind
    actors: tuple[str, ...]
    negated: bool
    vector_sum: np.ndarray
    claims: int
    first_seen: datetime


_NARRATIVE_STATS = """
SELECT n.id, n.incident_id, n.kind, n.actors, n.negated, coalesce(c.text, ''), n.status,
       n.first_seen, fp.ext_id, count(np.post_id), count(DISTINCT p.author), n.claims,
       sum(CASE WHEN p.tier = 'official' THEN 1 ELSE 0 END),
       sum(CASE WHEN p.tier = 'verified' THEN 1 ELSE 0 END),
       sum(CASE WHEN p.tier = 'unverified' THEN 1 ELSE 0 END),
       max(np.at), sum(CASE WHEN np.at >= ? THEN 1 ELSE 0 END), n.candidates,
       sum(CASE WHEN np.role = 'reply' THEN 1 ELSE 0 END),
       sum(CASE WHEN np.role = 'repost' THEN 1 ELSE 0 END),
       sum(CASE WHEN np.stance = 'support' THEN 1 ELSE 0 END),
       sum(CASE WHEN np.stance = 'deny' THEN 1 ELSE 0 END),
       sum(CASE WHEN np.stance = 'query' THEN 1 ELSE 0 END),
       sum(CASE WHEN np.stance = 'comment' THEN 1 ELSE 0 END)
FROM narratives n
JOIN posts fp ON fp.id = n.first_post_id
LEFT JOIN claims c ON c.id = n.label_claim_id
LEFT JOIN narrative_posts np ON np.narrative_id = n.id
LEFT JOIN posts p ON p.id = np.post_id
WHERE n.merged_into IS NULL {where}
GROUP BY n.id, c.text, fp.ext_id
ORDER BY n.id
"""


def _incident(row: Sequence[Any]) -> Incident:
    return Incident(
        id=row[0], title=row[1], description=row[2], terms=tuple(json.loads(row[3])),
        started_at=dt(row[4]), location=row[5], window_hours=row[6],
        closed_at=dt(row[7]) if row[7] is not None else None, origin=row[8],
    )


def _narrative(row: Sequence[Any]) -> Narrative:
    candidates = tuple(json.loads(row[17]))
    actors = tuple(sorted({*json.loads(row[3]), *candidates}))
    return Narrative(
        id=row[0], incident_id=row[1], kind=ClaimKind(row[2]), actors=actors,
        negated=bool(row[4]), label=row[5], status=Status(row[6]), first_seen=dt(row[7]),
        first_post_id=row[8], size=row[9], authors=row[10], claims=row[11],
        tiers={"official": row[12] or 0, "verified": row[13] or 0, "unverified": row[14] or 0},
        last_seen=dt(row[15]) if row[15] is not None else None, recent=row[16] or 0,
        candidates=candidates, replies=row[18] or 0, reposts=row[19] or 0,
        stances={"support": row[20] or 0, "deny": row[21] or 0, "query": row[22] or 0,
                 "comment": row[23] or 0},
    )


class NarrativeTables(Tables):
    """Incidents, post links, narratives and findings."""

    # -- incidents ----------------------------------------------------------------------

    def save_incident(self, incident: Incident) -> bool:
        """Insert or update an incident; True when it was new."""
        with self.transaction():
            existed = self._one("SELECT 1 FROM incidents WHERE id = ?", (incident.id,))
            self._run(
                "INSERT INTO incidents (id, title, description, terms, started_at, location, "
                "window_hours, closed_at, origin, created_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                "description = excluded.description, terms = excluded.terms, "
                "started_at = excluded.started_at, location = excluded.location, "
                "window_hours = excluded.window_hours, origin = excluded.origin",
                (
                    incident.id, incident.title, incident.description,
                    json.dumps(list(incident.terms)), ts(incident.started_at), incident.location,
                    incident.window_hours,
                    ts(incident.closed_at) if incident.closed_at else None, incident.origin,
                    time.time(),
                ),
            )
        return existed is None

    def incidents(self) -> list[Incident]:
        rows = self._all(
            "SELECT id, title, description, terms, started_at, location, window_hours, "
            "closed_at, origin FROM incidents ORDER BY started_at, id"
        )
        return [_incident(r) for r in rows]

    def incident(self, incident_id: str) -> Incident | None:
        row = self._one(
            "SELECT id, title, description, terms, started_at, location, window_hours, "
            "closed_at, origin FROM incidents WHERE id = ?",
            (incident_id,),
        )
        return _incident(row) if row else None

    def close_incident(self, incident_id: str, at: datetime) -> None:
        with self.transaction():
            self._run("UPDATE incidents SET closed_at = ? WHERE id = ?", (ts(at), incident_id))

    def incident_counts(self, incident_id: str) -> dict[str, int]:
        """Posts linked (by term and by meaning), narratives and findings."""
        out = {"posts": 0, "by_term": 0, "by_meaning": 0}
        for via, n in self._all(
            "SELECT via, count(*) FROM post_incidents WHERE incident_id = ? GROUP BY via",
            (incident_id,),
        ):
            out["posts"] += n
            out["by_term" if via == "term" else "by_meaning"] += n
        out["narratives"] = self._one(
            "SELECT count(*) FROM narratives WHERE incident_id = ? AND merged_into IS NULL",
            (incident_id,),
        )[0]
        out["findings"] = self._one(
            "SELECT count(*) FROM findings WHERE incident_id = ?", (incident_id,)
        )[0]
        return out

    # -- links --------------------------------------------------------------------------

    def link(self, post_rowid: int, incident_id: str, via: str) -> bool:
        """Link a post to an incident; False when it was linked already."""
        cur = self._run(
            "INSERT OR IGNORE INTO post_incidents (incident_id, post_id, via) VALUES (?,?,?)",
            (incident_id, post_rowid, via),
        )
        return cur.rowcount > 0

    def incidents_of_post(self, post_rowid: int) -> list[str]:
        rows = self._all("SELECT incident_id FROM post_incidents WHERE post_id = ?", (post_rowid,))
        return [r[0] for r in rows]

    # -- narratives ---------------------------------------------------------------------

    def create_narrative(
        self, incident_id: str, kind: ClaimKind, actors: tuple[str, ...],
        candidates: tuple[str, ...], negated: bool, vector: np.ndarray, first_seen: datetime,
        first_post: int, label_claim: int, status: Status = Status.SPECULATIVE,
    ) -> int:
        cur = self._run(
            "INSERT INTO narratives (incident_id, kind, actors, candidates, negated, vector_sum, "
            "claims, label_claim_id, labelled, first_seen, first_post_id, updated_at, status) "
            "VALUES (?,?,?,?,?,?,0,?,1,?,?,?,?) RETURNING id",
            (
                incident_id, kind.value, json.dumps(list(actors)), json.dumps(list(candidates)),
                int(negated), np.asarray(vector, np.float32).tobytes(), label_claim,
                ts(first_seen), first_post, time.time(), status.value,
            ),
        )
        return int(cur.fetchone()[0])

    def add_claim_to_narrative(
        self, narrative_id: int, incident_id: str, claim_id: int, vector_sum: np.ndarray,
        post_rowid: int, at: datetime, *, unsure: bool = False, confirmed: bool = False,
    ) -> bool:
        """Record a claim (and its post) as a member; ``vector_sum`` is the new sum,
        ``unsure`` whether the claim is hedged or said by an untrusted account,
        ``confirmed`` whether it is verified reporting. True when the post is new there."""
        cur = self._run(
            "INSERT OR IGNORE INTO narrative_claims (incident_id, claim_id, narrative_id) "
            "VALUES (?,?,?)",
            (incident_id, claim_id, narrative_id),
        )
        if cur.rowcount:
            self._run(
                "UPDATE narratives SET claims = claims + 1, unsure = unsure + ?, vector_sum = ?, "
                "labelled = CASE WHEN claims = 0 THEN labelled ELSE 0 END, "
                "updated_at = ?, first_post_id = CASE WHEN ? < first_seen THEN ? "
                "ELSE first_post_id END, first_seen = CASE WHEN ? < first_seen THEN ? "
                "ELSE first_seen END WHERE id = ?",
                (
                    int(unsure), np.asarray(vector_sum, np.float32).tobytes(), time.time(),
                    ts(at), post_rowid, ts(at), ts(at), narrative_id,
                ),
            )
        if confirmed:  # a post with several claims is verified reporting if one of them is
            self._run(
                "UPDATE narrative_posts SET confirmed = 1 WHERE narrative_id = ? AND post_id = ?",
                (narrative_id, post_rowid),
            )
        return self.add_post_to_narrative(
            narrative_id, post_rowid, at, role="claim", confirmed=confirmed
        )

    def add_post_to_narrative(
        self, narrative_id: int, post_rowid: int, at: datetime, *, role: str = "claim",
        stance: Stance | None = None, confirmed: bool = False,
    ) -> bool:
        """A post joins a narrative: by a claim of its own (``claim``), as a ``repost``, or
        as a ``reply`` in its conversation (with its stance). True when it is new there."""
        cur = self._run(
            "INSERT OR IGNORE INTO narrative_posts (narrative_id, post_id, at, role, stance, "
            "confirmed) VALUES (?,?,?,?,?,?)",
            (narrative_id, post_rowid, ts(at), role, stance.value if stance else None,
             int(confirmed)),
        )
        return cur.rowcount > 0

    def narratives_with_post(self, post_rowid: int, incident_id: str) -> list[tuple[int, bool]]:
        """(narrative id, verified reporting there) of the live narratives of one incident
        a post takes part in, by its claims, as a repost or as a reply."""
        # from the post's few rows, each narrative looked up by its key alone (a join,
        # or merged_into in the lookup's WHERE, let PostgreSQL's planner walk every live
        # narrative of the incident while its statistics lag behind a filling database)
        rows = self._all(
            "SELECT np.narrative_id, np.confirmed FROM narrative_posts np "
            "WHERE np.post_id = ? AND (SELECT CASE WHEN n.merged_into IS NULL THEN "
            "n.incident_id END FROM narratives n WHERE n.id = np.narrative_id) = ? "
            "ORDER BY np.narrative_id",
            (post_rowid, incident_id),
        )
        return [(r[0], bool(r[1])) for r in rows]

    def narrative_states(self) -> list[NarrativeState]:
        """Every live narrative, as online clustering keeps it in memory."""
        rows = self._all(
            "SELECT id, incident_id, kind, actors, candidates, negated, vector_sum, claims, "
            "first_seen FROM narratives WHERE merged_into IS NULL ORDER BY id"
        )
        return [
            NarrativeState(
                r[0], r[1], ClaimKind(r[2]),
                tuple(sorted(set(json.loads(r[3])) | set(json.loads(r[4])))), bool(r[5]),
                np.frombuffer(r[6], dtype=np.float32).copy(), r[7], dt(r[8]),
            )
            for r in rows
        ]

    def first_seen_of(self, ids: Sequence[int]) -> dict[int, datetime]:
        """When each of the given narratives was first seen."""
        out: dict[int, datetime] = {}
        for part in chunks(list(ids)):
            rows = self._all(
                f"SELECT id, first_seen FROM narratives WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            out.update({r[0]: dt(r[1]) for r in rows})
        return out

    def merge_narrative(
        self, keep: int, drop: int, vector_sum: np.ndarray
    ) -> list[tuple[str, str, str]]:
        """Move every member of ``drop`` into ``keep``; ``drop`` is marked merged. An alert
        open on ``drop`` carries over to ``keep`` when ``keep`` has no state for that rule;
        returns (rule, alert of ``drop``, alert of ``keep``) for each open alert of
        ``drop`` that could not carry over because ``keep`` has one open already."""
        with self.transaction():
            clashes = self._all(
                "SELECT d.rule, d.open_alert, k.open_alert FROM rule_states d "
                "JOIN rule_states k ON k.rule = d.rule AND k.narrative_id = ? "
                "WHERE d.narrative_id = ? AND d.open_alert IS NOT NULL "
                "AND k.open_alert IS NOT NULL",
                (keep, drop),
            )
            self._run("UPDATE narrative_claims SET narrative_id = ? WHERE narrative_id = ?",
                      (keep, drop))
            self._run(
                "INSERT OR IGNORE INTO narrative_posts (narrative_id, post_id, at, role, stance, "
                "confirmed) SELECT ?, post_id, at, role, stance, confirmed FROM narrative_posts "
                "WHERE narrative_id = ?",
                (keep, drop),
            )
            # a post that was a reply in one and a claim in the other is a claim in both
            self._run(
                "UPDATE narrative_posts SET role = 'claim', confirmed = CASE WHEN "
                "(SELECT d.confirmed FROM narrative_posts d WHERE d.narrative_id = ? "
                "AND d.post_id = narrative_posts.post_id) > confirmed THEN 1 ELSE confirmed "
                "END WHERE narrative_id = ? AND post_id IN "
                "(SELECT post_id FROM narrative_posts WHERE narrative_id = ? AND role = 'claim')",
                (drop, keep, drop),
            )
            self._run("DELETE FROM narrative_posts WHERE narrative_id = ?", (drop,))
            self._run(
                "UPDATE narratives SET claims = claims + (SELECT claims FROM narratives "
                "WHERE id = ?), unsure = unsure + (SELECT unsure FROM narratives WHERE id = ?), "
                "vector_sum = ?, labelled = 0, updated_at = ?, "
                "first_post_id = CASE WHEN (SELECT first_seen FROM narratives WHERE id = ?) "
                "< first_seen THEN (SELECT first_post_id FROM narratives WHERE id = ?) "
                "ELSE first_post_id END, "
                "first_seen = CASE WHEN (SELECT first_seen FROM narratives WHERE id = ?) "
                "< first_seen THEN (SELECT first_seen FROM narratives WHERE id = ?) "
                "ELSE first_seen END WHERE id = ?",
                (drop, drop, np.asarray(vector_sum, np.float32).tobytes(), time.time(), drop,
                 drop, drop, drop, keep),
            )
            self._run("UPDATE narratives SET merged_into = ?, claims = 0 WHERE id = ?",
                      (keep, drop))
            self._run("UPDATE narratives SET merged_into = ? WHERE merged_into = ?", (keep, drop))
            self._run(  # those rules only that have no state on keep yet
                "UPDATE rule_states SET narrative_id = ? WHERE narrative_id = ? AND rule NOT IN "
                "(SELECT rule FROM rule_states WHERE narrative_id = ?)",
                (keep, drop, keep),
            )
            self._run("DELETE FROM rule_states WHERE narrative_id = ?", (drop,))
        return [(r[0], r[1], r[2]) for r in clashes]

    def unlabelled_narratives(self) -> list[tuple[int, np.ndarray]]:
        rows = self._all(
            "SELECT id, vector_sum FROM narratives WHERE merged_into IS NULL AND labelled = 0"
        )
        return [(r[0], np.frombuffer(r[1], dtype=np.float32)) for r in rows]

    def member_vectors(self, narrative_id: int, model: str) -> tuple[list[int], np.ndarray]:
        """Claim ids of a narrative and their (n, dim) vectors."""
        rows = self._all(
            "SELECT nc.claim_id, e.vector FROM narrative_claims nc JOIN claims c "
            "ON c.id = nc.claim_id JOIN embeddings e ON e.model = ? AND e.text_hash = "
            "c.text_hash WHERE nc.narrative_id = ? ORDER BY nc.claim_id",
            (model, narrative_id),
        )
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        return [r[0] for r in rows], np.vstack([np.frombuffer(r[1], np.float32) for r in rows])

    def set_label(self, narrative_id: int, claim_id: int) -> None:
        self._run("UPDATE narratives SET label_claim_id = ?, labelled = 1 WHERE id = ?",
                  (claim_id, narrative_id))

    def set_status(self, narrative_id: int, status: Status) -> None:
        self._run("UPDATE narratives SET status = ? WHERE id = ?", (status.value, narrative_id))

    def resolve_narrative(self, narrative_id: int) -> int | None:
        """The live narrative a (possibly merged) id now lives in."""
        seen = set()
        current: int | None = narrative_id
        while current is not None and current not in seen:
            seen.add(current)
            row = self._one("SELECT merged_into FROM narratives WHERE id = ?", (current,))
            if row is None:
                return None
            if row[0] is None:
                return current
            current = row[0]
        return None

    def narrative_summaries(
        self, incident_id: str | None = None, *, since: datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[Narrative]:
        """Live narratives with their counts; ``recent`` counts posts at or after
        ``since``."""
        where = ""
        params: list[Any] = [ts(since) if since else float("inf")]
        if incident_id is not None:
            where += " AND n.incident_id = ?"
            params.append(incident_id)
        if ids is not None:
            out: list[Narrative] = []
            for part in chunks(list(ids)):
                sql = _NARRATIVE_STATS.format(
                    where=where + f" AND n.id IN ({','.join('?' * len(part))})"
                )
                out.extend(_narrative(r) for r in self._all(sql, [*params, *part]))
            return self._with_conflicts(out)
        return self._with_conflicts(
            [_narrative(r) for r in self._all(_NARRATIVE_STATS.format(where=where), params)]
        )

    def _with_conflicts(self, narratives: list[Narrative]) -> list[Narrative]:
        """The narratives with the open conflicts (conflict rules' alerts) they take a
        side in: (question as an analyst reads it, the values of the sides)."""
        if not narratives:
            return narratives
        incidents = sorted({n.incident_id for n in narratives})
        rows = self._all(
            "SELECT conflict FROM conflict_states WHERE open_alert IS NOT NULL "
            f"AND conflict IS NOT NULL AND incident_id IN ({','.join('?' * len(incidents))}) "
            "ORDER BY incident_id, question, rule",
            incidents,
        )
        part_of: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for (raw,) in rows:
            data = json.loads(raw)
            values = tuple(str(side["value"]) for side in data["sides"])
            entry = (str(data["asks"]), values)
            for side in data["sides"]:
                for nid in side["narratives"]:
                    mine = part_of.setdefault(int(nid), [])
                    if entry not in mine:
                        mine.append(entry)
        if not part_of:
            return narratives
        return [
            replace(n, conflicts=tuple(part_of[n.id])) if n.id in part_of else n
            for n in narratives
        ]

    def narrative_views(
        self, incident_id: str, ids: set[int] | None = None
    ) -> list[
        tuple[int, ClaimKind, tuple[str, ...], bool, datetime, str, Status, float,
              tuple[dict[str, Any], ...]]
    ]:
        """(id, kind, actors with candidates, negated, first seen, label, status, share of
        unsure claims: hedged, or by an untrusted account, the values its label claim
        gives) of the incident's live narratives, or of those among ``ids``: what status
        needs, without counting posts."""
        sql = (
            "SELECT n.id, n.kind, n.actors, n.candidates, n.negated, n.first_seen, "
            "coalesce(c.text, ''), n.status, n.unsure, n.claims, c.vals "
            "FROM narratives n "
            "LEFT JOIN claims c ON c.id = n.label_claim_id "
            "WHERE n.merged_into IS NULL AND n.incident_id = ?"
        )
        if ids is None:
            rows = self._all(sql, (incident_id,))
        else:
            rows = []
            for part in chunks(sorted(ids)):
                rows += self._all(sql + f" AND n.id IN ({','.join('?' * len(part))})",
                                  (incident_id, *part))
        return [
            (r[0], ClaimKind(r[1]), tuple(sorted({*json.loads(r[2]), *json.loads(r[3])})),
             bool(r[4]), dt(r[5]), r[6], Status(r[7]), r[8] * 1.0 / max(r[9], 1),
             tuple(json.loads(r[10])) if r[10] else ())
            for r in rows
        ]

    def latest_post_time(self, incident_id: str) -> datetime | None:
        row = self._one(
            "SELECT max(p.created_at) FROM post_incidents pi JOIN posts p ON p.id = pi.post_id "
            "WHERE pi.incident_id = ?",
            (incident_id,),
        )
        return dt(row[0]) if row and row[0] is not None else None

    def narrative_claim_rows(self, narrative_id: int) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT c.id, c.text, c.hedge, c.official_voice, p.ext_id, p.source, p.author, "
            "p.tier, p.created_at FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
            "JOIN posts p ON p.id = c.post_id WHERE nc.narrative_id = ? "
            "ORDER BY p.created_at, c.id",
            (narrative_id,),
        )
        return [
            {"claim_id": r[0], "text": r[1], "hedge": r[2], "official_voice": bool(r[3]),
             "post_id": r[4], "source": r[5], "author": r[6], "tier": r[7],
             "created_at": dt(r[8])}
            for r in rows
        ]

    def narrative_post_times(self, narrative_id: int) -> list[datetime]:
        rows = self._all(
            "SELECT at FROM narrative_posts WHERE narrative_id = ? ORDER BY at", (narrative_id,)
        )
        return [dt(r[0]) for r in rows]

    def narrative_stance_times(self, narrative_id: int) -> list[tuple[datetime, Stance]]:
        """(event time, stance) of the replies in a narrative's conversation, in order."""
        rows = self._all(
            "SELECT at, stance FROM narrative_posts WHERE narrative_id = ? AND role = 'reply' "
            "AND stance IS NOT NULL ORDER BY at",
            (narrative_id,),
        )
        return [(dt(r[0]), Stance(r[1])) for r in rows]

    def first_post(self, narrative_id: int) -> Provenance | None:
        """Where a narrative's story started: its first post."""
        row = self._one(
            "SELECT p.ext_id, p.source, p.author, p.tier, p.text, p.created_at, p.url "
            "FROM narratives n JOIN posts p ON p.id = n.first_post_id WHERE n.id = ?",
            (narrative_id,),
        )
        if row is None:
            return None
        return Provenance(
            post_id=row[0], source=row[1], author=row[2], tier=row[3], url=row[6],
            text=row[4], created_at=dt(row[5]),
        )

    def claim_narratives(
        self, claim_ids: Sequence[int], incident_id: str | None = None
    ) -> dict[int, list[tuple[int, str, str]]]:
        """For each claim: (narrative id, incident id, status) of the narratives it is in."""
        out: dict[int, list[tuple[int, str, str]]] = {}
        for part in chunks(list(claim_ids)):
            sql = (
                "SELECT nc.claim_id, n.id, n.incident_id, n.status FROM narrative_claims nc "
                "JOIN narratives n ON n.id = nc.narrative_id "
                f"WHERE nc.claim_id IN ({','.join('?' * len(part))})"
            )
            params: list[Any] = list(part)
            if incident_id is not None:
                sql += " AND nc.incident_id = ?"
                params.append(incident_id)
            for claim_id, nid, iid, status in self._all(sql, params):
                out.setdefault(claim_id, []).append((nid, iid, status))
        return out

    # -- findings -----------------------------------------------------------------------

    def add_finding(
        self, incident_id: str, text: str, text_hash: str, kind: ClaimKind,
        actors: tuple[str, ...], status: FindingStatus, at: datetime, *,
        automatic: bool = False, post_rowid: int | None = None, authority: str | None = None,
        values: Sequence[dict[str, Any]] = (),
    ) -> int:
        with self.transaction():
            if post_rowid is not None:
                dup = self._one(
                    "SELECT id FROM findings WHERE post_id = ? AND incident_id = ? AND "
                    "text_hash = ?",
                    (post_rowid, incident_id, text_hash),
                )
                if dup:
                    return int(dup[0])
            cur = self._run(
                "INSERT INTO findings (incident_id, text, kind, actors, status, at, automatic, "
                "post_id, text_hash, created_at, authority, vals) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    incident_id, text, kind.value, json.dumps(list(actors)), status.value,
                    ts(at), int(automatic), post_rowid, text_hash, time.time(), authority,
                    json.dumps(list(values)) if values else None,
                ),
            )
            return int(cur.fetchone()[0])

    def findings(self, incident_id: str) -> list[tuple[Finding, str]]:
        """The incident's findings in time order, each with its text hash."""
        rows = self._all(
            "SELECT f.id, f.incident_id, f.text, f.kind, f.actors, f.status, f.at, f.automatic, "
            "p.ext_id, f.text_hash, f.authority, p.author, f.vals FROM findings f "
            "LEFT JOIN posts p ON p.id = f.post_id "
            "WHERE f.incident_id = ? ORDER BY f.at, f.id",
            (incident_id,),
        )
        return [
            (
                Finding(
                    r[0], r[1], r[2], ClaimKind(r[3]), tuple(json.loads(r[4])),
                    FindingStatus(r[5]), dt(r[6]), bool(r[7]), r[8], r[10], r[11],
                    tuple(json.loads(r[12])) if r[12] else (),
                ),
                r[9],
            )
            for r in rows
        ]

    def incidents_of_posts(self, post_rowids: Sequence[int]) -> dict[int, list[str]]:
        """:meth:`incidents_of_post` of many posts in one query per 500: post rowid -> the
        incidents it is linked to, by id (posts linked to none are left out)."""
        out: dict[int, list[str]] = {}
        for part in chunks(list(dict.fromkeys(post_rowids))):
            for post_id, incident_id in self._all(
                "SELECT post_id, incident_id FROM post_incidents "
                f"WHERE post_id IN ({','.join('?' * len(part))}) ORDER BY post_id, incident_id",
                part,
            ):
                out.setdefault(post_id, []).append(incident_id)
        return out

    def narrative_rows_of_posts(
        self, post_rowids: Sequence[int]
    ) -> dict[int, dict[int, tuple[str | None, bool]]]:
        """The narrative rows of many posts in one query per 500, for
        :meth:`narratives_with_post` kept in memory: post rowid -> {narrative id: (its
        incident, None once merged; whether the post is verified reporting there)}."""
        out: dict[int, dict[int, tuple[str | None, bool]]] = {}
        for part in chunks(list(dict.fromkeys(post_rowids))):
            # each narrative looked up by its key alone, as in narratives_with_post
            for post_id, nid, confirmed, incident_id in self._all(
                "SELECT np.post_id, np.narrative_id, np.confirmed, (SELECT CASE WHEN "
                "n.merged_into IS NULL THEN n.incident_id END FROM narratives n "
                "WHERE n.id = np.narrative_id) FROM narrative_posts np "
                f"WHERE np.post_id IN ({','.join('?' * len(part))}) "
                "ORDER BY np.post_id, np.narrative_id",
                part,
            ):
                out.setdefault(post_id, {})[nid] = (incident_id, bool(confirmed))
        return out

    def link_posts(self, rows: Sequence[tuple[int, str, str]]) -> None:
        """:meth:`link` of many (post rowid, incident, via), in order, as one statement sent
        once per row (which of them were new is the caller's to know)."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO post_incidents (incident_id, post_id, via) VALUES (?,?,?)",
                [(incident_id, post, via) for post, incident_id, via in rows],
            )

    def add_posts_to_narratives(
        self, rows: Sequence[tuple[int, int, datetime, str, Stance | None, bool]]
    ) -> None:
        """:meth:`add_post_to_narrative` of many (narrative, post rowid, at, role, stance,
        confirmed), in order, as one statement sent once per row."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO narrative_posts (narrative_id, post_id, at, role, "
                "stance, confirmed) VALUES (?,?,?,?,?,?)",
                [
                    (nid, post, ts(at), role, stance.value if stance else None, int(confirmed))
                    for nid, post, at, role, stance, confirmed in rows
                ],
            )
