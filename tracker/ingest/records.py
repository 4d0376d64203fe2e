"""The post format: one JSON object (or CSV row) in, one :class:`Post` out.

Required: ``id``, ``text`` (may be empty for a repost), ``created_at`` (ISO 8601 with an
offset or ``Z``). Optional: ``source``, ``author``, ``tier``, ``url``, ``lang``,
``repost_of``, ``reply_to``, ``metrics``. Unknown fields are kept in ``Post.extra``.

Common dataset spellings are understood too: ``author_handle`` for ``author``;
``in_reply_to``, or a ``thread_id`` other than the post's own id, for ``reply_to``; and
top-level ``followers``, ``retweet_count``/``reposts``, ``favorite_count``/``likes`` for
the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tracker.errors import PostError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier

__all__ = ["KNOWN_FIELDS", "parse_post", "parse_time"]

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


def parse_time(value: Any, field: str = "created_at") -> datetime:
    """ISO 8601 with an offset (``Z`` allowed) to an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise PostError(f"{field} must be an ISO 8601 time string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PostError(f"{field} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise PostError(f"{field} has no UTC offset: {value!r} (add Z or +00:00)")
    return parsed.astimezone(UTC)


def _opt_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PostError(f"{key} must be a string, got {type(value).__name__}")
    return str(value)


def _metrics(record: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for alias, name in _METRIC_ALIASES.items():
        value = record.get(alias)
        if isinstance(value, int) and not isinstance(value, bool):
            out.setdefault(name, value)
    given = record.get("metrics")
    if given is None or given == "":
        return out
    if not isinstance(given, Mapping):
        raise PostError(f"metrics must be an object, got {type(given).__name__}")
    for key, value in given.items():
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PostError(f"metrics.{key} must be a non-negative integer, got {value!r}")
        out[str(key)] = value
    return out


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
    record: Mapping[str, Any], *, default_source: str, max_text_chars: int
) -> Post:
    """Validate and normalize one record. Raises :class:`PostError` naming the problem."""
    if not isinstance(record, Mapping):
        raise PostError(f"a post must be a JSON object, got {type(record).__name__}")
    post_id = _opt_str(record, "id")
    if post_id is None:
        raise PostError("missing id")
    if "created_at" not in record or record["created_at"] in (None, ""):
        raise PostError("missing created_at")
    created_at = parse_time(record["created_at"])
    raw_text = record.get("text")
    if raw_text is None:
        raw_text = ""
    if not isinstance(raw_text, str):
        raise PostError(f"text must be a string, got {type(raw_text).__name__}")
    if len(raw_text) > max_text_chars:
        raise PostError(f"text is {len(raw_text)} characters, over the limit of {max_text_chars}")
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
            raise PostError(f"tier must be one of {choices}, got {tier_value!r}") from None
    author = _opt_str(record, "author") or _opt_str(record, "author_handle")
    extra = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
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
