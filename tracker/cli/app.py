"""The ``claimwatch`` command line. Thin: parse, call the library, print.

This is the one place where :class:`ClaimwatchError` becomes a message and an exit code:
2 for bad settings or usage, 1 for anything else that failed.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.exceptions import TyperException

from tracker.cli.alerts import alerts_app, replay
from tracker.cli.client import daemon_get
from tracker.cli.common import ConfigOpt, JsonOpt, err, open_post_file, out, print_reject
from tracker.cli.eval import eval_app
from tracker.cli.plot import plot
from tracker.cli.run import run as run_command
from tracker.config.settings import Settings, load_settings
from tracker.errors import ClaimwatchError, PostError
from tracker.ingest.records import parse_time
from tracker.models import ClaimKind, FindingStatus, Incident, Status
from tracker.pipeline import IngestReport
from tracker.runtime import Runtime
from tracker.views import (
    finding_json,
    incident_json,
    incidents_json,
    iso,
    narrative_detail_json,
    narrative_json,
    narratives_json,
    query_json,
    sparkline,
)

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
incident_app = typer.Typer(help="Incidents to track.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")
finding_app = typer.Typer(help="What authorities have established.", no_args_is_help=True)
app.add_typer(finding_app, name="finding")
narrative_app = typer.Typer(help="One narrative.", no_args_is_help=True)
app.add_typer(narrative_app, name="narrative")
app.add_typer(alerts_app, name="alerts")
app.add_typer(eval_app, name="eval")
app.command("plot")(plot)
app.command("replay")(replay)
app.command("run")(run_command)



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
    post_file = open_post_file(file, fmt)
    on_reject = print_reject(json_out)
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
        _print_json(report.as_dict())
    else:
        out.print(
            f"read {report.read}, stored {report.stored}, duplicates {report.duplicates}, "
            f"rejected {report.rejected}; claims {report.claims} "
            f"(embedded {report.embedded}, reused {report.reused}); linked to incidents "
            f"{report.linked}, new narratives {report.narratives}",
            markup=False,
        )
    if strict and report.rejected:
        raise typer.Exit(1)


@app.command()
def query(
    text: Annotated[str, typer.Argument(help="The claim to look for.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="How many hits.")] = 10,
    incident: Annotated[
        str | None, typer.Option(help="Only claims in this incident's narratives.")
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The stored claims closest in meaning to TEXT, best first."""
    settings = _settings(config)
    # A running daemon answers without loading the model again; else open the files.
    hits = daemon_get(settings, "/v1/query", {"q": text, "k": k, "incident": incident})
    if hits is None:
        with Runtime(settings) as runtime:
            hits = query_json(runtime.query(text, k, incident))
    if json_out:
        _print_json(hits)
        return
    if not hits:
        out.print("no claims found: ingest posts with `claimwatch ingest FILE` first")
        return
    table = Table(show_lines=False)
    table.add_column("score", no_wrap=True)
    table.add_column("claim", ratio=4, overflow="fold")
    table.add_column("author", ratio=1, overflow="fold")
    table.add_column("created_at", no_wrap=True)
    table.add_column("narrative", ratio=1, overflow="fold")
    for hit in hits:
        claim = hit["text"] + (f"  (+{hit['same_text']} identical)" if hit["same_text"] else "")
        narratives = ", ".join(f"#{n['id']} {n['status']}" for n in hit["narratives"])
        table.add_row(
            f"{hit['score']:.3f}", escape(claim), escape(hit["author"] or ""),
            f"{parse_time(hit['created_at']):%Y-%m-%d %H:%M}Z", narratives or "-",
        )
    out.print(table)


def _print_json(value: object) -> None:
    out.print(json.dumps(value, ensure_ascii=False), markup=False)


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value, option)
    except PostError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


# -- incidents ------------------------------------------------------------------------


