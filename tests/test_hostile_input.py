"""Hostile input: a bad post is one rejected item with its reason, never a crash, and the
good posts beside it always go in (the parser, the JSON Lines and CSV readers, and
`claimwatch ingest`). Issue 12's defects each have a plain test; hypothesis generates the
rest by the thousand."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import PostError
from tracker.ingest.files import PostFile
from tracker.ingest.records import parse_post
from tracker.models import Post
from tracker.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WHEN = "2026-11-20T10:15:00Z"
GOOD = {"id": "good", "text": "Police confirmed the blast in Nushki", "created_at": WHEN}
BIG = 10**5000  # over Python's 4,300-digit int-to-str limit
OVERFLOWS = ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+00:01"]
STRING_FIELDS = ["id", "text", "source", "author", "url", "lang", "repost_of", "reply_to",
                 "tier"]


def _parse(record: Any, now: datetime = NOW) -> Post:
    return parse_post(record, default_source="file", max_text_chars=1000, now=now)


def _read(tmp_path: Path, data: bytes, name: str) -> list[tuple[int, Post | PostError]]:
    path = tmp_path / name
    path.write_bytes(data)
    post_file = PostFile(str(path))
    try:
        return list(post_file.posts(default_source="file", max_text_chars=1000))
    finally:
        post_file.close()


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- defect 1: lone surrogates ------------------------------------------------------------


@pytest.mark.parametrize("field", STRING_FIELDS)
def test_a_lone_surrogate_in_any_string_field_is_rejected_by_name(field: str) -> None:
    with pytest.raises(PostError, match=f"{field} .*surrogate"):
        _parse({**GOOD, field: "a\ud800b"})


def test_a_lone_surrogate_in_a_metrics_key_or_an_unknown_field_is_rejected() -> None:
    with pytest.raises(PostError, match=r"metrics.*surrogate"):
        _parse({**GOOD, "metrics": {"li\udc00kes": 1}})
    with pytest.raises(PostError, match=r"note.*surrogate"):
        _parse({**GOOD, "note": ["fine", {"deeper": "\ud83d"}]})


def test_a_lone_surrogate_written_as_a_json_escape_is_one_rejected_line(
    tmp_path: Path,
) -> None:
    data = b'{"id": "1", "text": "x \\ud800 y", "created_at": "' + WHEN.encode() + b'"}\n'
    got = _read(tmp_path, data + _line(GOOD), "posts.jsonl")
    assert got[0][0] == 1 and isinstance(got[0][1], PostError)
    assert "surrogate" in str(got[0][1])
    assert got[1][0] == 2 and isinstance(got[1][1], Post)


# -- defect 3: created_at that overflows in UTC ------------------------------------------


@pytest.mark.parametrize("when", OVERFLOWS)
def test_a_time_that_overflows_in_utc_is_rejected(when: str) -> None:
    with pytest.raises(PostError, match="created_at"):
        _parse({**GOOD, "created_at": when})


# -- defect 4: integers over the int-to-str digit limit ------------------------------------


def test_a_huge_integer_id_or_metric_is_rejected() -> None:
    with pytest.raises(PostError, match="id"):
        _parse({**GOOD, "id": BIG})
    with pytest.raises(PostError, match=r"metrics.likes"):
        _parse({**GOOD, "metrics": {"likes": BIG}})
    with pytest.raises(PostError, match="followers"):
        _parse({**GOOD, "followers": BIG})


def test_a_huge_integer_in_a_json_line_rejects_that_line_only(tmp_path: Path) -> None:
    huge = b'{"id": ' + b"7" * 5000 + b', "text": "x", "created_at": "' + WHEN.encode() + b'"}\n'
    got = _read(tmp_path, _line({**GOOD, "id": "a"}) + huge + _line(GOOD), "posts.jsonl")
    assert [n for n, _ in got] == [1, 2, 3]
    assert isinstance(got[1][1], PostError) and "digits" in str(got[1][1])
    assert isinstance(got[0][1], Post) and isinstance(got[2][1], Post)


def test_a_huge_integer_in_the_csv_metrics_column_rejects_that_row_only(tmp_path: Path) -> None:
    data = (
        "id,text,created_at,metrics\n"
        f'1,first post,{WHEN},"{{""likes"": {"9" * 5000}}}"\n'
        f"2,second post,{WHEN},\n"
    ).encode()
    got = _read(tmp_path, data, "posts.csv")
    assert got[0][0] == 2 and isinstance(got[0][1], PostError)
    assert "metrics" in str(got[0][1])
    assert got[1][0] == 3 and isinstance(got[1][1], Post)


# -- defect 5: JSON nested about 1,000 deep ---------------------------------------------


def test_json_nested_a_thousand_deep_is_one_rejected_line(tmp_path: Path) -> None:
    deep = f'{{"id": "d", "text": "x", "created_at": "{WHEN}", "note": {_deep(1000)}}}\n'.encode()
    got = _read(tmp_path, _deep(1000).encode() + b"\n" + deep + _line(GOOD), "posts.jsonl")
    assert [n for n, _ in got] == [1, 2, 3]
    assert all(isinstance(p, PostError) and "deep" in str(p) for _, p in got[:2])
    assert isinstance(got[2][1], Post)


def test_an_unknown_field_nested_too_deep_to_store_is_rejected() -> None:
    value: Any = "leaf"
    for _ in range(200):
        value = [value]
    with pytest.raises(PostError, match=r"note.*deep"):
        _parse({**GOOD, "note": value})


# -- defect 6: superscript digits in metrics ------------------------------------------


def test_superscript_digits_in_metrics_are_rejected_not_a_crash() -> None:
    with pytest.raises(PostError, match=r"metrics.likes"):
        _parse({**GOOD, "metrics": {"likes": " ¹²³ "}})
    assert _parse({**GOOD, "metrics": {"likes": " 123 "}}).metrics == {"likes": 123}


# -- defect 9: a JSON Lines line of invalid UTF-8 -----------------------------------------


def test_a_line_of_invalid_utf8_is_one_rejected_item(tmp_path: Path) -> None:
    bad = b'{"id": "2", "text": "caf\xe9", "created_at": "' + WHEN.encode() + b'"}\n'
    got = _read(tmp_path, _line({**GOOD, "id": "1"}) + bad + _line(GOOD), "posts.jsonl")
    assert [n for n, _ in got] == [1, 2, 3]
    assert isinstance(got[1][1], PostError) and "UTF-8" in str(got[1][1])
    assert isinstance(got[0][1], Post) and isinstance(got[2][1], Post)


def test_load_record_is_what_a_pushed_json_line_goes_through() -> None:
    from tracker.ingest.records import load_record

    assert load_record(_line(GOOD)) == GOOD
    for raw, reason in [(b"\xff{}", "UTF-8"), (b"[1]", "JSON object"), (b"{", "bad JSON"),
                        (_deep(5000).encode(), "deep"), (b'{"a": ' + b"1" * 5000 + b"}",
                                                         "digits")]:
        with pytest.raises(PostError, match=reason):
            load_record(raw)


# -- defect 11: CSV with one bad byte or one oversized field ------------------------------


def test_csv_invalid_utf8_rejects_that_row_only(tmp_path: Path) -> None:
    data = (f"id,text,created_at\n1,first post,{WHEN}\n".encode()
            + f"2,caf\xff,{WHEN}\n".encode("latin-1") + f"3,third post,{WHEN}\n".encode())
    got = _read(tmp_path, data, "posts.csv")
    assert [n for n, _ in got] == [2, 3, 4]
    assert isinstance(got[1][1], PostError) and "UTF-8" in str(got[1][1])
    assert isinstance(got[0][1], Post) and isinstance(got[2][1], Post)


@pytest.mark.parametrize("quoted", [False, True])
def test_csv_field_over_the_csv_limit_rejects_that_row_only(tmp_path: Path, quoted: bool) -> None:
    big = "y" * 140_000
    if quoted:  # a quoted field spanning several lines: the rows after it must still count
        big = '"' + ("z" * 50_000 + "\n") * 3 + 'a, ""quoted"" tail"'
    data = (f"id,text,created_at\n1,first post,{WHEN}\n2,{big},{WHEN}\n"
            f"3,third post,{WHEN}\n").encode()
    got = _read(tmp_path, data, "posts.csv")
    assert [n for n, _ in got] == [2, 3, 4 + (3 if quoted else 0)]
    assert isinstance(got[1][1], PostError) and "field" in str(got[1][1])
    assert isinstance(got[0][1], Post) and isinstance(got[2][1], Post)
    assert got[2][1].id == "3"


# -- defect 15: whitespace ids, lengths, the future -------------------------------------


def test_whitespace_ids_and_overlong_fields_are_rejected() -> None:
    for record, reason in [
        ({**GOOD, "id": " \t "}, "id is blank"),
        ({**GOOD, "id": "x" * 257}, "id is 257 characters"),
        ({**GOOD, "author": "a" * 257}, "author is 257 characters"),
        ({**GOOD, "url": "https://e.com/" + "u" * 2048}, "url is 2062 characters"),
        ({**GOOD, "repost_of": "  "}, "repost_of is blank"),
    ]:
        with pytest.raises(PostError, match=reason):
            _parse(record)
    assert _parse({**GOOD, "id": "x" * 256, "author": "a" * 256}).id == "x" * 256


def test_a_post_more_than_a_day_ahead_of_now_is_rejected() -> None:
    ahead = NOW + timedelta(hours=23)
    assert _parse({**GOOD, "created_at": ahead.isoformat()}).created_at == ahead
    with pytest.raises(PostError, match=r"created_at .*in the future"):
        _parse({**GOOD, "created_at": (NOW + timedelta(days=1, seconds=1)).isoformat()})
    with pytest.raises(PostError, match=r"created_at .*in the future"):
        parse_post({**GOOD, "created_at": "2999-01-01T00:00:00Z"}, default_source="file",
                   max_text_chars=1000)  # now is the wall clock by default


# -- defect 10: `claimwatch ingest` reads every good line --------------------------------

POISON = [
    b'{"id": "p1", "text": "x \\ud800", "created_at": "2026-11-20T10:15:00Z"}',
    b'{"id": "p2", "text": "x", "created_at": "9999-12-31T23:59:59-00:01"}',
    b'{"id": ' + b"1" * 5000 + b', "text": "x", "created_at": "2026-11-20T10:15:00Z"}',
    _deep(1000).encode(),
    b'{"id": "p5", "text": "x", "created_at": "2026-11-20T10:15:00Z", "metrics": {"likes": "\xc2\xb9"}}',
    b'{"id": "p6", "text": "caf\xe9", "created_at": "2026-11-20T10:15:00Z"}',
]


def _filler(n: int) -> bytes:  # two words: no check-worthy claim, nothing to embed
    return json.dumps({"id": f"f{n}", "text": f"note {n}", "created_at": WHEN}).encode()


def test_ingest_rejects_each_poison_line_and_stores_the_rest(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    embedder: SentenceTransformerEmbedder,
) -> None:
    lines = [_filler(0)]
    for n, poison in enumerate(POISON, start=1):
        lines += [poison, _filler(n)]
    path = tmp_path / "poison.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert run_cli(["ingest", str(path), "--config", str(config_file), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["stored"], summary["rejected"]) == (len(POISON) + 1, len(POISON))
    assert [r["line"] for r in summary["rejected_lines"]] == list(range(2, 2 * len(POISON) + 1, 2))
    store = Store(tmp_path / "claimwatch.db")
    assert store.count("posts") == len(POISON) + 1
    store.close()


def test_a_poison_line_deep_in_a_big_file_costs_only_itself(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    embedder: SentenceTransformerEmbedder,
) -> None:
    lines = [_filler(n) for n in range(1, 1301)]
    lines[1100] = POISON[1]  # line 1,101
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert run_cli(["ingest", str(path), "--config", str(config_file)]) == 0
    captured = capsys.readouterr()
    assert "stored 1299, duplicates 0, rejected 1" in captured.out
    assert "line 1101: rejected: created_at" in captured.err
    assert "Traceback" not in captured.err


# -- property-based: never anything but PostError, good posts always through ---------------

SNIPPETS = ["\ud800", "\udfff", " ", "", "\t\n", "¹²³", " 12 ", "٣", "-1", "1e400", "x" * 300,
            *OVERFLOWS, WHEN, "2999-01-01T00:00:00Z", "2026-11-20T10:15:00", "<script>",
            "&amp;", "\x00", "verified", "Official"]
any_text = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(SNIPPETS)
leaf = (st.none() | st.booleans() | st.integers() | st.sampled_from([2**63, 2**64, -1])
        | st.sampled_from([5000, -5000]).map(lambda d: 10**d if d > 0 else -(10**-d))
        | st.floats() | any_text)
json_like = st.recursive(
    leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(any_text, c, max_size=3),
    max_leaves=8,
) | st.integers(150, 1200).map(lambda d: json.loads(_deep(min(d, 900))))
FIELDS = sorted({*STRING_FIELDS, "created_at", "metrics", "author_handle", "in_reply_to",
                 "thread_id", "followers", "retweet_count", "reposts", "favorite_count",
                 "likes"})
changes = st.dictionaries(st.sampled_from(FIELDS) | any_text, json_like, max_size=4)
def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else ``bad``."""
    return st.integers(0, 4).flatmap(lambda k: good if k else bad)


words = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=12)
short = _mostly(words, any_text)
def _times(days: st.SearchStrategy[datetime]) -> st.SearchStrategy[str]:
    return st.builds(lambda d, m: d.replace(tzinfo=timezone(timedelta(minutes=m))).isoformat(),
                     days, st.integers(-1439, 1439))


recent = _times(st.datetimes(datetime(2000, 1, 1), datetime(2026, 11, 30)))
times = _mostly(recent, _times(st.datetimes()) | any_text)
plausible = st.fixed_dictionaries(  # mostly posts, so that what is accepted gets checked too
    {"id": _mostly(short, st.integers()), "text": _mostly(words, any_text), "created_at": times},
    optional={"author": short, "source": short, "url": short, "lang": short,
              "repost_of": short, "reply_to": short, "thread_id": short | st.integers(),
              "tier": st.sampled_from(["official", "Verified", "unverified", "gold", ""]),
              "metrics": st.dictionaries(short, st.integers(-1, 2**64)
                                         | st.integers(0, 999).map(lambda n: f" {n} ")
                                         | any_text, max_size=3),
              "followers": st.integers(-5, 2**64), "likes": short,
              "extra": _mostly(words, json_like)},
)
records = (st.builds(lambda c: {**GOOD, **c}, changes) | changes | plausible
           | st.builds(lambda m: {**GOOD, "metrics": m},
                       st.dictionaries(any_text, json_like, max_size=3)))
