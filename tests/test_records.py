"""The post format: what goes in is normalized; what is malformed is refused by name."""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.claims.extract import SentenceClaimExtractor
from tracker.errors import PostError
from tracker.ingest.normalize import normalize_text
from tracker.ingest.records import parse_post
from tracker.models import Tier


def _parse(record: dict[str, Any]) -> Any:
    return parse_post(record, default_source="file", max_text_chars=200)


def test_text_is_nfc_html_free_and_whitespace_folded() -> None:
    raw = "<p>Blast in   Quetta&amp;Nushki</p><p>Cafe\u0301 <b>closed</b></p>\u00a0 <3 stay safe"
    assert normalize_text(raw) == "Blast in Quetta&Nushki\nCafé closed\n<3 stay safe"


def test_every_kind_of_whitespace_folds_as_it_always_did() -> None:
    """normalize_text skips its folding when a text's only whitespace is single spaces:
    texts holding each Unicode whitespace character, alone, doubled, around line breaks,
    come out as the plain substitutions make them."""
    space, newlines = re.compile(r"[^\S\n]+"), re.compile(r"\s*\n\s*")

    def folded(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = text.replace("\r", "\n").replace("\u00a0", " ").replace("\x00", "")
        return newlines.sub("\n", space.sub(" ", text)).strip()

    blanks = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()]
    pieces = [*blanks, " ", "  ", "\n", " \n ", "a", "Quetta", "é", "\u200d", "\x07"]
    rng = random.Random(7)
    texts = [f"a{b}b" for b in blanks] + [f"a{b}{b}b" for b in blanks] + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))) for _ in range(3000)
    ]
    for text in texts:
        assert normalize_text(text) == folded(text), repr(text)


def test_a_full_record_becomes_a_post_and_unknown_fields_are_kept() -> None:
    post = _parse(
        {"id": 1862, "source": "x", "author": "h", "tier": "Verified", "text": " Sources say X ",
         "created_at": "2026-11-20T15:15:00+05:00", "metrics": {"reposts": 12},
         "thread_id": "99", "lang": "en"}
    )
    assert post.id == "1862" and post.source == "x" and post.tier is Tier.VERIFIED
    assert post.text == "Sources say X"
    assert post.created_at == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert post.metrics == {"reposts": 12}
    assert post.extra == {"thread_id": "99"}


def test_dataset_spellings_fill_author_and_metrics() -> None:
    post = _parse({"id": "1", "text": "t", "created_at": "2015-03-24T10:37:41Z",
                   "author_handle": "airlivenet", "followers": 57279, "retweet_count": 574})
    assert post.author == "airlivenet"
    assert post.metrics == {"followers": 57279, "reposts": 574}
    assert post.source == "file"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"text": "x", "created_at": "2026-11-20T10:15:00Z"}, "missing id"),
        ({"id": "1", "text": "x"}, "missing created_at"),
        ({"id": "1", "text": "x", "created_at": "yesterday"}, "not an ISO 8601 time"),
        ({"id": "1", "text": "x", "created_at": "2026-11-20T10:15:00"}, "no UTC offset"),
        ({"id": "1", "text": "x" * 201, "created_at": "2026-11-20T10:15:00Z"}, "over the limit"),
        ({"id": "1", "text": "", "created_at": "2026-11-20T10:15:00Z"}, "not a repost"),
        ({"id": "1", "text": "x", "tier": "gold", "created_at": "2026-11-20T10:15:00Z"}, "tier"),
        ({"id": "1", "text": 5, "created_at": "2026-11-20T10:15:00Z"}, "text must be a string"),
        ({"id": "1", "text": "x", "created_at": "2026-11-20T10:15:00Z", "metrics": {"likes": -1}},
         "metrics.likes"),
    ],
)
def test_malformed_records_are_refused_with_the_reason(record: dict[str, Any], reason: str) -> None:
    with pytest.raises(PostError, match=reason):
        _parse(record)


def test_a_repost_may_have_no_text() -> None:
    post = _parse({"id": "2", "text": "", "repost_of": "1", "created_at": "2026-11-20T10:15:00Z"})
    assert post.is_repost


def test_sentences_become_claims_without_links_and_addressees() -> None:
    extractor = SentenceClaimExtractor(min_words=3)
    claims = extractor.extract(
        "RT @bbc: Mr. Khan said 12 died in the Nushki blast. Police confirmed it! "
        "https://example.com/abc\n@someone so sad\nU.S. officials see no terror link."
    )
    assert [c.text for c in claims] == [
        "Mr. Khan said 12 died in the Nushki blast.",
        "Police confirmed it!",
        "U.S. officials see no terror link.",
    ]
