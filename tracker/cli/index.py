"""`claimwatch index rebuild`."""

from __future__ import annotations

import json

import typer

from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    out,
    progress,
    settings_of,
)
from tracker.runtime import Runtime

index_app = typer.Typer(help="The FAISS index of claim vectors.", no_args_is_help=True)


@index_app.command("rebuild")
def index_rebuild(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Rebuild the index from the vectors in the database."""
    settings = settings_of(config)
    with Runtime(settings) as runtime, progress("rebuild index", None) as tick:
        index = runtime.rebuild_index(lambda done, total: tick(done, total))
        count = len(index)
    if json_out:
        out.print(json.dumps({"vectors": count, "path": str(index.path)}), markup=False)
    else:
        out.print(f"index rebuilt: {count} vectors in {index.path}", markup=False)