@incident_app.command("add")
def incident_add(
    incident_id: Annotated[str, typer.Argument(metavar="ID", help="Short id: nushki-2026-11.")],
    title: Annotated[str, typer.Option(help="What the analyst calls it.")],
    started_at: Annotated[str, typer.Option(help="ISO 8601 time with an offset.")],
    term: Annotated[
        list[str] | None, typer.Option("--term", "-t", help="A term to match (repeat).")
    ] = None,
    description: Annotated[str, typer.Option(help="One or two sentences about it.")] = "",
    location: Annotated[str | None, typer.Option(help="Where it happened.")] = None,
    window_hours: Annotated[float, typer.Option(min=0.1, help="Hours posts are linked.")] = 72.0,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Track an incident; stored posts in its window are linked to it now."""
    settings = _settings(config)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", incident_id):
        raise typer.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="ID")
    started = _time(started_at, "--started-at")
    assert started is not None
    incident = Incident(
        id=incident_id, title=title, started_at=started, description=description,
        terms=tuple(term or ()), location=location, window_hours=window_hours,
    )
    with Runtime(settings) as runtime:
        report = runtime.add_incident(incident)
        counts = runtime.store.incident_counts(incident_id)
    if json_out:
        _print_json({**incident_json(incident), "linked": report.linked, **counts})
    else:
        out.print(
            f"incident {incident_id} saved: {report.linked} stored posts linked, "
            f"{counts['narratives']} narratives",
            markup=False,
        )


@incident_app.command("list")
def incident_list(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Every incident, with how many posts and narratives it has."""
    settings = _settings(config)
    with Runtime(settings) as runtime:
        shown = incidents_json(runtime.store)
        rows = [(i, runtime.store.incident_counts(i.id)) for i in runtime.store.incidents()]
    if json_out:
        _print_json(shown)
        return
    if not rows:
        out.print("no incidents: add one with `claimwatch incident add` or in the config")
        return
    table = Table()
    for column in ("id", "title", "started", "window", "posts", "narratives", "findings"):
        table.add_column(column, overflow="fold")
    for i, c in rows:
        window = "closed" if i.closed_at else f"{i.window_hours:g} h"
        table.add_row(i.id, i.title, f"{i.started_at:%Y-%m-%d %H:%M}Z", window,
                      str(c["posts"]), str(c["narratives"]), str(c["findings"]))
    out.print(table)


@incident_app.command("show")
def incident_show(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """An incident: its terms, window, counts, findings and top narratives."""
    settings = _settings(config)
    with Runtime(settings) as runtime:
        incident = runtime.incident(incident_id)
        counts = runtime.store.incident_counts(incident_id)
        findings = [f for f, _ in runtime.store.findings(incident_id)]
        top = runtime.narratives(incident_id)[:10]
    if json_out:
        _print_json({
            **incident_json(incident), **counts,
            "findings": [finding_json(f) for f in findings],
            "narratives": [narrative_json(n) for n in top],
        })
        return
    out.print(f"[bold]{incident.title}[/bold] ({incident.id})")
    if incident.description:
        out.print(incident.description, markup=False)
    out.print(
        f"window {incident.started_at:%Y-%m-%d %H:%M}Z to {incident.ends_at:%Y-%m-%d %H:%M}Z"
        f"{' (closed)' if incident.closed_at else ''}; terms: {', '.join(incident.terms) or '-'}",
        markup=False,
    )
    out.print(
        f"posts {counts['posts']} ({counts['by_term']} by term, {counts['by_meaning']} by "
        f"meaning or thread), narratives {counts['narratives']}, findings {counts['findings']}",
        markup=False,
    )
    for f in findings:
        who = ", ".join(f.actors) or "-"
        auto = " (automatic)" if f.automatic else ""
        out.print(f"finding #{f.id} {f.status.value} {f.kind.value} [{who}] "
                  f"{f.at:%Y-%m-%d %H:%M}Z{auto}: {f.text}", markup=False)
    if top:
        out.print(_narrative_table(narratives_json(top)))


@incident_app.command("close")
def incident_close(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    at: Annotated[str | None, typer.Option(help="When (ISO 8601); default now.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Stop linking new posts to an incident."""
    settings = _settings(config)
    when = _time(at, "--at") or datetime.now(UTC)
    with Runtime(settings) as runtime:
        runtime.incident(incident_id)
        runtime.store.close_incident(incident_id, when)
    if json_out:
        _print_json({"id": incident_id, "closed_at": iso(when)})
    else:
        out.print(f"incident {incident_id} closed at {iso(when)}", markup=False)


# -- findings -------------------------------------------------------------------------


@finding_app.command("add")
def finding_add(
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT")],
    text: Annotated[str, typer.Argument(help="What the authority established.")],
    kind: Annotated[
        ClaimKind | None, typer.Option(help="Default: read from the text.")
    ] = None,
    actor: Annotated[
        list[str] | None, typer.Option("--actor", help="An actor it names (repeat).")
    ] = None,
    status: Annotated[FindingStatus, typer.Option()] = FindingStatus.CONFIRMED,
    at: Annotated[
        str | None, typer.Option(help="When it was established (ISO 8601); default: the "
                                 "incident's latest post time.")
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a finding; the incident's narratives change status accordingly."""
    settings = _settings(config)
    with Runtime(settings) as runtime:
        before = {n.id: n.status for n in runtime.narratives(incident_id)}
        finding = runtime.add_finding(
            incident_id, text, kind=kind, actors=actor or (), status=status,
            at=_time(at, "--at"),
        )
        after = runtime.narratives(incident_id)
    changed = [n for n in after if before.get(n.id) is not n.status]
    if json_out:
        _print_json({**finding_json(finding),
                     "changed": [narrative_json(n) for n in changed]})
        return
    out.print(f"finding #{finding.id} recorded: {finding.status.value} {finding.kind.value} "
              f"[{', '.join(finding.actors) or '-'}]", markup=False)
    for n in changed:
        out.print(f"  narrative #{n.id} {before.get(n.id, '-')} -> {n.status.value}: {n.label}",
                  markup=False)


# -- narratives -----------------------------------------------------------------------


def _narrative_table(narratives: list[dict[str, Any]]) -> Table:
    """The narratives table, from narratives as :func:`narrative_json` gives them."""
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("actors", ratio=1, overflow="fold")
    table.add_column("label", ratio=4, overflow="fold")
    table.add_column("posts", justify="right")
    table.add_column("authors", justify="right")
    table.add_column("replies d/q", justify="right")
    table.add_column("recent", justify="right")
    for n in narratives:
        actors = ", ".join(
            f"{a}?" if a in n["candidate_actors"] else a for a in n["actors"]
        ) + (" (denied)" if n["negated"] else "")
        stances = n.get("stances") or {}
        replies = f"{n.get('replies', 0)} {stances.get('deny', 0)}/{stances.get('query', 0)}"
        label = n["label"] + "".join(
            f" [conflicting reports on {c['question']}: {' / '.join(c['values'])}]"
            for c in n.get("conflicts") or ()
        )
        # user text is no markup: "[...]" in a post must show as written
        table.add_row(str(n["id"]), n["status"], n["kind"], escape(actors) or "-",
                      escape(label),
                      str(n["size"]), str(n["authors"]), replies, str(n["recent"]))
    return table


@app.command()
def narratives(
    incident: Annotated[str | None, typer.Option(help="Only this incident.")] = None,
    status: Annotated[Status | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[ClaimKind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 1000,
    every: Annotated[
        bool, typer.Option("--all", help="Also single posts nobody reposted or answered.")
    ] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Narratives, most active first: posts, reposts and replies in the last hour of event
    time (setting narratives.active_minutes), then size. Single posts that nobody reposted
    or answered are hidden unless --all."""
    settings = _settings(config)
    found = daemon_get(settings, "/v1/narratives", {
        "incident": incident, "status": status.value if status else None,
        "kind": kind.value if kind else None, "limit": limit,
        "all": "1" if every else None,
    })
    if found is None:
        with Runtime(settings) as runtime:
            found = narratives_json(
                runtime.narratives(incident, status, kind, singletons=every)[:limit]
            )
    if json_out:
        _print_json(found)
        return
    if not found:
        out.print("no narratives yet")
        return
    out.print(_narrative_table(found))
    out.print("actors marked ? are candidates: names in an attribution phrase that are not "
              "configured actors", style="dim")


@narrative_app.command("show")
def narrative_show(
    narrative_id: Annotated[int, typer.Argument(metavar="ID")],
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw its spread against the verified rate to a PNG."),
    ] = None,
) -> None:
    """One narrative: its claims, first post, tier counts and activity per 10 minutes."""
    settings = _settings(config)
    if plot is not None:
        from tracker.evaluation.plot import chart_narrative
        from tracker.store import Store

        store = Store(settings.db_path)
        try:
            live = store.resolve_narrative(narrative_id) or narrative_id
            window = settings.rules[0].window_minutes if settings.rules else 15.0
            chart_narrative(store, live, plot, window_minutes=window)
        finally:
            store.close()
        err.print(f"wrote {plot}", markup=False)
    shown = daemon_get(settings, f"/v1/narratives/{narrative_id}")
    if shown is None:
        with Runtime(settings) as runtime:
            shown = narrative_detail_json(runtime.store, narrative_id)
    if json_out:
        _print_json(shown)
        return
    if shown["merged_from"] is not None:
        out.print(f"narrative {narrative_id} was merged into {shown['id']}", style="dim")
    out.print(_narrative_table([shown]))
    out.print(f"first seen {shown['first_seen']}, last {shown['last_seen']}; "
              f"tiers: " + ", ".join(f"{k} {v}" for k, v in shown["tiers"].items()),
              markup=False)
    for c in shown.get("conflicts") or ():
        out.print(f"part of conflicting reports on {c['question']}: "
                  f"{' / '.join(c['values'])} (see `claimwatch alerts`)", markup=False)
    first = shown["first_post"]
    if first:
        out.print(f"first post {first['source']}:{first['post_id']} by {first['author']} "
                  f"({first['tier']}) at {first['created_at']}: {first['text']}",
                  markup=False)
    buckets = [(b["start"], b["posts"]) for b in shown["activity"]]
    if buckets:
        out.print(f"activity per 10 min from {buckets[0][0]}: "
                  f"{sparkline([c for _, c in buckets])} (peak {max(c for _, c in buckets)})",
                  markup=False)
    claims = shown["claims"]
    table = Table()
    table.add_column("time", no_wrap=True)
    table.add_column("author", overflow="fold")
    table.add_column("tier", no_wrap=True)
    table.add_column("hedge", justify="right")
    table.add_column("claim", ratio=4, overflow="fold")
    for c in claims:
        table.add_row(f"{parse_time(c['created_at']):%m-%d %H:%M}", escape(c["author"] or ""),
                      c["tier"] or "", f"{c['hedge']:.1f}", escape(c["text"]))
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
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except TyperException as exc:  # usage errors: bad option, missing argument, bad value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except ClaimwatchError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
