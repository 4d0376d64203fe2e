"""``claimwatch plot``: an incident's spread against verified reporting, as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import ConfigOpt, out, settings_of
from tracker.evaluation.plot import chart_incident
from tracker.store import Store

__all__ = ["plot"]



def plot(
    incident: Annotated[str, typer.Argument(help="The incident id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")],
    config: ConfigOpt = None,
    top: Annotated[int, typer.Option(min=1, max=10, help="Narratives drawn, largest first.")] = 6,
    hours: Annotated[
        float | None, typer.Option(min=0.1, help="Only this many hours after the start.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Read this database (a kept replay, say).")
    ] = None,
) -> None:
    """Plot the spread rate of the incident's top narratives against its verified rate
    over event time, with findings and alerts marked."""
    settings = settings_of(config)
    window = settings.rules[0].window_minutes if settings.rules else 15.0
    store = Store(db if db is not None else settings.database)
    try:
        path = chart_incident(store, incident, output, top=top, window_minutes=window,
                              hours=hours)
    finally:
        store.close()
    out.print(f"wrote {path}", markup=False)