FUZZ = settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _storable(post: Post, now: datetime = NOW) -> None:
    """What the store does with a post must work (UTF-8 text, JSON columns)."""
    for value in (post.source, post.id, post.text, post.author, post.url, post.lang,
                  post.repost_of, post.reply_to):
        if value is not None:
            value.encode("utf-8")
    assert post.id.strip() and len(post.id) <= 256
    json.dumps(post.metrics).encode("utf-8")
    json.dumps(post.extra, default=str)
    assert all(0 <= v < 2**63 for v in post.metrics.values())
    assert post.created_at.utcoffset() == timedelta(0)
    assert post.created_at <= now + timedelta(days=1)


@FUZZ
@given(records)
def test_fuzz_the_parser_raises_only_post_error(record: dict[str, Any]) -> None:
    try:
        post = _parse(record)
    except PostError as exc:
        assert str(exc)
        event("rejected")
        return
    event("parsed")
    _storable(post)


def _bad_json_line(value: Any, raw: bytes, kind: int) -> bytes:
    if kind == 0:
        return raw.replace(b"\n", b" ").replace(b"\r", b" ")
    try:
        line = json.dumps(value, default=str)
    except (ValueError, RecursionError):  # a huge integer, or too deep for the encoder
        line = '{"id": ' + "1" * 5000 + "}"
    if kind == 1:
        return line.encode("utf-8", "surrogatepass")
    return line.encode("utf-8", "surrogatepass").replace(b"1", b"\xff", 1)


