"""What every part of the command line shares: the consoles, the ``--config`` and
``--json`` options, and opening a post file. Its own module so that :mod:`tracker.cli.app`
and the verb modules it registers can all import it without importing each other."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tracker.ingest.files import PostFile
from tracker.pipeline import Rejected

__all__ = ["ConfigOpt", "JsonOpt", "err", "open_post_file", "out", "print_reject"]

# Piped output is not squeezed into 80 columns: tables stay readable in files and pagers.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (default ./claimwatch.toml if present)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def open_post_file(file: str, fmt: str | None) -> PostFile:
    """The post file named on the command line, opened; ``--format`` checked."""
    if fmt not in (None, "jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")
    post_file = PostFile(file, fmt)  # type: ignore[arg-type]
    post_file.open()
    return post_file


def print_reject(json_out: bool) -> Callable[[Rejected], None]:
    """Report each rejected line on stderr (quiet with ``--json``: it is in the output)."""

    def on_reject(rejected: Rejected) -> None:
        if not json_out:
            err.print(f"line {rejected.line}: rejected: {rejected.reason}", markup=False)

    return on_reject
