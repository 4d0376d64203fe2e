"""`claimwatch incident add|list|show|close` and `claimwatch finding add`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    option_time,
    out,
    print_json,
    settings_of,
)
from tracker.cli.narratives import narrative_table
from tracker.models import ClaimKind, FindingStatus, Incident
from tracker.runtime import Runtime
from tracker.views import (
    finding_json,
    incident_json,
    incidents_json,
    iso,
    narrative_json,
    narratives_json,
)

incident_app = typer.Typer(help="Incidents to track.", no_args_is_help=True)
finding_app = typer.Typer(help="What authorities have established.", no_args_is_help=True)


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
    settings = settings_of(config)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", incident_id):
        raise typer.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="ID")
    started = option_time(started_at, "--started-at")
    assert started is not None
    incident = Incident(
        id=incident_id, title=title, started_at=started, description=description,
        terms=tuple(term or ()), location=location, window_hours=window_hours,
    )
    with Runtime(settings) as runtime:
        report = runtime.add_incident(incident)
        counts = runtime.store.incident_counts(incident_id)
    if json_out:
        print_json({**incident_json(incident), "linked": report.linked, **counts})
    else:
        out.print(
            f"incident {incident_id} saved: {report.linked} stored posts linked, "
            f"{counts['narratives']} narratives",
            markup=False,
        )


@incident_app.command("list")
def incident_list(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Every incident, with how many posts and narratives it has."""
    settings = settings_of(config)
    with Runtime(settings) as runtime:
        shown = incidents_json(runtime.store)
        rows = [(i, runtime.store.incident_counts(i.id)) for i in runtime.store.incidents()]
    if json_out:
        print_json(shown)
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
    settings = settings_of(config)
    with Runtime(settings) as runtime:
        incident = runtime.incident(incident_id)
        counts = runtime.store.incident_counts(incident_id)
        findings = [f for f, _ in runtime.store.findings(incident_id)]
        top = runtime.narratives(incident_id)[:10]
    if json_out:
        print_json({
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
        out.print(narrative_table(narratives_json(top)))


@incident_app.command("close")
def incident_close(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    at: Annotated[str | None, typer.Option(help="When (ISO 8601); default now.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Stop linking new posts to an incident."""
    settings = settings_of(config)
    when = option_time(at, "--at") or datetime.now(UTC)
    with Runtime(settings) as runtime:
        runtime.incident(incident_id)
        runtime.store.close_incident(incident_id, when)
    if json_out:
        print_json({"id": incident_id, "closed_at": iso(when)})
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
    settings = settings_of(config)
    with Runtime(settings) as runtime:
        before = {n.id: n.status for n in runtime.narratives(incident_id)}
        finding = runtime.add_finding(
            incident_id, text, kind=kind, actors=actor or (), status=status,
            at=option_time(at, "--at"),
        )
        after = runtime.narratives(incident_id)
    changed = [n for n in after if before.get(n.id) is not n.status]
    if json_out:
        print_json({**finding_json(finding),
                     "changed": [narrative_json(n) for n in changed]})
        return
    out.print(f"finding #{finding.id} recorded: {finding.status.value} {finding.kind.value} "
              f"[{', '.join(finding.actors) or '-'}]", markup=False)
    for n in changed:
        out.print(f"  narrative #{n.id} {before.get(n.id, '-')} -> {n.status.value}: {n.label}",
                  markup=False)


# -- narratives -----------------------------------------------------------------------
