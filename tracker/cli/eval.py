"""``claimwatch eval``: measure claimwatch on public data. Thin: parse, call
:mod:`tracker.evaluation.checkthat`, print.

Registered in :mod:`tracker.cli.app` with ``app.add_typer(eval_app, name="eval")``. Failures
are raised as :class:`tracker.errors.ClaimwatchError`; the CLI's ``main`` turns them into a
message and an exit code.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tracker.cli.common import ConfigOpt, JsonOpt, interactive, progress, settings_of
from tracker.errors import InputError
from tracker.evaluation.checkthat import RetrievalReport, evaluate_retrieval, load_checkthat
from tracker.evaluation.scoring import (
    LABELS,
    RUMOURS,
    WANTED,
    EventScore,
    LabelledEvent,
    combine,
    event_files,
    read_events,
    replay_event,
    score_event,
    thread_labels,
    with_background,
)
from tracker.runtime import shared_embedder
from tracker.search.retrieval import DEFAULT_METHOD, METHODS, Method

__all__ = ["DEFAULT_DATA", "eval_app", "render_events", "render_labels", "render_report"]

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
    settings = settings_of(config)
    dataset = load_checkthat(data.expanduser().resolve(), split.value)
    methods: tuple[Method, ...] = METHODS if method is MethodChoice.all else tuple(
        m for m in METHODS if m == method.value
    )
    embedder = None if methods == ("bm25",) else shared_embedder(settings.embedding)
    with progress(f"encode {split.value}") as tick:
        report = evaluate_retrieval(dataset, embedder, methods, progress=tick)
    console = Console(highlight=False, soft_wrap=True)
    if json_out:
        console.print(json.dumps(report.as_dict()), markup=False)
        return
    console.print(render_report(report))
    console.print(f"ranked in {report.seconds:.1f} s", markup=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _row(score: EventScore) -> list[str]:
    threads = "/".join(str(score.threads(name)) for name in LABELS)
    return [
        score.event, str(score.posts), threads,
        f"{score.covered(RUMOURS)} ({_pct(score.share(RUMOURS))})",
        f"{score.covered_by_speculation(RUMOURS)}/{score.covered_by_conflict(RUMOURS)}",
        f"{score.covered(WANTED)} ({_pct(score.share(WANTED))})",
        f"{score.covered(('non-rumour',))} ({_pct(score.share(('non-rumour',)))})",
        _num(score.median_lead_before_denial),
        f"{score.alerted_before_denial}/{score.with_denial}",
        f"{score.alerts_per_day:.1f}", _pct(score.alert_precision),
    ]


def render_events(scores: list[EventScore], total: EventScore) -> Table:
    """One row per event and a total row (the measures: :mod:`tracker.evaluation.scoring`)."""
    table = Table(
        title=f"alerts against labelled threads: {len(scores)} events, threads of at "
        f"least {total.min_posts} posts",
        caption="threads f/u/t/n: false, unverified, true, non-rumour; covered: an alert's "
        "narrative (a conflict alert: one of its sides) held a post of the thread; "
        "spec/conflict: rumour threads covered by speculation and by conflict alerts "
        "(together: rumours covered); lead: median minutes from the first alert to "
        "the first denial; before/denied: covered threads with a denial alerted before it; "
        "precision: raised alerts mostly on rumour threads",
    )
    for name in ("event", "posts", "threads f/u/t/n", "rumours covered", "spec/conflict",
                 "false+unverified covered", "non-rumour covered", "lead before denial",
                 "before/denied", "alerts/day", "alert precision"):
        table.add_column(name, justify="left" if name == "event" else "right")
    for score in scores:
        table.add_row(*_row(score))
    if len(scores) > 1:
        table.add_section()
        table.add_row(*_row(total), style="bold")
    return table


def render_labels(score: EventScore) -> Table:
    """Per label: threads, alerted, share and median minutes from first post to alert."""
    table = Table(title=f"by label, {score.event}")
    for name in ("threads", "count", "alerted", "share", "median minutes to alert"):
        table.add_column(name, justify="left" if name == "threads" else "right")
    for name in LABELS:
        s = score.label_score(name)
        table.add_row(s.label, str(s.threads), str(s.alerted), f"{s.share:.1%}",
                      _num(s.median_minutes))
    return table


@eval_app.command("replay")
def replay_eval(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Labelled files or folders: PHEME-format JSON Lines of posts (.jsonl, "
            ".jsonl.gz; one event per `event` value), or Twitter15/16 cascade files "
            "(recognised by their records: root_id and events). A folder stands for its "
            ".jsonl and .jsonl.gz files.", show_default=False,
        ),
    ],
    incident: Annotated[
        str | None, typer.Option(help="Replay every event under this configured incident.")
    ] = None,
    min_posts: Annotated[
        int, typer.Option("--min-posts", min=1, help="Count only threads of at least this "
                          "many posts.")
    ] = 20,
    cascade_hours: Annotated[
        float | None, typer.Option(
            "--cascade-hours", min=0,
            help="Cascades: keep only reposts within this many hours of the source.",
        ),
    ] = None,
    cascade_events: Annotated[
        int | None, typer.Option(
            "--cascade-events", min=0, help="Cascades: keep only the first N reposts of each.",
        ),
    ] = None,
    background: Annotated[
        list[Path] | None, typer.Option(
            "--background", show_default=False,
            help="Files or folders of PHEME-format posts merged into the event of the same "
            "name before it replays (posts it holds already are skipped): e.g. PHEME's "
            "source tweets (pheme/sources), the newsroom reporting and non-rumour sources "
            "around RumourEval's rumour-only reply threads. Repeatable.",
        ),
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay labelled events and score their alerts against the threads' labels.

    Each event (a file, or each `event` value inside one) is replayed on its own, in a
    fresh scratch database: under the configured incidents when one covers its first
    post, else under an incident of its own (its name; from its first post to its last;
    every post matches). Per event, over threads of at least --min-posts posts: threads by
    label; rumour threads covered (all veracities), false+unverified covered, non-rumour
    covered; the median lead of the first alert before the thread's first denial (stance
    labels) and how many covered threads with a denial alerted before it; raised alerts
    per day of event time; alert precision (raised alerts whose narrative was mostly
    rumour-thread posts). A total row pools the events; a second table gives, per label,
    the share alerted and the median minutes to the first alert."""
    settings = settings_of(config)
    events: list[LabelledEvent] = []
    names: set[str] = set()
    cap = None if cascade_hours is None else cascade_hours * 60
    for path in event_files(paths):
        for event in read_events(path, cascade_minutes=cap, cascade_events=cascade_events):
            if event.name in names:  # the same event from another file
                event.name = f"{path.parent.name}/{event.name}"
            names.add(event.name)
            events.append(event)
    if background:
        around = [e for path in event_files(background) for e in read_events(path)]
        events = with_background(events, around)
    labelled = [(e, thread_labels(e.dicts())) for e in events]
    for event, threads in labelled:
        if not threads:
            raise InputError(
                f"{event.file}: event {event.name!r} has no labelled threads: records need "
                "thread_id and rumour_label (PHEME format)"
            )
    embedder = shared_embedder(settings.embedding)
    scores: list[EventScore] = []
    rejected = 0
    with progress("replay events") as tick:
        for n, (event, threads) in enumerate(labelled):
            report = asyncio.run(
                replay_event(settings, event, incident=incident, embedder=embedder)
            )
            rejected += report.rejected
            score = score_event(report, threads, event=event.name, min_posts=min_posts,
                                files=[event.file])
            score.extra["rejected"] = report.rejected
            scores.append(score)
            if tick is not None:
                tick(n + 1, len(labelled))
    total = combine("total", scores)
    total.extra["rejected"] = rejected
    console = Console(highlight=False, soft_wrap=True,
                      width=None if interactive() else 200)
    summary = total.replay_score()
    if json_out:
        console.print(json.dumps({
            "file": str(paths[0]) if len(paths) == 1 else None,
            "posts": total.posts, "incidents": list(total.incidents), **summary.as_dict(),
            "files": list(total.files), "min_posts": min_posts,
            "background": [str(p) for p in event_files(background or [])],
            "events": [s.as_dict() for s in scores], "total": total.as_dict(),
        }), markup=False)
        return
    console.print(render_events(scores, total))
    console.print(render_labels(total))
    lead = "-" if summary.median_lead is None else f"{summary.median_lead:g} minutes"
    console.print(
        f"false+unverified rumours: precision {summary.precision:.1%}, recall "
        f"{summary.recall:.1%}; non-rumour threads alerted {summary.non_rumour_share:.1%}; "
        f"median lead {lead}; {total.alert_events} alert events, {total.posts} posts"
        + (f", {rejected} lines rejected" if rejected else ""),
        markup=False,
    )
