"""Post files: JSON Lines (one post object a line) and CSV (a header row of the same
field names). ``-`` reads standard input.

Each record comes out numbered by its line in the file, as a dict or as the
:class:`PostError` that says why the line cannot be a post.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal

from tracker.errors import InputError, PostError
from tracker.ingest.records import load_json, load_record, parse_post
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
            yield number, load_record(raw)
        except PostError as exc:
            yield number, exc


class _Lines:
    """The lines of a CSV text, counted, and kept since :meth:`start` (the current row's)."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.number = 0
        self.kept: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            raise StopIteration
        self.number += 1
        self.kept.append(line)
        return line

    def start(self) -> None:
        self.kept.clear()


_IN_QUOTES = re.compile(r'[^"]*(?:""[^"]*)*')
_UNQUOTED = re.compile(r"[^,\r\n]*")
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte not UTF-8


def _ends_quoted(text: str, quoted: bool = False) -> bool:
    """Whether CSV ``text`` (the default dialect: ``,`` and ``"`` doubled inside quotes)
    ends inside a quoted field, given whether it starts inside one."""
    pos, end = 0, len(text)
    while pos < end or quoted:
        if quoted:
            match = _IN_QUOTES.match(text, pos)
            assert match is not None  # the pattern matches the empty string
            pos = match.end()
            if pos >= end:
                return True
            pos, quoted = pos + 1, False  # the closing quote; the field goes on unquoted
        elif text[pos] == '"':
            pos, quoted = pos + 1, True
            continue
        match = _UNQUOTED.match(text, pos)
        assert match is not None
        pos = match.end() + 1  # past the comma or line end: a field starts
    return False


def _skip_row(lines: _Lines) -> None:
    """After a row the CSV reader refused: read on to that row's end (the reader starts
    afresh on the next line, which may still be inside a quoted field)."""
    quoted = _ends_quoted("".join(lines.kept))
    while quoted:
        line = next(lines, None)
        if line is None:
            return
        quoted = _ends_quoted(line, quoted=True)


def _csv_records(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | PostError]]:
    """Rows as records, numbered by their first line. A row that is not UTF-8 or that the
    CSV reader refuses (a field over ``csv.field_size_limit()``) is one rejected row."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape",
                            newline="")
    lines = _Lines(text)
    reader = csv.reader(lines)
    try:
        header: list[str] = []
        while not header:
            try:
                header = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(
                    f"CSV header (line {lines.number}) cannot be read: {exc}"
                ) from None
        if any(_BAD_BYTE.search(name) for name in header):
            raise InputError(f"CSV header (line {lines.number}) is not valid UTF-8")
        while True:
            lines.start()
            start = lines.number + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                _skip_row(lines)
                yield start, PostError(f"not a CSV row: {exc}")
                continue
            if not row:
                continue
            if len(row) > len(header):
                yield start, PostError("more fields than the header names")
                continue
            bad = next(((name, m) for name, cell in zip(header, row, strict=False)
                        if (m := _BAD_BYTE.search(cell))), None)
            if bad is not None:
                name, match = bad
                yield start, PostError(
                    f"not valid UTF-8: byte 0x{ord(match.group()) - 0xDC00:02x} in {name}"
                )
                continue
            record: dict[str, Any] = {k: v for k, v in zip(header, row, strict=False) if v}
            metrics = record.get("metrics")
            if isinstance(metrics, str):
                try:
                    record["metrics"] = load_json(metrics)
                except PostError as exc:
                    yield start, PostError(f"metrics column is not a JSON object: {exc}")
                    continue
            yield start, record
    finally:
        text.detach()
