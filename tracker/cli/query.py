"""`claimwatch query`: the claims that look like a text."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tracker.cli.client import daemon_get
from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    out,
    print_json,
    settings_of,
)
from tracker.ingest.records import parse_time
from tracker.runtime import Runtime
from tracker.views import (
    query_json,
)


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
    settings = settings_of(config)
    # A running daemon answers without loading the model again; else open the files.
    hits = daemon_get(settings, "/v1/query", {"q": text, "k": k, "incident": incident})
    if hits is None:
        with Runtime(settings) as runtime:
            hits = query_json(runtime.query(text, k, incident))
    if json_out:
        print_json(hits)
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
