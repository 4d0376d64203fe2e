"""``claimwatch eval``: measure claimwatch on public data. Thin: parse, call
:mod:`tracker.evaluate`, print.

Registered in :mod:`tracker.cli` with ``app.add_typer(eval_app, name="eval")``. Failures
are raised as :class:`tracker.errors.ClaimwatchError`; the CLI's ``main`` turns them into a
message and an exit code.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tracker.cli_common import ConfigOpt, JsonOpt
from tracker.config import load_settings
from tracker.errors import InputError
from tracker.evaluate import RetrievalReport, evaluate_retrieval, load_checkthat
from tracker.replay import replay, score_replay, thread_labels
from tracker.retrieval import DEFAULT_METHOD, METHODS, Method
from tracker.runtime import shared_embedder
from tracker.sources.files import PostFile

__all__ = ["DEFAULT_DATA", "eval_app", "render_report"]

DEFAULT_DATA = Path("../shared/data/checkthat2020")

eval_app = typer.Typer(no_args_is_help=True)


@eval_app.callback()
def _eval() -> None:
    """Measure claimwatch on public data sets."""


class Split(StrEnum):
    train = "train"
    dev = "dev"
    test = "test"


class MethodChoice(StrEnum):
    dense = "dense"
    bm25 = "bm25"
    fusion = "fusion"
    all = "all"


def _interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when on a terminal; None (quiet) when piped."""
    if not _interactive():
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    )
    task = bar.add_task(label, total=None)

    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield tick


def render_report(report: RetrievalReport) -> Table:
    """Methods as rows, MAP@1, MAP@5, MAP@10 and P@1 as columns; the best one marked."""
    table = Table(
        title=f"claim retrieval, CheckThat! 2020 Task 2 {report.split}: "
        f"{report.queries} tweets, {report.claims} verified claims",
        caption=f"official measure: MAP@5; default for `claimwatch query`: {DEFAULT_METHOD}",
    )
    table.add_column("method")
    for name in ("MAP@1", "MAP@5", "MAP@10", "P@1"):
        table.add_column(name, justify="right")
    best = report.best
    for method, f in report.figures.items():
        label = f"{method} (w={report.weight:g})" if method == "fusion" else method
        table.add_row(
            label + (" *" if method == best and len(report.figures) > 1 else ""),
            f"{f.map_1:.4f}", f"{f.map_5:.4f}", f"{f.map_10:.4f}", f"{f.p_1:.4f}",
        )
    return table


@eval_app.command("retrieval")
def retrieval(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="Folder of verified_claims.jsonl and tweets.jsonl "
            "(relative to the working directory).",
        ),
    ] = DEFAULT_DATA,
    split: Annotated[Split, typer.Option("--split", help="Tweets to rank.")] = Split.dev,
    method: Annotated[
        MethodChoice, typer.Option("--method", help="Ranking to measure; all by default.")
    ] = MethodChoice.all,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Claim retrieval on CLEF 2020 CheckThat! Task 2: MAP@1, MAP@5, MAP@10, P@1.

    Ranks all verified claims for each tweet of the split with dense retrieval (the
    configured model), BM25, and their fusion, and scores the rankings as the official
    scorer does (MAP@5 is the official measure). The best method is starred."""
    settings = load_settings(config)
    dataset = load_checkthat(data.expanduser().resolve(), split.value)
    methods: tuple[Method, ...] = METHODS if method is MethodChoice.all else tuple(
        m for m in METHODS if m == method.value
    )
    embedder = None if methods == ("bm25",) else shared_embedder(settings.embedding)
    with _progress(f"encode {split.value}") as tick:
        report = evaluate_retrieval(dataset, embedder, methods, progress=tick)
    console = Console(highlight=False, soft_wrap=True)
    if json_out:
        console.print(json.dumps(report.as_dict()), markup=False)
        return
    console.print(render_report(report))
    console.print(f"ranked in {report.seconds:.1f} s", markup=False)


def _records(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a PHEME-format JSON Lines file (labels read from them)."""
    out: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                if line.strip():
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # the replay reports bad lines itself
                    if isinstance(value, dict):
                        out.append(value)
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}") from None
    return out


@eval_app.command("replay")
def replay_eval(
    file: Annotated[Path, typer.Argument(help="A PHEME-format JSON Lines file of posts.")],
    incident: Annotated[
        str | None, typer.Option(help="Replay under this incident only.")
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay a labelled event and score its alerts against the threads' labels.

    For each rumour thread (false, unverified, true) and non-rumour thread: was an alert
    raised on a narrative holding its posts, and how many minutes after the thread's
    first post. Then precision and recall of alerts for false and unverified rumours, the
    share of non-rumour threads alerted, and the median lead time."""
    settings = load_settings(config)
    threads = thread_labels(_records(file))
    if not threads:
        raise InputError(
            f"{file} has no labelled threads: records need thread_id and rumour_label "
            "(PHEME format)"
        )
    post_file = PostFile(str(file))
    post_file.open()
    try:
        report = asyncio.run(
            replay(
                settings,
                post_file.aposts(
                    default_source=settings.ingest.default_source,
                    max_text_chars=settings.ingest.max_text_chars,
                ),
                incident=incident, keep_members=True,
            )
        )
    finally:
        post_file.close()
    score = score_replay(report, threads)
    console = Console(highlight=False, soft_wrap=True)
    if json_out:
        console.print(json.dumps({"file": str(file), "posts": report.stored,
                                  "incidents": report.incidents, **score.as_dict()}),
                      markup=False)
        return
    table = Table(
        title=f"alerts against labelled threads: {file.name}, {report.stored} posts, "
        f"{score.alerts} alert events",
    )
    for name in ("threads", "count", "alerted", "share", "median minutes to alert"):
        table.add_column(name, justify="left" if name == "threads" else "right")
    for s in score.by_label:
        minutes = "-" if s.median_minutes is None else f"{s.median_minutes:g}"
        table.add_row(s.label, str(s.threads), str(s.alerted), f"{s.share:.1%}", minutes)
    console.print(table)
    lead = "-" if score.median_lead is None else f"{score.median_lead:g} minutes"
    console.print(
        f"false+unverified rumours: precision {score.precision:.1%}, recall "
        f"{score.recall:.1%}; non-rumour threads alerted {score.non_rumour_share:.1%}; "
        f"median lead {lead}",
        markup=False,
    )
