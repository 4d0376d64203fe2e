"""Post files: JSON Lines (one post object a line) and CSV (a header row of the same
field names). ``-`` reads standard input.

Each record comes out numbered by its line in the file, as a dict or as the
:class:`PostError` that says why the line cannot be a post.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal

from tracker.errors import InputError, PostError
from tracker.ingest.records import parse_post
from tracker.models import Post

__all__ = ["FileFormat", "PostFile", "detect_format"]

FileFormat = Literal["jsonl", "csv"]


def detect_format(name: str) -> FileFormat:
    """CSV for ``.csv`` (also ``.csv.gz`` is not supported), JSON Lines otherwise."""
    return "csv" if name.lower().endswith(".csv") else "jsonl"


class PostFile:
    """A JSONL or CSV file of posts (or standard input, as ``-``)."""

    def __init__(self, name: str, fmt: FileFormat | None = None) -> None:
        self.name = name
        self.format: FileFormat = fmt or detect_format(name)
        self._stream: IO[bytes] | None = None

    @property
    def size(self) -> int | None:
        """Bytes in the file, when it is a regular file."""
        if self.name == "-":
            return None
        try:
            return Path(self.name).stat().st_size
        except OSError:
            return None

    def open(self) -> None:
        """Open the file; :class:`InputError` when it cannot be read at all."""
        if self.name == "-":
            self._stream = sys.stdin.buffer
            return
        path = Path(self.name)
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a post file")
        try:
            self._stream = path.open("rb")
        except FileNotFoundError:
            raise InputError(f"{path} does not exist") from None
        except OSError as exc:
            raise InputError(f"{path} cannot be read: {exc.strerror}") from None

    def close(self) -> None:
        if self._stream is not None and self.name != "-":
            self._stream.close()
        self._stream = None

    @property
    def position(self) -> int:
        """Bytes read so far (0 for standard input)."""
        if self._stream is None or self.name == "-":
            return 0
        try:
            return self._stream.tell()
        except OSError:
            return 0

    def records(self) -> Iterator[tuple[int, dict[str, Any] | PostError]]:
        if self._stream is None:
            self.open()
        assert self._stream is not None
        if self.format == "csv":
            yield from _csv_records(self._stream)
        else:
            yield from _jsonl_records(self._stream)

    def posts(
        self, *, default_source: str, max_text_chars: int
    ) -> Iterator[tuple[int, Post | PostError]]:
        """Numbered posts, or the error that rejected each bad line."""
        for line, record in self.records():
            if isinstance(record, PostError):
                yield line, record
                continue
            try:
                yield line, parse_post(
                    record, default_source=default_source, max_text_chars=max_text_chars
                )
            except PostError as exc:
                yield line, exc

    async def aposts(
        self, *, default_source: str, max_text_chars: int, chunk: int = 512
    ) -> AsyncIterator[tuple[int, Post | PostError]]:
        """:meth:`posts`, read and parsed off the event loop in chunks."""
        it = self.posts(default_source=default_source, max_text_chars=max_text_chars)
        while True:
            part = await asyncio.to_thread(lambda: list(islice(it, chunk)))
            if not part:
                return
            for item in part:
                yield item


def _jsonl_records(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | PostError]]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, PostError(f"not valid UTF-8 at byte {exc.start}")
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, PostError(f"bad JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield number, PostError(f"a post must be a JSON object, got {type(value).__name__}")
            continue
        yield number, value


def _csv_records(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | PostError]]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    reader = csv.DictReader(text)
    line = 1
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if None in row:
                yield start, PostError("more fields than the header names")
                continue
            record: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
            metrics = record.get("metrics")
            if isinstance(metrics, str):
                try:
                    record["metrics"] = json.loads(metrics)
                except json.JSONDecodeError:
                    yield start, PostError("metrics column is not a JSON object")
                    continue
            yield start, record
    except UnicodeDecodeError as exc:
        raise InputError(f"CSV is not valid UTF-8 after line {line}: {exc.reason}") from None
    except csv.Error as exc:
        raise InputError(f"CSV cannot be read after line {line}: {exc}") from None
    finally:
        text.detach()