bad_lines = st.builds(_bad_json_line, json_like | records, st.binary(max_size=40),
                      st.integers(0, 2))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(bad_lines, max_size=6), st.integers(0, 6))
def test_fuzz_json_lines_a_good_line_always_goes_in(
    tmp_path: Path, bad: list[bytes], at: int
) -> None:
    at = min(at, len(bad))
    lines = [*bad[:at], json.dumps(GOOD).encode(), *bad[at:]]
    got = _read(tmp_path, b"\n".join(lines) + b"\n", "fuzz.jsonl")
    numbers = [n for n, _ in got]
    assert numbers == sorted(set(numbers)) and all(1 <= n <= len(lines) for n in numbers)
    assert (at + 1, "good") in [(n, p.id) for n, p in got if isinstance(p, Post)]
    for _, item in got:
        if isinstance(item, PostError):
            assert str(item)
        else:
            _storable(item, datetime.now(UTC))


cell = any_text | st.sampled_from(['"', 'a "b" c', "a,b", "two\nlines", "\r", "y" * 140_000])


def _bad_csv_row(cells: list[str], kind: int) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    raw = out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate: bad bytes
    return raw.replace(b",", b"\xfe,", 1) if kind == 1 else raw


def _lines(row: bytes) -> int:
    """Lines as the CSV reader counts them (``\\r\\n``, ``\\r`` or ``\\n`` each end one)."""
    return len(io.StringIO(row.decode("utf-8", "surrogateescape"), newline="").readlines())


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(_bad_csv_row, st.lists(cell, max_size=5), st.integers(0, 1)),
                max_size=5),
       st.integers(0, 5))
def test_fuzz_csv_a_good_row_always_goes_in(tmp_path: Path, bad: list[bytes], at: int) -> None:
    at = min(at, len(bad))
    good = f"good,{GOOD['text']},{WHEN},\n".encode()
    rows = [*bad[:at], good, *bad[at:]]
    got = _read(tmp_path, b"id,text,created_at,metrics\n" + b"".join(rows), "fuzz.csv")
    lines = 1 + sum(_lines(r) for r in rows)
    numbers = [n for n, _ in got]
    assert numbers == sorted(set(numbers)) and all(2 <= n <= lines for n in numbers)
    good_line = 2 + sum(_lines(r) for r in bad[:at])
    assert (good_line, "good") in [(n, p.id) for n, p in got if isinstance(p, Post)]
    for _, item in got:
        if isinstance(item, PostError):
            assert str(item)
        else:
            _storable(item, datetime.now(UTC))
