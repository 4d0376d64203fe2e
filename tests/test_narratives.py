"""Incidents, claims, narratives and findings as an analyst sees them, on the real model.

Posts go in through the pipeline as the daemon feeds them; what is asserted is what
`claimwatch narratives` would show: which narratives exist, with which actors, sizes,
tier counts and statuses, and which posts were linked to the incident.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_config

from tracker.config.settings import load_settings
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.ingest.records import parse_post
from tracker.models import ClaimKind, FindingStatus, Narrative, Post, Status, Tier
from tracker.runtime import Runtime

INCIDENT = """
[[incidents]]
id = "nushki"
title = "Nushki bus bombing"
description = "A suicide bomber attacked a bus carrying soldiers near Nushki in Balochistan, killing several people."
terms = ["Nushki", "Noshki"]
started_at = "2026-11-20T09:00:00Z"
window_hours = 72

[tiers]
official_authors = ["ISPR_Official", "BalochistanPolice"]
verified_authors = ["DawnNews"]
"""

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

BLA = [
    "Sources say the BLA is behind the Nushki blast",
    "The Nushki blast was reportedly carried out by the BLA",
    "Sources say the BLA carried out the Nushki blast",
]
TTP = [text.replace("BLA", "TTP") for text in BLA]

MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def make_runtime(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> Iterator[MakeRuntime]:
    """Opens a Runtime on a fresh database with the Nushki incident (plus ``extra`` TOML);
    closed at the end of the test."""
    opened: list[Runtime] = []

    def make(extra: str = "") -> Runtime:
        settings = load_settings(write_config(tmp_path, INCIDENT + extra), environ={})
        rt = Runtime(settings, embedder)
        opened.append(rt)
        return rt

    yield make
    for rt in opened:
        rt.close()


def post(
    ext_id: str, text: str, minutes: float = 60, author: str | None = None, **fields: str
) -> Post:
    """A post ``minutes`` after the incident started, through the public post format."""
    record: dict[str, object] = {
        "id": ext_id, "source": "x", "text": text, "author": author or f"user{ext_id}",
        "created_at": (START + timedelta(minutes=minutes)).isoformat(), **fields,
    }
    return parse_post(record, default_source="x", max_text_chars=10_000)


def links(rt: Runtime) -> dict[str, str]:
    """Post id -> how it was linked to the incident, read from the database file."""
    with sqlite3.connect(rt.settings.db_path) as db:
        rows = db.execute(
            "SELECT p.ext_id, pi.via FROM post_incidents pi JOIN posts p ON p.id = pi.post_id "
            "WHERE pi.incident_id = 'nushki'"
        ).fetchall()
    return {ext_id: via for ext_id, via in rows}


def holding(rt: Runtime, text: str) -> Narrative:
    """The one live narrative of the incident with a claim of exactly ``text``."""
    found = [
        n for n in rt.narratives("nushki", singletons=True)
        if any(row["text"] == text for row in rt.store.narrative_claim_rows(n.id))
    ]
    assert len(found) == 1, (text, found)
    return found[0]


def attributions(rt: Runtime, actors: tuple[str, ...]) -> list[Narrative]:
    return [
        n for n in rt.narratives("nushki", singletons=True)
        if n.kind is ClaimKind.ATTRIBUTION and n.actors == actors and not n.negated
    ]


async def test_paraphrases_share_a_narrative_and_other_actors_get_their_own(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    texts = [*BLA, *TTP]
    await pipeline.add_posts([post(str(i), t, 10 + i) for i, t in enumerate(texts)])
    await pipeline.consolidate()

    bla, ttp = attributions(rt, ("BLA",)), attributions(rt, ("TTP",))
    assert len(bla) == 1 and len(ttp) == 1, rt.narratives("nushki", singletons=True)
    assert (bla[0].size, bla[0].authors, bla[0].claims) == (3, 3, 3)
    assert (ttp[0].size, ttp[0].authors) == (3, 3)
    assert bla[0].first_post_id == "0" and ttp[0].first_post_id == "3"
    assert bla[0].label in BLA and ttp[0].label in TTP
    assert {n.status for n in (*bla, *ttp)} == {Status.SPECULATIVE}
    assert len(rt.narratives("nushki", singletons=True)) == 2


async def test_one_attribution_told_in_different_words_is_one_narrative(
    make_runtime: MakeRuntime, embedder: SentenceTransformerEmbedder
) -> None:
    """Claims naming the same actor tell one story however they are worded: they join at
    attribution_join_similarity, below the general join_similarity they would split at."""
    texts = [
        "Sources say the BLA is behind the Nushki blast",
        "Everyone knows the BLA did this in Nushki, same crowd as the bus depot shooting",
    ]
    rt = make_runtime()
    vectors = embedder.encode(texts)
    similarity = float(vectors[0] @ vectors[1])
    bars = rt.settings.narratives
    assert bars.attribution_join_similarity <= similarity < bars.join_similarity

    await rt.pipeline().add_posts([post(str(i), t, 10 + i) for i, t in enumerate(texts)])
    [bla] = attributions(rt, ("BLA",))
    assert (bla.claims, bla.authors) == (2, 2)


async def test_hedges_official_voice_negation_and_candidate_actors(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    hedged = "The Nushki blast was reportedly carried out by the BLA"
    official = "Police confirmed the BLA carried out the Nushki attack"
    denial = "No group has claimed responsibility for the Nushki attack"
    unknown = "Jundallah claimed responsibility for the Nushki bombing"
    await pipeline.add_posts([
        post("1", hedged, 10), post("2", official, 20), post("3", denial, 30),
        post("4", unknown, 40),
    ])

    readings = {
        row["text"]: row
        for n in rt.narratives("nushki", singletons=True) for row in rt.store.narrative_claim_rows(n.id)
    }
    assert readings[hedged]["hedge"] > 0 and not readings[hedged]["official_voice"]
    assert readings[official]["hedge"] == 0 and readings[official]["official_voice"]

    negated = holding(rt, denial)
    assert negated.kind is ClaimKind.ATTRIBUTION
    assert negated.negated and negated.actors == ()
    assert not holding(rt, hedged).negated

    candidate = holding(rt, unknown)
    assert candidate.kind is ClaimKind.ATTRIBUTION
    assert candidate.actors == ("Jundallah",) and candidate.candidates == ("Jundallah",)
    assert holding(rt, hedged).candidates == ()


async def test_links_by_term_and_meaning_inside_the_window_only(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([
        post("term", "Sources say the BLA is behind the Nushki blast", 30),
        post("tag", "Praying for everyone hurt in the #NoshkiBlast today", 35),
        post("meaning", "A suicide bomber hit a bus full of soldiers in Balochistan", 40),
        post("cricket", "Pakistan beat Australia by 5 wickets in the cricket match", 45),
        post("weather", "Weather in Lahore will be sunny and warm today", 50),
        post("traffic", "Heavy traffic jam on Shahrah-e-Faisal in Karachi this evening", 55),
        post("late", "Nushki market reopens after the attack, traders say", 5 * 24 * 60),
        post("early", "Nushki district council meets to discuss the new budget", -24 * 60),
    ])

    assert links(rt) == {"term": "term", "tag": "term", "meaning": "meaning"}
    counts = rt.store.incident_counts("nushki")
    assert (counts["posts"], counts["by_term"], counts["by_meaning"]) == (3, 2, 1)
    assert holding(rt, "A suicide bomber hit a bus full of soldiers in Balochistan").kind is (
        ClaimKind.METHOD
    )


async def test_reposts_and_replies_join_the_conversation(make_runtime: MakeRuntime) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    original = "Sources say the BLA is behind the Nushki blast"
    await pipeline.add_posts([
        post("1", original, 10, "first"),
        post("2", "", 12, "booster", repost_of="1"),
        post("3", "Pakistan beat Australia by 5 wickets in the cricket match", 13),
    ])
    await pipeline.add_posts([
        post("4", "", 20, "second_booster", repost_of="1"),
        post("5", "May God protect the soldiers and their families, so sad", 25, reply_to="1"),
        post("6", "What a great innings by the captain today", 26, reply_to="3"),
    ])

    narrative = holding(rt, original)
    # the two reposts and the reply are its spread; the reply forms no narrative of its own
    assert (narrative.size, narrative.authors, narrative.claims) == (4, 4, 1)
    assert narrative.first_post_id == "1"
    assert len(rt.narratives("nushki", singletons=True)) == 1
    assert links(rt) == {"1": "term", "2": "repost", "4": "repost", "5": "reply"}


async def test_findings_confirm_contradict_or_leave_narratives_unconfirmed(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([post(str(i), t, 10 + i) for i, t in enumerate([*BLA, *TTP])])
    await pipeline.add_posts([post("no", "No group has claimed responsibility for the Nushki "
                                         "attack", 20)])
    (bla,), (ttp,) = attributions(rt, ("BLA",)), attributions(rt, ("TTP",))
    assert bla.status is ttp.status is Status.SPECULATIVE

    finding = rt.add_finding(
        "nushki", "CTD confirms the BLA carried out the Nushki attack", actors=["BLA"],
        status=FindingStatus.CONFIRMED, at=START + timedelta(hours=3),
    )
    assert finding.kind is ClaimKind.ATTRIBUTION and finding.actors == ("BLA",)
    assert not finding.automatic
    status = {n.id: n.status for n in rt.narratives("nushki", singletons=True)}
    assert status[bla.id] is Status.CONFIRMED
    assert status[ttp.id] is Status.CONTRADICTED
    assert holding(rt, "No group has claimed responsibility for the Nushki attack").status is (
        Status.CONTRADICTED
    )

    # first seen after the finding, and neither agreeing nor disagreeing with it
    joint = "Sources say the BLA and TTP carried out the Nushki attack together"
    await pipeline.add_posts([post("joint", joint, 5 * 60)])
    late = holding(rt, joint)
    assert late.actors == ("BLA", "TTP") and late.status is Status.UNCONFIRMED


async def test_a_pending_finding_and_a_ruled_out_actor(make_runtime: MakeRuntime) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([post(str(i), t, 10 + i) for i, t in enumerate([*BLA, *TTP])])
    (bla,), (ttp,) = attributions(rt, ("BLA",)), attributions(rt, ("TTP",))

    rt.add_finding(
        "nushki", "Police say no group has claimed responsibility so far",
        kind=ClaimKind.ATTRIBUTION, status=FindingStatus.PENDING,
        at=START + timedelta(hours=2),
    )
    late = "The Nushki attack was the work of Lashkar-e-Jhangvi, sources say"
    await pipeline.add_posts([post("late", late, 4 * 60)])
    assert holding(rt, late).status is Status.UNCONFIRMED
    status = {n.id: n.status for n in rt.narratives("nushki", singletons=True)}
    assert status[bla.id] is status[ttp.id] is Status.SPECULATIVE

    rt.add_finding(
        "nushki", "Interior ministry rules out TTP involvement in the Nushki attack",
        actors=["Tehrik-i-Taliban Pakistan"], status=FindingStatus.RULED_OUT,
        at=START + timedelta(hours=5),
    )
    status = {n.id: n.status for n in rt.narratives("nushki", singletons=True)}
    assert status[ttp.id] is Status.CONTRADICTED
    assert status[bla.id] is Status.SPECULATIVE


async def test_an_official_unhedged_attribution_records_an_automatic_finding(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([post(str(i), t, 10 + i) for i, t in enumerate([*BLA, *TTP])])
    assert rt.store.findings("nushki") == []

    official = "The BLA carried out the Nushki attack, the ISPR said"
    await pipeline.add_posts([post("ispr", official, 3 * 60, "ISPR_Official")])

    (finding, _), = rt.store.findings("nushki")
    assert finding.automatic and finding.post_id == "ispr"
    assert finding.actors == ("BLA",) and finding.status is FindingStatus.CONFIRMED
    assert holding(rt, official).status is Status.CONFIRMED
    assert holding(rt, official).tiers["official"] == 1
    assert {n.status for n in attributions(rt, ("BLA",))} == {Status.CONFIRMED}
    assert holding(rt, TTP[0]).status is Status.CONTRADICTED
    # the hedged claims of unverified accounts record nothing
    assert rt.store.tier_of("x", "0") is Tier.UNVERIFIED
    assert rt.store.incident_counts("nushki")["findings"] == 1


async def test_consolidation_merges_drifted_paraphrases_into_the_older_narrative(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime(
        "[narratives]\njoin_similarity = 0.95\nattribution_join_similarity = 0.95\n"
        "merge_similarity = 0.6\n"
    )
    pipeline = rt.pipeline()
    await pipeline.add_posts([
        post("a", BLA[0], 10), post("b", BLA[1], 20), post("c", TTP[0], 30),
    ])
    before = attributions(rt, ("BLA",))
    assert len(before) == 2, "too far apart to join online"
    older = min(before, key=lambda n: n.first_seen)

    assert await pipeline.consolidate() == 1
    (merged,) = attributions(rt, ("BLA",))
    assert merged.id == older.id and merged.first_post_id == "a"
    assert (merged.size, merged.claims) == (2, 2)
    assert merged.label in BLA[:2]
    # however alike, another actor's narrative is never merged in
    assert len(attributions(rt, ("TTP",))) == 1
    assert rt.store.resolve_narrative(max(n.id for n in before)) == older.id


async def test_tier_counts_show_verified_reporting(make_runtime: MakeRuntime) -> None:
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([
        post("1", BLA[0], 10, "someone"),
        post("2", BLA[1], 20, "DawnNews"),
        post("3", BLA[2], 30, "reporter", tier="official"),
    ])
    (bla,) = attributions(rt, ("BLA",))
    assert bla.tiers == {"official": 1, "verified": 1, "unverified": 1}
    assert rt.store.tier_of("x", "2") is Tier.VERIFIED



async def test_a_reply_and_a_repost_stored_before_their_original_follow_it(
    make_runtime: MakeRuntime,
) -> None:
    """A stream may deliver a repost or a reply before the post it answers."""
    rt = make_runtime()
    pipeline = rt.pipeline()
    await pipeline.add_posts([
        post("r1", "", minutes=65, author="booster", repost_of="o1"),
        post("r2", "this is terrible, who would do such a thing", minutes=66,
             author="replier", reply_to="o1"),
    ])
    assert rt.store.incident_counts("nushki")["posts"] == 0
    await pipeline.add_posts([post("o1", BLA[0], minutes=60, author="anon")])
    assert rt.store.incident_counts("nushki")["posts"] == 3
    (bla,) = [n for n in rt.narratives("nushki", singletons=True) if n.actors == ("BLA",)]
    assert bla.size == 3 and bla.authors == 3  # the original, its repost and the reply
