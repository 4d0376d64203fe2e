"""Twitter15/16 spread cascades (Ma, Gao and Wong, ACL 2017) as posts.

A cascade file holds one cascade a line (``../shared/data/twitter15_16/``): ``root_id``,
``label`` (``true``, ``false``, ``unverified``, ``non-rumor``), ``text`` (the source post),
``source_created_at``, ``root_uid`` and ``events``, a list of
``[delay_minutes, child_uid, parent_uid, child_tweet_id or null]`` sorted by delay.

Each cascade becomes PHEME-format records, so it replays and scores like any labelled
thread: the source post (id ``root_id``, author ``root_uid``), and each event a repost of
the source (the data set records who retweeted, not the text): created at the source's
time plus the event's delay, author the event's user, id its tweet id or, when the data
has none, ``<root_id>-<n>`` for the event's position ``n`` (stable across runs). The
cascade is the thread (``thread_id`` = ``root_id``) with its label: ``non-rumor`` is a
``non-rumour`` thread, the other labels are rumours of that veracity. Its ``event`` is
the cascade's ``dataset`` (``twitter15``), else the file's name.

``max_minutes`` and ``max_events`` cap each cascade (events after that many minutes, or
past that many, are left out) for replays that must stay affordable.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Generator, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from tracker.errors import InputError, PostError
from tracker.ingest.records import parse_time
from tracker.models import iso

__all__ = ["cascade_records", "is_cascade", "numbered_lines", "open_text", "read_cascades"]


def is_cascade(record: Mapping[str, Any]) -> bool:
    """Whether a JSON object is a cascade (``root_id`` and a list of ``events``)."""
    return "root_id" in record and isinstance(record.get("events"), list)


def cascade_records(
    cascade: Mapping[str, Any],
    *,
    event: str = "",
    max_minutes: float | None = None,
    max_events: int | None = None,
) -> list[dict[str, Any]]:
    """The source post and its reposts as PHEME-format records (see the module doc).
    Raises :class:`PostError` when the cascade lacks what a post needs."""
    if not is_cascade(cascade):
        raise PostError("a cascade needs root_id and a list of events")
    root = str(cascade["root_id"])
    start = parse_time(cascade.get("source_created_at"), "source_created_at")
    raw_label = str(cascade.get("label") or "")
    if raw_label in ("non-rumor", "non-rumour"):
        kind, veracity = "non-rumour", None
    elif raw_label in ("true", "false", "unverified"):
        kind, veracity = "rumour", raw_label
    else:
        raise PostError(f"cascade {root}: label must be true, false, unverified or "
                        f"non-rumor, got {raw_label!r}")
    name = event or str(cascade.get("dataset") or "cascades")
    common = {"thread_id": root, "event": name, "source": "x",
              "rumour_label": kind, "veracity": veracity}
    author = cascade.get("root_uid")
    out: list[dict[str, Any]] = [{
        "id": root, "author": None if author is None else str(author),
        "text": str(cascade.get("text") or ""), "created_at": iso(start, "milliseconds"),
        "is_source": True, **common,
    }]
    seen = {root}
    for n, item in enumerate(cascade["events"]):
        if max_events is not None and n >= max_events:
            break
        if not isinstance(item, list | tuple) or len(item) < 2:
            raise PostError(f"cascade {root}: event {n} is not [delay, uid, parent, id]")
        delay = float(item[0])
        if max_minutes is not None and delay > max_minutes:
            break  # sorted by delay: the rest are later still
        tweet = item[3] if len(item) > 3 else None
        pid = str(tweet) if tweet not in (None, "") else f"{root}-{n}"
        if pid in seen:
            continue  # the source itself, or an event listed twice
        seen.add(pid)
        out.append({
            "id": pid, "author": str(item[1]), "text": "", "repost_of": root,
            "created_at": iso(start + timedelta(minutes=delay), "milliseconds"),
            "is_source": False,
            **common,
        })
    return out


def open_text(path: Path) -> IO[str]:
    """A text file, gunzipped when its name ends in ``.gz``; :class:`InputError` naming
    the file when it cannot be read."""
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rt", encoding="utf-8")
        return path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None


def numbered_lines(path: Path) -> Generator[tuple[int, str], None, None]:
    """The non-blank lines of a text file (see :func:`open_text`), numbered from 1;
    :class:`InputError` naming the file when it cannot be opened or read."""
    with open_text(path) as stream:
        try:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} cannot be read: {exc}") from None


def read_cascades(
    path: Path, *, max_minutes: float | None = None, max_events: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every record of every cascade in a cascade file (``.jsonl`` or ``.jsonl.gz``)."""
    stem = path.name.split(".")[0]
    for number, line in numbered_lines(path):
        try:
            value = json.loads(line)
            yield from cascade_records(
                value, event=str(value.get("dataset") or stem),
                max_minutes=max_minutes, max_events=max_events,
            )
        except (json.JSONDecodeError, AttributeError, PostError, ValueError) as exc:
            raise InputError(f"{path} line {number}: not a cascade: {exc}") from None
