"""What every part of the command line shares: the consoles, the ``--config`` and
``--json`` options, and opening a post file. Its own module so that :mod:`tracker.cli.app`
and the verb modules it registers can all import it without importing each other."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tracker.claims.lexicon import actors_from, lexicon_from
from tracker.config.settings import Settings, load_settings
from tracker.errors import PostError
from tracker.ingest.files import PostFile
from tracker.ingest.records import parse_time
from tracker.pipeline import Rejected

__all__ = [
    "ROOT_CONFIG", "ConfigOpt", "JsonOpt", "err", "interactive", "open_post_file",
    "option_time", "out", "paged", "print_json", "print_reject", "progress", "settings_of",
]

# Piped output is not squeezed into 80 columns: tables stay readable in files and pagers.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ROOT_CONFIG = "claimwatch.config"  # ctx.meta key: the --config given before the verb


def _config_or_root(ctx: typer.Context, value: Path | None) -> Path | None:
    """A verb's ``--config``, else the one given before the verb (``claimwatch --config
    c.toml ingest f.jsonl``: the root callback keeps it in ``ctx.meta``, shared by every
    context of the command line)."""
    if value is not None:
        return value
    given = ctx.meta.get(ROOT_CONFIG)
    return given if isinstance(given, Path) else None


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", callback=_config_or_root,
                 help="Settings file (default ./claimwatch.toml if present)."),
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


def settings_of(config: Path | None) -> Settings:
    """The settings the ``--config`` option names (or the defaults), with the word lists
    and actors checked now, not at first use (a running daemon may answer the command)."""
    settings = load_settings(config)
    lexicon_from(settings)
    actors_from(settings)
    return settings


def interactive() -> bool:
    """Both output streams are a terminal: progress bars and wide tables are welcome."""
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr on a terminal; a tick that does nothing when piped."""
    if not interactive():

        def quiet(done: int, total: int | None = None) -> None:
            return None

        yield quiet
        return
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err, transient=True,
    )
    task = bar.add_task(label, total=total)

    def tick(done: int, total: int | None = None) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield tick


def paged(*renderables: RenderableType) -> None:
    """Print ``renderables`` on standard output, through a pager (``$PAGER``, else
    ``less``) when standard output is a terminal and they are taller than it; plainly
    when piped or when they fit. Colours stay when the pager is ``less -R`` (``LESS`` is
    set to ``-FRX`` when unset, as git does)."""
    if not out.is_terminal:
        out.print(*renderables)
        return
    lines = sum(len(out.render_lines(r, out.options, pad=False)) for r in renderables)
    if lines <= out.size.height - 1:  # room for the prompt
        out.print(*renderables)
        return
    pager = os.environ.get("PAGER", "")
    if not pager:
        os.environ.setdefault("LESS", "-FRX")
    styles = not pager and "R" in os.environ.get("LESS", "").upper()
    with out.pager(styles=styles):
        out.print(*renderables)


def print_json(value: object) -> None:
    """One JSON document on standard output, as written."""
    out.print(json.dumps(value, ensure_ascii=False), markup=False)


def option_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time given to ``option``, or None when not given."""
    if value is None:
        return None
    try:
        return parse_time(value, option)
    except PostError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
