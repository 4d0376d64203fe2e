"""The post format: one JSON object (or CSV row) in, one :class:`Post` out.

Required: ``id``, ``text`` (may be empty for a repost), ``created_at`` (ISO 8601 with an
offset or ``Z``). Optional: ``source``, ``author``, ``tier``, ``url``, ``lang``,
``repost_of``, ``reply_to``, ``metrics``. Unknown fields are kept in ``Post.extra``.

Common dataset spellings are understood too: ``author_handle`` for ``author``;
``in_reply_to``, or a ``thread_id`` other than the post's own id, for ``reply_to``; and
top-level ``followers``, ``retweet_count``/``reposts``, ``favorite_count``/``likes`` for
the metrics.

Every field is checked here and only here, for files and pushed posts alike: whatever a
record holds, :func:`parse_post` returns a post the store can write or raises
:class:`PostError` naming the field and the problem. Strings must be valid Unicode (no
lone surrogates: rejected, not repaired) and within :data:`LIMITS`; ids are not blank;
numbers have at most :data:`MAX_INT_DIGITS` digits, metrics fit in 64 bits; unknown
fields nest at most :data:`MAX_DEPTH` deep; ``created_at`` converts to UTC and is at most
:data:`MAX_AHEAD` after now.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.errors import PostError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier

__all__ = ["KNOWN_FIELDS", "LIMITS", "MAX_AHEAD", "MAX_DEPTH", "MAX_INT_DIGITS", "load_json",
           "load_record", "parse_post", "parse_time"]

KNOWN_FIELDS = frozenset(
    {"id", "source", "author", "tier", "text", "created_at", "url", "lang", "repost_of",
     "reply_to", "metrics"}
)
_METRIC_ALIASES = {
    "followers": "followers",
    "retweet_count": "reposts",
    "reposts": "reposts",
    "favorite_count": "likes",
    "likes": "likes",
}
LIMITS: Mapping[str, int] = {
    "id": 256, "source": 64, "author": 256, "author_handle": 256, "tier": 32, "url": 2048,
    "lang": 35, "repost_of": 256, "reply_to": 256, "in_reply_to": 256, "thread_id": 256,
    "created_at": 64, "metrics key": 64,
}
"""Most characters a one-line field may hold (``text`` has ``[ingest] max_text_chars``)."""
MAX_AHEAD = timedelta(days=1)
"""How far after now a ``created_at`` may be (clocks drift; a year ahead is a bad clock)."""
MAX_DEPTH = 32
"""How deep the value of an unknown field may nest (lists and objects)."""
MAX_INT_DIGITS = 1000
"""Most digits of an integer in an unknown field (Python cannot print more than 4,300)."""
_MAX_INT_BITS = 3321  # 2**3321 < 10**1000
_MAX_METRIC = 2**63 - 1  # SQLite's json_extract reads metrics as 64-bit integers
_IDS = frozenset({"id", "repost_of", "reply_to", "in_reply_to", "thread_id"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def load_json(text: str) -> Any:
    """``json.loads``, with every way it fails as :class:`PostError`: not JSON, a number
    of more than 4,300 digits (Python's int-to-str limit), nesting too deep to read."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PostError(f"bad JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise PostError("bad JSON: nested too deep to read") from None
    except ValueError:  # int("9" * 5000)
        raise PostError("bad JSON: a number of more than 4,300 digits") from None


def load_record(raw: bytes | str) -> dict[str, Any]:
    """One JSON object (a JSON Lines line, or a pushed line) as a dict. Raises
    :class:`PostError` for bytes that are not UTF-8, text :func:`load_json` refuses, or
    JSON that is not an object."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PostError(f"not valid UTF-8 at byte {exc.start}") from None
    value = load_json(raw)
    if not isinstance(value, dict):
        raise PostError(f"a post must be a JSON object, got {type(value).__name__}")
    return value


def _show(value: Any) -> str:
    """``repr`` of a value for a message, cut to 60 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "a number of more than 60 digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a huge number inside, or nested too deep
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _check_str(field: str, value: str, limit: int | None, *, one_line: bool = True) -> str:
    """``value`` if it is valid Unicode, within ``limit`` characters and (``one_line``)
    free of control characters; else :class:`PostError` naming ``field``."""
    if limit is not None and len(value) > limit:
        raise PostError(f"{field} is {len(value)} characters, over the limit of {limit}")
    # fast ways past the searches: ASCII holds no surrogate; a printable string no
    # control character
    bad = None if value.isascii() else _SURROGATE.search(value)
    if bad is not None:
        raise PostError(
            f"{field} holds a lone surrogate (U+{ord(bad.group()):04X}) at character "
            f"{bad.start()}: not valid Unicode"
        )
    if one_line and not value.isprintable():
        bad = _CONTROL.search(value)
        if bad is not None:
            raise PostError(f"{field} holds a control character (U+{ord(bad.group()):04X})"
                            f" at character {bad.start()}")
    return value


def parse_time(value: Any, field: str = "created_at") -> datetime:
    """ISO 8601 with an offset (``Z`` allowed) to an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise PostError(f"{field} must be an ISO 8601 time string, got {_show(value)}")
    if len(value) > LIMITS["created_at"]:
        raise PostError(f"{field} is not an ISO 8601 time: {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PostError(f"{field} is not an ISO 8601 time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise PostError(f"{field} has no UTC offset: {_show(value)} (add Z or +00:00)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PostError(f"{field} is out of range once in UTC: {_show(value)}") from None


def _opt_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if (  # at a glance, what the checks below let through unchanged
        type(value) is str and len(value) <= LIMITS[key] and value.isascii()
        and value.isprintable() and (key not in _IDS or not value.isspace())
    ):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PostError(f"{key} must be a string, got {type(value).__name__}")
    limit = LIMITS[key]
    if isinstance(value, int):
        if value.bit_length() > 4 * limit:  # over 1.2 * limit digits: not worth printing
            raise PostError(f"{key} is a number of more than {limit} digits")
        value = str(value)
    if key in _IDS and not value.strip():
        raise PostError(f"{key} is blank: {_show(value)}")
    return _check_str(key, value, limit)


def _metric(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 19:
        value = int(value)  # decimal digits of any script; not superscripts
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_METRIC:
        raise PostError(
            f"{name} must be a non-negative integer under 2**63, got {_show(value)}"
        )
    return value


def _metrics(record: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for alias, name in _METRIC_ALIASES.items():
        value = record.get(alias)
        if isinstance(value, int) and not isinstance(value, bool):
            out.setdefault(name, _metric(alias, value))
    given = record.get("metrics")
    if given is None or given == "":
        return out
    if not isinstance(given, Mapping):
        raise PostError(f"metrics must be an object, got {type(given).__name__}")
    for key, value in given.items():
        if not isinstance(key, str):
            raise PostError(f"metrics keys must be strings, got {_show(key)}")
        _check_str(f"metrics key {_show(key)}", key, LIMITS["metrics key"])
        out[key] = _metric(f"metrics.{key}", value)
    return out


def _check_extra(name: str, value: Any) -> None:
    """An unknown field's value, walked without recursion: strings valid Unicode, numbers
    printable, keys strings, at most :data:`MAX_DEPTH` deep."""
    _check_str("field name", name, None, one_line=False)
    if isinstance(value, str):  # most values are plain: no walk
        _check_str(name, value, None, one_line=False)
        return
    if value is None or isinstance(value, bool | float):
        return
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, str):
            _check_str(name, item, None, one_line=False)
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                raise PostError(f"{name} holds a number of more than {MAX_INT_DIGITS} digits")
        elif isinstance(item, list | tuple | Mapping):
            if depth >= MAX_DEPTH:
                raise PostError(f"{name} is nested too deep (over {MAX_DEPTH} levels)")
            if isinstance(item, Mapping):
                for key in item:
                    if not isinstance(key, str):
                        raise PostError(f"{name} has a key that is not a string: {_show(key)}")
                    _check_str(name, key, None, one_line=False)
                todo.extend((v, depth + 1) for v in item.values())
            else:
                todo.extend((v, depth + 1) for v in item)
        else:
            raise PostError(f"{name} holds a {type(item).__name__}, not a JSON value")


def _reply_to(record: Mapping[str, Any], post_id: str) -> str | None:
    """``reply_to``; else PHEME's ``in_reply_to``; else the ``thread_id`` of a post that is
    not the thread's source (a reply somewhere in that conversation)."""
    for key in ("reply_to", "in_reply_to"):
        value = _opt_str(record, key)
        if value is not None:
            return value
    thread = _opt_str(record, "thread_id")
    return thread if thread is not None and thread != post_id else None


def parse_post(
    record: Mapping[str, Any], *, default_source: str, max_text_chars: int,
    now: datetime | None = None,
) -> Post:
    """Validate and normalize one record. Raises :class:`PostError` naming the problem
    (and nothing else, whatever the record holds). ``now`` (aware; default the wall
    clock) bounds ``created_at``: at most :data:`MAX_AHEAD` later."""
    if not isinstance(record, Mapping):
        raise PostError(f"a post must be a JSON object, got {type(record).__name__}")
    post_id = _opt_str(record, "id")
    if post_id is None:
        raise PostError("missing id")
    if "created_at" not in record or record["created_at"] in (None, ""):
        raise PostError("missing created_at")
    created_at = parse_time(record["created_at"])
    now = now or datetime.now(UTC)
    if created_at > now + MAX_AHEAD:
        raise PostError(
            f"created_at {created_at:%Y-%m-%dT%H:%M:%SZ} is in the future (more than "
            f"{MAX_AHEAD.total_seconds() / 3600:g} hours after now, "
            f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}): the clock that wrote it is wrong"
        )
    raw_text = record.get("text")
    if raw_text is None:
        raw_text = ""
    if not isinstance(raw_text, str):
        raise PostError(f"text must be a string, got {type(raw_text).__name__}")
    _check_str("text", raw_text, max_text_chars, one_line=False)
    text = normalize_text(raw_text)
    repost_of = _opt_str(record, "repost_of")
    if not text and repost_of is None:
        raise PostError("text is empty and the post is not a repost (repost_of)")
    tier_value = _opt_str(record, "tier")
    tier: Tier | None = None
    if tier_value is not None:
        try:
            tier = Tier(tier_value.lower())
        except ValueError:
            choices = ", ".join(t.value for t in Tier)
            raise PostError(f"tier must be one of {choices}, got {_show(tier_value)}") from None
    author = _opt_str(record, "author") or _opt_str(record, "author_handle")
    extra = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
    for name, value in extra.items():
        if not isinstance(name, str):
            raise PostError(f"field names must be strings, got {_show(name)}")
        kind = type(value)
        if name.isascii() and (
            value is None or kind is bool or kind is float
            or (kind is str and value.isascii())
            or (kind is int and value.bit_length() <= _MAX_INT_BITS)
        ):
            continue  # what _check_extra lets pass, seen at a glance
        _check_extra(name, value)
    return Post(
        source=_opt_str(record, "source") or default_source,
        id=post_id,
        text=text,
        created_at=created_at,
        author=author,
        tier=tier,
        url=_opt_str(record, "url"),
        lang=_opt_str(record, "lang"),
        repost_of=repost_of,
        reply_to=_reply_to(record, post_id),
        metrics=_metrics(record),
        extra=extra,
    )
