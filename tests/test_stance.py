"""The second reader (nearness to example sentences) and a reply's stance, on the real model."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from tracker.claims.examples import KIND_THRESHOLD, ExampleReader
from tracker.claims.extract import ClaimAnalyzer
from tracker.claims.lexicon import DEFAULT_LEXICON, EXAMPLE_FIELDS, Lexicon
from tracker.claims.stance import STANCE_THRESHOLD, StanceReader
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import ConfigError
from tracker.models import Claim, ClaimKind, Stance


@pytest.fixture(scope="module")
def kinds(embedder: SentenceTransformerEmbedder) -> ExampleReader:
    return ExampleReader.for_kinds(embedder.encode)


@pytest.fixture(scope="module")
def stance(embedder: SentenceTransformerEmbedder) -> StanceReader:
    return StanceReader.with_model(embedder.encode)


def vector(embedder: SentenceTransformerEmbedder, text: str) -> np.ndarray:
    return np.asarray(embedder.encode([text])[0])


def test_nearest_reads_the_label_of_the_closest_example_above_the_threshold(
    embedder: SentenceTransformerEmbedder,
) -> None:
    reader = ExampleReader(
        {"fruit": ["I ate a ripe banana"], "vehicle": ["The truck drove down the road"]},
        embedder.encode,
        threshold=0.4,
    )
    label, score = reader.nearest(vector(embedder, "She had a banana for breakfast"))
    assert label == "fruit" and 0.4 <= score <= 1.0
    label, score = reader.nearest(vector(embedder, "Quantum chromodynamics lecture notes"))
    assert label is None and score < 0.4
    with pytest.raises(ValueError, match="at least one"):
        ExampleReader({"empty": []}, embedder.encode)


@pytest.mark.parametrize(
    "text",
    [
        "He was a devoted follower of a terror organisation",
        "A terror organisation has taken credit online",
    ],
)
def test_refine_kind_catches_an_unseen_attribution_phrasing(
    embedder: SentenceTransformerEmbedder, kinds: ExampleReader, text: str
) -> None:
    claim = ClaimAnalyzer().analyze(text)
    assert claim.kind is ClaimKind.OTHER  # the word lists miss it
    refined = kinds.refine_kind(claim, vector(embedder, text))
    assert refined.kind is ClaimKind.ATTRIBUTION
    assert refined.text == claim.text and refined.hedge == claim.hedge


def test_refine_kind_leaves_plain_reports_and_read_kinds_alone(
    embedder: SentenceTransformerEmbedder, kinds: ExampleReader
) -> None:
    plain = Claim("The cafe reopened this morning")
    assert kinds.refine_kind(plain, vector(embedder, plain.text)) is plain
    # A kind the word lists read is kept, whatever the vector is near.
    casualty = Claim("TTP claimed the attack", kind=ClaimKind.CASUALTY)
    assert kinds.refine_kind(casualty, vector(embedder, casualty.text)) is casualty
    assert kinds.threshold == KIND_THRESHOLD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bbc This is fake, stop spreading it", Stance.DENY),
        ("@cnn Not true, he wasn't even there", Stance.DENY),
        ("@reuters No he wasn't, that's a hoax", Stance.DENY),
        ("@cnn Is this confirmed? source?", Stance.QUERY),
        ("@skynews really? proof?", Stance.QUERY),
        ("@x yes, police confirmed it", Stance.SUPPORT),
        ("RT @nypost Hostages made to hold up a flag in the cafe window", Stance.SUPPORT),
        ("@x my thoughts are with them", Stance.COMMENT),
    ],
)
def test_cues_read_clear_replies(text: str, expected: Stance) -> None:
    assert StanceReader().read(text) is expected


def test_the_model_reads_a_reply_the_cues_are_silent_on(
    embedder: SentenceTransformerEmbedder, stance: StanceReader
) -> None:
    text = "Seen it with my own eyes, it is accurate"
    assert stance.cue(text) is None
    assert stance.read(text) is Stance.COMMENT  # no vector: cues only
    assert stance.read(text, vector(embedder, text)) is Stance.SUPPORT
    assert stance.model is not None and stance.model.threshold == STANCE_THRESHOLD
    chatter = "I hope everyone there is safe"
    assert stance.read(chatter, vector(embedder, chatter)) is Stance.COMMENT


def test_examples_and_cues_are_data_overridable_from_config(
    embedder: SentenceTransformerEmbedder,
) -> None:
    lexicon = Lexicon.from_mapping(
        {
            "deny_cues": ["jhoot"],
            "extend": {"attribution_examples": ["Ye kaam dehshatgardon ka hai"]},
        }
    )
    assert lexicon.attribution_examples[-1] == "Ye kaam dehshatgardon ka hai"
    assert StanceReader(lexicon).read("@x yeh jhoot hai") is Stance.DENY
    assert StanceReader().read("@x yeh jhoot hai") is Stance.COMMENT
    # Example sentences are text, not patterns: a "(" is fine there, not in a cue.
    Lexicon.from_mapping({"query_examples": ["Is this (really) true?"]})
    with pytest.raises(ConfigError, match="deny_cues"):
        Lexicon.from_mapping({"deny_cues": ["(unclosed"]})
    assert {f.name for f in fields(DEFAULT_LEXICON)} >= EXAMPLE_FIELDS
    reader = ExampleReader.for_kinds(embedder.encode, lexicon)
    assert "Ye kaam dehshatgardon ka hai" in reader.texts


def test_a_batch_reads_each_vector_as_one_read_alone_near_ties_included(
    embedder: SentenceTransformerEmbedder, kinds: ExampleReader
) -> None:
    """The pipeline reads a batch's kinds in one matrix product: every label is the one
    a claim read alone gets, also for vectors halfway between two examples (a near tie)
    and right at the examples themselves."""
    texts = [
        "He was a devoted follower of a terror organisation",
        "The cafe reopened this morning",
        "150 people were on board the plane",
        "So sad, thoughts with the families",
    ]
    examples = np.asarray(kinds._vectors)
    halfway = examples[:-1] + examples[1:]
    halfway /= np.linalg.norm(halfway, axis=1, keepdims=True)
    rows = np.vstack([np.asarray(embedder.encode(texts)), examples, halfway.astype(np.float32)])
    assert kinds.nearest_labels(rows) == [kinds.nearest(row)[0] for row in rows]
    assert {kinds.nearest(row)[0] for row in rows} >= {"attribution", "casualty", None}
    claims = [ClaimAnalyzer().analyze(t) for t in texts] * 2
    twice = np.vstack([rows[: len(texts)]] * 2)
    refined = kinds.refine_kinds(claims, twice)
    assert refined == [kinds.refine_kind(c, v) for c, v in zip(claims, twice, strict=True)]
    assert refined[0].kind is ClaimKind.ATTRIBUTION
    assert refined[1] is claims[1]  # unchanged: the claim itself


def test_stances_of_a_batch_are_those_read_one_by_one(
    embedder: SentenceTransformerEmbedder, stance: StanceReader
) -> None:
    texts = [
        "@bbc This is fake, stop spreading it",
        "Seen it with my own eyes, it is accurate",
        "I hope everyone there is safe",
        "@cnn Is this confirmed? source?",
    ]
    vectors: list[np.ndarray | None] = [vector(embedder, t) for t in texts]
    replies = [*zip(texts, vectors, strict=True), (texts[1], None)]
    read = stance.read_all(replies)
    assert read == [stance.read(t, v) for t, v in replies]
    assert read == [Stance.DENY, Stance.SUPPORT, Stance.COMMENT, Stance.QUERY, Stance.COMMENT]
    assert stance.read_all([]) == []
