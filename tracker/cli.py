"""The ``claimwatch`` command line. Thin: parse, call the library, print.

This is the one place where :class:`ClaimwatchError` becomes a message and an exit code:
2 for bad settings or usage, 1 for anything else that failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tracker.config import Settings, load_settings
from tracker.errors import ClaimwatchError
from tracker.models import QueryHit
from tracker.pipeline import IngestReport, Rejected
from tracker.runtime import Runtime
from tracker.sources.files import PostFile

__all__ = ["app", "main"]

app = typer.Typer(
    name="claimwatch",
    help="Watch speculative claims spread after an incident, against verified reporting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="The FAISS index of claim vectors.", no_args_is_help=True)
app.add_typer(index_app, name="index")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (default ./claimwatch.toml if present)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _settings(config: Path | None) -> Settings:
    return load_settings(config)


def _interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal; nothing when output is piped."""
    if not _interactive():

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


@app.command()
def ingest(
    file: Annotated[
        str, typer.Argument(help="A JSONL or CSV file of posts; - for standard input.")
    ],
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the file name).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Source name for posts that carry none.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Stop at the first rejected line and exit 1.")
    ] = False,
) -> None:
    """Store the posts of a file, extract their claims and index them."""
    settings = _settings(config)
    if fmt not in (None, "jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")
    post_file = PostFile(file, fmt)  # type: ignore[arg-type]
    post_file.open()

    def on_reject(rejected: Rejected) -> None:
        if not json_out:
            err.print(f"line {rejected.line}: rejected: {rejected.reason}", markup=False)

    size = post_file.size
    with Runtime(settings) as runtime, _progress(f"ingest {file}", size) as tick:
        pipeline = runtime.pipeline()

        def on_batch(report: IngestReport) -> None:
            tick(post_file.position, size)

        items = post_file.aposts(
            default_source=source or settings.ingest.default_source,
            max_text_chars=settings.ingest.max_text_chars,
        )
        try:
            report = asyncio.run(
                pipeline.ingest(
                    items, settings.ingest.batch_posts, on_reject=on_reject,
                    on_batch=on_batch, stop_on_reject=strict,
                )
            )
        finally:
            post_file.close()
    if json_out:
        out.print(json.dumps(report.as_dict()), markup=False)
    else:
        out.print(
            f"read {report.read}, stored {report.stored}, duplicates {report.duplicates}, "
            f"rejected {report.rejected}; claims {report.claims} "
            f"(embedded {report.embedded}, reused {report.reused})",
            markup=False,
        )
    if strict and report.rejected:
        raise typer.Exit(1)


def _hit_json(hit: QueryHit) -> dict[str, Any]:
    return {
        "claim_id": hit.claim_id,
        "post_id": hit.post_id,
        "score": round(hit.score, 4),
        "text": hit.text,
        "author": hit.author,
        "created_at": hit.created_at.isoformat().replace("+00:00", "Z"),
        "source": hit.source,
        "same_text": hit.same_text,
    }


@app.command()
def query(
    text: Annotated[str, typer.Argument(help="The claim to look for.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="How many hits.")] = 10,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The stored claims closest in meaning to TEXT, best first."""
    settings = _settings(config)
    with Runtime(settings) as runtime:
        hits = runtime.query(text, k)
    if json_out:
        out.print(json.dumps([_hit_json(h) for h in hits]), markup=False)
        return
    if not hits:
        out.print("no claims stored yet: run `claimwatch ingest FILE` first")
        return
    table = Table(show_lines=False)
    for column in ("score", "claim", "author", "created_at", "post"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        claim = hit.text + (f"  (+{hit.same_text} identical)" if hit.same_text else "")
        table.add_row(
            f"{hit.score:.3f}", claim, hit.author or "", f"{hit.created_at:%Y-%m-%d %H:%M}Z",
            f"{hit.source}:{hit.post_id}",
        )
    out.print(table)


@index_app.command("rebuild")
def index_rebuild(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Rebuild the index from the vectors in the database."""
    settings = _settings(config)
    with Runtime(settings) as runtime, _progress("rebuild index", None) as tick:
        index = runtime.rebuild_index(lambda done, total: tick(done, total))
        count = len(index)
    if json_out:
        out.print(json.dumps({"vectors": count, "path": str(index.path)}), markup=False)
    else:
        out.print(f"index rebuilt: {count} vectors in {index.path}", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs a command, maps errors to exit codes."""
    command = typer.main.get_command(app)
    try:
        status = command.main(args=argv, prog_name="claimwatch", standalone_mode=False)
        if isinstance(status, int) and status:
            sys.exit(status)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except ClaimwatchError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
