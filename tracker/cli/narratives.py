"""`claimwatch narratives` and `claimwatch narrative show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tracker.cli.client import daemon_get
from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    err,
    out,
    paged,
    print_json,
    settings_of,
)
from tracker.ingest.records import parse_time
from tracker.models import ClaimKind, Status
from tracker.runtime import Runtime
from tracker.views import (
    narrative_detail_json,
    narratives_json,
    sparkline,
)

narrative_app = typer.Typer(help="One narrative.", no_args_is_help=True)


def narrative_table(narratives: list[dict[str, Any]]) -> Table:
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
    settings = settings_of(config)
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
        print_json(found)
        return
    if not found:
        out.print("no narratives yet")
        return
    paged(narrative_table(found),
          Text("actors marked ? are candidates: names in an attribution phrase that are not "
               "configured actors", style="dim"))


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
    settings = settings_of(config)
    if plot is not None:
        from tracker.evaluation.plot import chart_narrative
        from tracker.store import Store

        store = Store(settings.database)
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
        print_json(shown)
        return
    if shown["merged_from"] is not None:
        out.print(f"narrative {narrative_id} was merged into {shown['id']}", style="dim")
    out.print(narrative_table([shown]))
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
