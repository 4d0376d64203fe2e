"""The store's batch reads (one query for a whole batch of posts, as the narrative engine
asks them) answer what the one-post reads answer, on SQLite and on PostgreSQL
(``store_target`` runs each test on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np

from tracker.models import Claim, ClaimKind, Incident, Post, Stance
from tracker.store import NewPost, Store

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MODEL = "test-model"


def _post(ext_id: str, text: str, minutes: float, **kw: str) -> Post:
    return Post(id=ext_id, source="x", author=f"a{ext_id}", text=text,
                created_at=T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def _claim(text: str) -> Claim:
    return Claim(text, ClaimKind.ATTRIBUTION, ("TTP",), (), 0.2, False, False, None)


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return v / np.linalg.norm(v)


def test_batch_reads_answer_what_the_one_post_reads_answer(store_target: str) -> None:
    store = Store(store_target)
    try:
        for name in ("quetta", "nushki"):
            store.save_incident(Incident(id=name, title=name, description=name, terms=(name,),
                                         started_at=T0 - timedelta(hours=1)))
        rowids, claims = store.add_posts(
            [NewPost(_post(str(i), f"TTP behind the Nushki blast, post {i}", i), f"p{i}",
                     [_claim(f"TTP behind the Nushki blast, post {i}")]) for i in range(3)]
            + [NewPost(_post("r1", "Is that true?", 9, reply_to="0"), "r1", [], Stance.QUERY),
               NewPost(_post("rt", "", 5, repost_of="0"), "rt", []),
               NewPost(_post("r2", "No it is not", 7, reply_to="0"), "r2", [], Stance.DENY)],
            MODEL, {},
        )
        ids = [int(r) for r in rowids if r is not None]
        cids = [int(c.id or 0) for c in claims]
        store.link(ids[0], "quetta", "term")  # linked to two incidents, quetta first
        store.link(ids[0], "nushki", "term")
        store.link(ids[1], "nushki", "term")
        keep = store.create_narrative("nushki", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                      _unit(1), T0, ids[0], cids[0])
        drop = store.create_narrative("nushki", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                      _unit(2), T0, ids[1], cids[1])
        other = store.create_narrative("quetta", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                       _unit(3), T0, ids[0], cids[0])
        store.add_claim_to_narrative(keep, "nushki", cids[0], _unit(1), ids[0], T0,
                                     confirmed=True)
        store.add_claim_to_narrative(other, "quetta", cids[0], _unit(3), ids[0], T0)
        store.add_claim_to_narrative(drop, "nushki", cids[1], _unit(2), ids[1], T0)
        store.add_post_to_narrative(drop, ids[0], T0, role="repost")
        store.merge_narrative(keep, drop, _unit(4))

        asked = [*ids, ids[0], 10_000]  # a repeat and a post that does not exist
        incidents = store.incidents_of_posts(asked)
        assert incidents == {ids[0]: ["nushki", "quetta"], ids[1]: ["nushki"]}
        assert sorted(store.incidents_of_post(ids[0])) == incidents[ids[0]]

        rows = store.narrative_rows_of_posts(asked)
        for post in ids:
            for incident in ("nushki", "quetta"):
                live = [(nid, confirmed) for nid, (at, confirmed) in sorted(
                    rows.get(post, {}).items()) if at == incident]
                assert live == store.narratives_with_post(post, incident)
        # the merged narrative's rows moved to the one it merged into
        assert rows == {ids[0]: {keep: ("nushki", True), other: ("quetta", False)},
                        ids[1]: {keep: ("nushki", False)}}

        responses = store.responses_to_posts(asked)
        assert responses == {ids[0]: store.responses_to(ids[0])}
        assert responses[ids[0]] == [ids[4], ids[5], ids[3]]  # oldest first
    finally:
        store.close()


def test_bulk_links_and_joins_are_what_one_by_one_writes_give(store_target: str) -> None:
    store = Store(store_target)
    try:
        store.save_incident(Incident(id="nushki", title="Nushki", description="Nushki",
                                     terms=("Nushki",), started_at=T0 - timedelta(hours=1)))
        rowids, claims = store.add_posts(
            [NewPost(_post("0", "TTP behind the Nushki blast", 0), "p0",
                     [_claim("TTP behind the Nushki blast")]),
             NewPost(_post("rt", "", 1, repost_of="0"), "rt", []),
             NewPost(_post("r", "Is that true?", 2, reply_to="0"), "r", [], Stance.QUERY)],
            MODEL, {},
        )
        source, repost, reply = (int(r) for r in rowids if r is not None)
        store.link_posts([(source, "nushki", "term"), (repost, "nushki", "repost"),
                          (source, "nushki", "meaning")])  # the second link of a post: ignored
        assert store.incidents_of_posts([source, repost, reply]) == {
            source: ["nushki"], repost: ["nushki"]}
        assert store.link(source, "nushki", "term") is False
        assert store.incident_counts("nushki")["by_term"] == 1  # the first link's way kept
        nid = store.create_narrative("nushki", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                     _unit(1), T0, source, int(claims[0].id or 0))
        store.add_claim_to_narrative(nid, "nushki", int(claims[0].id or 0), _unit(1), source,
                                     T0, confirmed=True)
        store.add_posts_to_narratives([
            (nid, repost, T0 + timedelta(minutes=1), "repost", None, True),
            (nid, reply, T0 + timedelta(minutes=2), "reply", Stance.QUERY, False),
            (nid, reply, T0 + timedelta(minutes=2), "repost", None, True),  # ignored
        ])
        assert store.narratives_with_post(repost, "nushki") == [(nid, True)]
        assert store.narratives_with_post(reply, "nushki") == [(nid, False)]
        window = store.window_posts(nid, T0 - timedelta(minutes=1), T0 + timedelta(minutes=5))
        assert len(window) == 3 and window[-1].stance is Stance.QUERY
        [summary] = store.narrative_summaries("nushki")
        assert (summary.size, summary.replies, summary.stances["query"]) == (3, 1, 1)
    finally:
        store.close()


def test_a_large_batch_of_posts_gets_the_ids_and_claims_one_at_a_time_gives(
    store_target: str,
) -> None:
    """add_posts writes a few hundred rows per statement: over a thousand posts (several
    statements), one stored before and two twice in the batch, get ids in batch order,
    and each post reads back with its own claims, in order, and their vectors."""
    store = Store(store_target)
    try:
        (first,), _ = store.add_posts(
            [NewPost(_post("7", "TTP behind the Nushki blast, post 7", 7), "p7",
                     [_claim("TTP behind the Nushki blast, post 7")])], MODEL, {},
        )
        batch = [
            NewPost(_post(str(i), f"TTP behind the Nushki blast, post {i}", i), f"p{i}",
                    [_claim(f"claim {i}.{j}") for j in range(i % 3)])
            for i in range(1200)
        ]
        # the same post twice, in one statement and in two: the second changes nothing
        batch.insert(600, batch[5])
        batch.insert(10, batch[3])
        vectors = {f"h{i}": _unit(i) for i in range(40)}
        rowids, claims = store.add_posts(batch, MODEL, vectors)
        assert rowids[7] is None  # stored before
        assert rowids[10] is None and rowids[601] is None  # twice in the batch
        new = [r for r in rowids if r is not None]
        assert len(new) == 1199
        # ids in the batch's order (PostgreSQL's sequence also spends one on an ignored row)
        assert all(a < b for a, b in pairwise([int(first or 0), *new]))
        assert [c.text for c in claims] == [
            f"claim {i}.{j}" for i in range(1200) if i != 7 for j in range(i % 3)
        ]
        ids = [int(c.id or 0) for c in claims]
        assert all(a < b for a, b in pairwise(ids))
        stored = {p.ext_id: p for p in store.posts_for_processing(new, MODEL)}
        assert len(stored) == 1199
        for i in (0, 2, 5, 499, 500, 501, 1199):
            assert [c.text for c in stored[str(i)].claims] == [
                f"claim {i}.{j}" for j in range(i % 3)
            ]
        back = store.embeddings(MODEL, list(vectors))
        assert sorted(back) == sorted(vectors)
        assert all(np.array_equal(back[h], v) for h, v in vectors.items())
    finally:
        store.close()
