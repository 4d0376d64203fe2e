"""Narratives: claims in one incident that say the same thing, with their conversation.

Online, a new claim joins the nearest live narrative of the same incident, kind, actor set
(known and candidate actors) and negation when the cosine similarity to its centroid is at
least ``join_similarity``; otherwise it starts a new one. The actor set is part of the
key, so two attributions of one event to different actors never share a narrative,
however alike their wording. :meth:`NarrativeEngine.consolidate` later merges narratives
of the same key whose centroids have drifted together (``merge_similarity``), keeping the
older id, relabels them (the claim nearest the centroid) and refreshes statuses.

A narrative's posts are its spread: the posts whose claims it holds, the reposts of those
posts, and the replies to them (its conversation, each with its stance), all the way down
a thread. A reply that asserts nothing check-worthy of its own (:func:`asserts`) forms no
narrative: it is engagement on its parent's. Each post is marked verified reporting or not
(:func:`is_verified_reporting`): an official stating a claim unhedged, or a trusted
newsroom stating it unhedged on an authority's word; a hedged claim never is.

Centroids are normalized running sums of member vectors, kept in memory per key and in
the database. All methods run on the store's writer thread; each call is one transaction.
With several workers on one database, what is in memory can fall behind what another
worker committed: :meth:`tracker.pipeline.Pipeline.coordinated` calls
:meth:`NarrativeEngine.reload` under the clustering locks whenever the clustering revision
moved, so every join is decided against every narrative.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from tracker.config.settings import NarrativeSettings
from tracker.linking.incidents import IncidentLinker
from tracker.models import Claim, ClaimKind, Stance, Status, Tier
from tracker.narratives.findings import NarrativeView, automatic_finding, is_plain_report, status_of
from tracker.store import NarrativeState, PostInfo, Store

__all__ = [
    "Clusterer",
    "GroupKey",
    "MergedAlert",
    "NarrativeEngine",
    "ProcessReport",
    "asserts",
    "initial_status",
    "is_verified_reporting",
]


def is_verified_reporting(tier: Tier, claim: Claim, relays_trusted: bool = False) -> bool:
    """Whether a claim is verified reporting: confirmed, not merely said by a trusted
    account. An official source stating it unhedged; or a trusted newsroom (or a post
    relaying one, "RT @AP: ...") stating it unhedged on an authority's word ("police
    confirm", "CTD says"). A hedged claim ("reports of", "believed to be", a question) is
    unverified whoever posts it."""
    if claim.hedge > 0:
        return False
    if tier is Tier.OFFICIAL:
        return True
    trusted = tier is Tier.VERIFIED or relays_trusted
    return trusted and (claim.authority is not None or claim.official_voice)


def asserts(claim: Claim) -> bool:
    """Whether a reply's claim asserts something of its own, worth a narrative: a named
    actor, a casualty figure, a method, or an authority's word. A reply that only reacts
    ("so sad", "is this true?", "they did it again") is engagement on its parent."""
    return (
        bool(claim.actors or claim.candidate_actors)
        or claim.kind in (ClaimKind.CASUALTY, ClaimKind.METHOD)
        or claim.authority is not None
    )


def initial_status(kind: ClaimKind, unsure: bool, negated: bool, actors: Sequence[str]) -> Status:
    """A new narrative's status before any finding, from its first claim: a plain report
    (:func:`~tracker.narratives.findings.is_plain_report`) or speculation on an open question."""
    if is_plain_report(kind, negated, actors, 1.0 if unsure else 0.0):
        return Status.REPORT
    return Status.SPECULATIVE

GroupKey = tuple[str, ClaimKind, tuple[str, ...], bool]  # incident, kind, actors, negated


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class _Group:
    """The live narratives of one key: ids, running sums, and their normalized centroids
    kept row for row in a matrix that grows by doubling, so a join or a new narrative
    costs O(dim), not a rebuild."""

    __slots__ = ("centroids", "ids", "n", "sums")

    def __init__(self, dim: int) -> None:
        self.ids: list[int] = []
        self.n = 0
        self.sums = np.zeros((4, dim), np.float32)
        self.centroids = np.zeros((4, dim), np.float32)

    def append(self, narrative_id: int, vector_sum: np.ndarray) -> None:
        if self.n == len(self.sums):
            self.sums = np.concatenate([self.sums, np.zeros_like(self.sums)])
            self.centroids = np.concatenate([self.centroids, np.zeros_like(self.centroids)])
        self.ids.append(narrative_id)
        self.sums[self.n] = vector_sum
        self.centroids[self.n] = _unit(self.sums[self.n])
        self.n += 1

    def grow(self, row: int, vector: np.ndarray) -> np.ndarray:
        self.sums[row] += vector
        self.centroids[row] = _unit(self.sums[row])
        return np.array(self.sums[row])

    def pop(self, row: int) -> np.ndarray:
        total: np.ndarray = np.array(self.sums[row])
        last = self.n - 1
        if row != last:  # move the last row into the hole
            self.ids[row] = self.ids[last]
            self.sums[row] = self.sums[last]
            self.centroids[row] = self.centroids[last]
        self.ids.pop()
        self.n -= 1
        return total


class Clusterer:
    """Live narrative centroids per group key, in memory. Decides joins; stores nothing."""

    def __init__(self) -> None:
        self._groups: dict[GroupKey, _Group] = {}
        self._where: dict[int, GroupKey] = {}
        # (incident, kind, negated) -> the keys of that shape, for overlapping actor sets
        self._siblings: dict[tuple[str, ClaimKind, bool], list[GroupKey]] = {}
        self.dirty: set[GroupKey] = set()  # groups changed since the last consolidation

    def load(self, states: Iterable[NarrativeState]) -> None:
        self._groups.clear()
        self._where.clear()
        self._siblings.clear()
        self.dirty.clear()
        for s in states:
            self.add((s.incident_id, s.kind, s.actors, s.negated), s.id, s.vector_sum)

    def nearest(self, key: GroupKey, vector: np.ndarray) -> tuple[int | None, float]:
        """The live narrative of ``key`` nearest ``vector`` and its cosine similarity."""
        group = self._groups.get(key)
        if group is None or not group.n:
            return None, -1.0
        sims = group.centroids[: group.n] @ vector
        best = int(np.argmax(sims))
        return group.ids[best], float(sims[best])

    def overlapping(self, key: GroupKey, known: frozenset[str] = frozenset()) -> list[GroupKey]:
        """The other keys of the same incident, kind and negation whose actor sets share a
        name with ``key``'s and differ only by names that are not ``known`` actors: one
        story told with more or fewer candidate names ("ISIS" and "ISIS, Islam"), never a
        rival or joint attribution to known actors ("TTP" against "BLA and TTP")."""
        incident, kind, actors, negated = key
        if not actors:
            return []
        mine = set(actors)
        return [
            k for k in self._siblings.get((incident, kind, negated), ())
            if k != key and not mine.isdisjoint(k[2]) and not (mine ^ set(k[2])) & known
        ]

    def nearest_overlapping(
        self, key: GroupKey, vector: np.ndarray, known: frozenset[str] = frozenset()
    ) -> tuple[int | None, float]:
        """The nearest live narrative among :meth:`overlapping` keys, and its similarity."""
        best: tuple[int | None, float] = (None, -1.0)
        for other in self.overlapping(key, known):
            found = self.nearest(other, vector)
            if found[0] is not None and found[1] > best[1]:
                best = found
        return best

    def add(self, key: GroupKey, narrative_id: int, vector_sum: np.ndarray) -> None:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(len(vector_sum))
            self._siblings.setdefault((key[0], key[1], key[3]), []).append(key)
        group.append(narrative_id, np.asarray(vector_sum, np.float32))
        self._where[narrative_id] = key
        self.dirty.add(key)

    def grow(self, narrative_id: int, vector: np.ndarray) -> np.ndarray:
        """Add a member vector to a narrative; its new sum."""
        key = self._where[narrative_id]
        self.dirty.add(key)
        group = self._groups[key]
        return group.grow(group.ids.index(narrative_id), vector)

    def remove(self, narrative_id: int) -> np.ndarray:
        """Forget a narrative; its sum."""
        group = self._groups[self._where.pop(narrative_id)]
        return group.pop(group.ids.index(narrative_id))

    def members(self, key: GroupKey) -> tuple[list[int], np.ndarray]:
        """The live narrative ids of a group and their (n, dim) normalized centroids."""
        group = self._groups.get(key)
        if group is None:
            return [], np.zeros((0, 0), np.float32)
        return list(group.ids), np.array(group.centroids[: group.n])

    def centroid(self, narrative_id: int) -> np.ndarray:
        group = self._groups[self._where[narrative_id]]
        return np.array(group.centroids[group.ids.index(narrative_id)])


class _Memo:
    """What one :meth:`NarrativeEngine.process` call knows of its posts' incident links,
    narrative rows and responses: read for the whole batch in one query each, then kept
    exact by writing every link and join through it (a later post of the batch may reply
    to an earlier one). Posts it was not given are read one by one when first asked for.
    Valid for one transaction: nothing else writes those rows meanwhile, and narratives
    merge only in :meth:`NarrativeEngine.consolidate`.

    Since it knows which links and repost or reply joins are new, it writes those in
    bulk: held until :meth:`flush`, which the engine calls before any other statement."""

    __slots__ = ("incidents", "joins", "links", "responses", "rows", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.incidents: dict[int, list[str]] = {}  # post -> its incidents, by id
        # post -> {narrative: (its incident, None once merged; verified reporting there)}
        self.rows: dict[int, dict[int, tuple[str | None, bool]]] = {}
        self.responses: dict[int, list[int]] = {}  # post -> its reposts and replies
        self.links: list[tuple[int, str, str]] = []  # new links not written yet
        self.joins: list[tuple[int, int, datetime, str, Stance | None, bool]] = []

    def flush(self) -> None:
        """Write the links and joins held, in order."""
        if self.links:
            self.store.link_posts(self.links)
            self.links = []
        if self.joins:
            self.store.add_posts_to_narratives(self.joins)
            self.joins = []

    def load(self, rowids: Iterable[int]) -> None:
        """Read the links and narrative rows of the posts not known yet."""
        want = [r for r in dict.fromkeys(rowids) if r not in self.incidents]
        if not want:
            return
        self.flush()
        incidents = self.store.incidents_of_posts(want)
        rows = self.store.narrative_rows_of_posts(want)
        for r in want:
            self.incidents[r] = incidents.get(r, [])
            self.rows[r] = rows.get(r, {})

    def load_responses(self, rowids: Iterable[int]) -> None:
        want = [r for r in dict.fromkeys(rowids) if r not in self.responses]
        if want:
            found = self.store.responses_to_posts(want)
            for r in want:
                self.responses[r] = found.get(r, [])

    def responses_to(self, rowid: int) -> list[int]:
        if rowid not in self.responses:
            self.load_responses((rowid,))
        return list(self.responses[rowid])

    def incidents_of(self, rowid: int) -> list[str]:
        if rowid not in self.incidents:
            self.load((rowid,))
        return list(self.incidents[rowid])

    def narratives_with(self, rowid: int, incident_id: str) -> list[tuple[int, bool]]:
        """As :meth:`Store.narratives_with_post`: (narrative, verified there), by id."""
        if rowid not in self.incidents:
            self.load((rowid,))
        return [
            (nid, confirmed) for nid, (incident, confirmed) in sorted(self.rows[rowid].items())
            if incident == incident_id
        ]

    def link(self, rowid: int, incident_id: str, via: str) -> bool:
        """As :meth:`Store.link`, written at the next :meth:`flush`."""
        if rowid not in self.incidents:
            self.load((rowid,))
        known = self.incidents[rowid]
        if incident_id in known:
            return False  # the INSERT would be ignored
        self.links.append((rowid, incident_id, via))
        insort(known, incident_id)
        return True

    def add_post(
        self, nid: int, incident_id: str, post: PostInfo, role: str, confirmed: bool = False,
    ) -> bool:
        """:meth:`Store.add_post_to_narrative` of a repost or a reply, written at the next
        :meth:`flush`."""
        if post.rowid not in self.incidents:
            self.load((post.rowid,))
        rows = self.rows[post.rowid]
        if nid in rows:
            return False  # the INSERT would be ignored
        self.joins.append((
            nid, post.rowid, post.created_at, role,
            post.stance if role == "reply" else None, confirmed,
        ))
        rows[nid] = (incident_id, confirmed)
        return True

    def claimed(self, nid: int, incident_id: str, rowid: int, confirmed: bool) -> None:
        """A claim of the post joined narrative ``nid``
        (:meth:`Store.add_claim_to_narrative`): its row is there, verified if it was or
        the claim is."""
        rows = self.rows.get(rowid)
        if rows is not None:
            old = rows.get(nid)
            rows[nid] = (incident_id, (old is not None and old[1]) or confirmed)


@dataclass(frozen=True, slots=True)
class MergedAlert:
    """An alert left open on a narrative merged into one that has its own open alert on
    the same rule: the alert monitor resolves it, pointing at the survivor."""

    rule: str
    alert_id: str
    survivor_alert: str
    survivor: int
    merged: int


@dataclass(slots=True)
class ProcessReport:
    """What one processing step did: links made, narratives started, claims clustered,
    findings recorded automatically."""

    linked: int = 0
    narratives: int = 0
    clustered: int = 0
    findings: int = 0
    incidents: set[str] = field(default_factory=set)
    newly_linked: list[int] = field(default_factory=list)
    joins: list[tuple[int, datetime]] = field(default_factory=list)  # (narrative, post time)


class NarrativeEngine:
    """Links stored posts to incidents and clusters their claims into narratives."""

    def __init__(
        self, store: Store, settings: NarrativeSettings, model: str,
        relays_trusted: Callable[[str], bool] | None = None,
        known_actors: Iterable[str] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.model = model
        # whether a post's text relays a trusted account ("RT @AP: ...", "via @Reuters")
        self.relays_trusted = relays_trusted or (lambda text: False)
        self.clusterer = Clusterer()
        self.clusterer.load(store.narrative_states())
        # the configured actors: narratives whose actor sets differ by one never join
        self.known: frozenset[str] = frozenset(known_actors)
        # alerts of merged narratives that did not carry over: the monitor resolves them
        self.merged_alerts: list[MergedAlert] = []
        # rowid -> when it was (last) processed in the current process() call
        self._order: dict[int, int] = {}
        self._step = 0
        self._memo = _Memo(store)

    def reload(self) -> None:
        """Read live narratives again (after a failed transaction, say)."""
        self.clusterer.load(self.store.narrative_states())

    def process(
        self, rowids: Sequence[int], linker: IncidentLinker, *, mark: bool = True
    ) -> ProcessReport:
        """Link the given stored posts to ``linker``'s incidents and cluster their claims;
        with ``mark`` they are recorded as processed. One transaction."""
        report = ProcessReport()
        self._order.clear()
        memo = self._memo = _Memo(self.store)
        try:
            with self.store.transaction():
                posts = self.store.posts_for_processing(rowids, self.model)
                memo.load(
                    r for p in posts for r in (p.rowid, p.repost_of, p.reply_to) if r is not None
                )
                for post in posts:
                    self._process_post(post, linker, report)
                self._late_responses(linker, report)
                memo.flush()
                if mark:
                    self.store.mark_processed(rowids)
                touched = {nid for nid, _ in report.joins}
                for incident_id in report.incidents:
                    # a new finding can change any narrative; otherwise only those that
                    # grew (their first_seen or label may have moved) need a look
                    only = None if report.findings else touched
                    self._refresh_statuses(incident_id, only)
        except BaseException:
            self.reload()
            raise
        return report

    def _late_responses(self, linker: IncidentLinker, report: ProcessReport) -> None:
        """Reposts and replies stored before their original (a stream delivering out of
        order) follow it into its incidents once the original is linked."""
        seen: set[int] = set()
        queue = list(report.newly_linked)
        self._memo.load_responses(queue)
        while queue:
            rowid = queue.pop()
            # a response processed after its original (in this call) saw it linked already
            after = self._order.get(rowid, -1)
            responses = [
                r for r in self._memo.responses_to(rowid)
                if r not in seen and self._order.get(r, -1) <= after
            ]
            seen.update(responses)
            if not responses:
                continue
            self._memo.load(responses)  # (written what it held first)
            for post in self.store.posts_for_processing(responses, self.model):
                before = len(report.newly_linked)
                self._process_post(post, linker, report)
                if len(report.newly_linked) > before:
                    queue.append(post.rowid)

    def _process_post(self, post: PostInfo, linker: IncidentLinker, report: ProcessReport) -> None:
        self._step += 1
        self._order[post.rowid] = self._step
        memo = self._memo
        if post.is_repost:
            if post.repost_of is None:
                return
            for incident_id in memo.incidents_of(post.repost_of):
                incident = linker.incident(incident_id)
                if incident is None or not incident.covers(post.created_at):
                    continue
                if memo.link(post.rowid, incident_id, "repost"):
                    report.linked += 1
                    report.incidents.add(incident_id)
                    report.newly_linked.append(post.rowid)
                for nid, confirmed in memo.narratives_with(post.repost_of, incident_id):
                    if memo.add_post(nid, incident_id, post, "repost", confirmed):
                        report.joins.append((nid, post.created_at))
            return
        with_vectors = [c for c in post.claims if c.vector is not None]
        if post.reply_to is not None:  # a reply's reactions are engagement, not narratives
            with_vectors = [c for c in with_vectors if asserts(c)]
        matrix = np.vstack([c.vector for c in with_vectors if c.vector is not None]) if (
            with_vectors
        ) else None
        links = linker.link(post.text, post.created_at, matrix)
        if post.reply_to is not None:
            # a reply takes part in its parent's conversation, so in its incidents
            already = {i for i, _ in links}
            for incident_id in memo.incidents_of(post.reply_to):
                incident = linker.incident(incident_id)
                if incident is not None and incident_id not in already and incident.covers(
                    post.created_at
                ):
                    links.append((incident_id, "reply"))
        # whether it relays a trusted account matters to its claims only
        relays = (
            self.relays_trusted(post.text)
            if post.tier is Tier.UNVERIFIED and with_vectors and links else False
        )
        for incident_id, via in links:
            if memo.link(post.rowid, incident_id, via):
                report.linked += 1
                report.incidents.add(incident_id)
                report.newly_linked.append(post.rowid)
                for claim in with_vectors:
                    verified = is_verified_reporting(post.tier, claim, relays)
                    self._cluster(incident_id, post, claim, verified, relays, report)
                    found = (
                        automatic_finding(claim, post.tier is Tier.OFFICIAL) if verified
                        else None
                    )
                    if found is not None:
                        memo.flush()
                        self.store.add_finding(
                            incident_id, claim.text, claim.text_hash, claim.kind, found[0],
                            found[1], post.created_at, automatic=True, post_rowid=post.rowid,
                            authority=claim.authority,
                            values=[v.as_dict() for v in claim.values],
                        )
                        report.findings += 1
            if post.reply_to is not None:
                # the reply is conversation on every narrative its parent takes part in
                for nid, _ in memo.narratives_with(post.reply_to, incident_id):
                    if memo.add_post(nid, incident_id, post, "reply"):
                        report.joins.append((nid, post.created_at))

    def _cluster(
        self, incident_id: str, post: PostInfo, claim: Claim, verified: bool,
        relays: bool, report: ProcessReport,
    ) -> None:
        vector, claim_id = claim.vector, claim.id
        assert vector is not None and claim_id is not None  # a stored claim
        actors, candidates = claim.actors, claim.candidate_actors
        key: GroupKey = (
            incident_id, claim.kind, tuple(sorted({*actors, *candidates})), claim.negated
        )
        # speculation, not a plain report: hedged, or an untrusted account's word on a
        # question (how many died, how); what an untrusted account says happened, unhedged,
        # is a report like any other until someone hedges or questions it
        unsure = claim.hedge > 0 or (
            post.tier is Tier.UNVERIFIED and not relays and claim.kind is not ClaimKind.OTHER
        )
        self._memo.flush()  # the claim's statements see every link and join before them
        join = self.settings.join_similarity
        if claim.kind is ClaimKind.ATTRIBUTION and key[2]:
            join = min(join, self.settings.attribution_join_similarity)
        nid, similarity = self.clusterer.nearest(key, vector)
        if nid is None or similarity < join:
            # the same story with more or fewer names joins it; a rival attribution never
            nid, similarity = self.clusterer.nearest_overlapping(key, vector, self.known)
        if nid is None or similarity < join:
            nid = self.store.create_narrative(
                incident_id, claim.kind, actors, candidates, claim.negated, vector,
                post.created_at, post.rowid, claim_id,
                initial_status(claim.kind, unsure, claim.negated, key[2]),
            )
            self.clusterer.add(key, nid, np.zeros_like(vector))
            report.narratives += 1
        total = self.clusterer.grow(nid, vector)
        self.store.add_claim_to_narrative(
            nid, incident_id, claim_id, total, post.rowid, post.created_at,
            unsure=unsure, confirmed=verified,
        )
        self._memo.claimed(nid, incident_id, post.rowid, verified)
        report.joins.append((nid, post.created_at))
        report.clustered += 1

    # -- consolidation ------------------------------------------------------------------

    def consolidate(self) -> int:
        """Merge narratives of one key whose centroids are at least ``merge_similarity``
        alike (into the oldest), relabel changed ones, refresh statuses. Returns merges."""
        merges = 0
        touched: set[str] = set()
        try:
            with self.store.transaction():
                # only groups that changed since the last pass can hold new merges
                keys = sorted(self.clusterer.dirty, key=repr)
                self.clusterer.dirty.clear()
                for key in keys:
                    ids: list[int] = []
                    parts: list[np.ndarray] = []
                    for group in (key, *self.clusterer.overlapping(key, self.known)):
                        more, vectors = self.clusterer.members(group)
                        ids += more
                        parts += [vectors] if more else []
                    if len(ids) < 2:
                        continue
                    centroids = np.vstack(parts)
                    for keep, drops in self._components(ids, centroids):
                        for drop in drops:
                            total = self.clusterer.remove(drop)
                            merged = self.clusterer.grow(keep, total)
                            for rule, dropped, kept in self.store.merge_narrative(
                                keep, drop, merged
                            ):
                                self.merged_alerts.append(
                                    MergedAlert(rule, dropped, kept, keep, drop)
                                )
                            merges += 1
                        touched.add(key[0])
                for nid, vector_sum in self.store.unlabelled_narratives():
                    claim_ids, vectors = self.store.member_vectors(nid, self.model)
                    if claim_ids:
                        best = int(np.argmax(vectors @ _unit(vector_sum)))
                        self.store.set_label(nid, claim_ids[best])
                for incident_id in touched:
                    self._refresh_statuses(incident_id)
        except BaseException:
            self.reload()
            raise
        return merges

    def _components(self, ids: list[int], matrix: np.ndarray) -> list[tuple[int, list[int]]]:
        close = np.triu(matrix @ matrix.T, k=1) >= self.settings.merge_similarity
        _, labels = connected_components(csr_matrix(close), directed=False)
        components: dict[int, list[int]] = {}
        for i, label in enumerate(labels.tolist()):
            components.setdefault(label, []).append(ids[i])
        out = []
        groups = [m for m in components.values() if len(m) >= 2]
        first_seen = self.store.first_seen_of([n for m in groups for n in m]) if groups else {}
        for members in groups:
            members.sort(key=lambda n: (first_seen[n], n))
            out.append((members[0], members[1:]))
        return out

    # -- status -------------------------------------------------------------------------

    def refresh_statuses(self, incident_id: str) -> None:
        with self.store.transaction():
            self._refresh_statuses(incident_id)

    def _refresh_statuses(self, incident_id: str, only: set[int] | None = None) -> None:
        """Recompute the status of the incident's narratives (or of ``only`` those)."""
        findings = self.store.findings(incident_id)
        vectors = self.store.embeddings(self.model, [h for _, h in findings])
        with_vectors = [(f, vectors.get(h)) for f, h in findings]
        for nid, kind, actors, negated, first_seen, label, current, unsure, values in (
            self.store.narrative_views(incident_id, only)
        ):
            view = NarrativeView(
                kind, frozenset(actors), negated, first_seen, self.clusterer.centroid(nid), label,
                unsure, values,
            )
            status = status_of(view, with_vectors, self.settings.join_similarity)
            if status is not current:
                self.store.set_status(nid, status)
