"""`claimwatch ingest`: a post file through the whole pipeline, with a progress bar."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from tracker.cli.common import (
    ConfigOpt,
    JsonOpt,
    open_post_file,
    out,
    print_json,
    print_reject,
    progress,
    settings_of,
)
from tracker.pipeline import IngestReport
from tracker.runtime import Runtime


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
    settings = settings_of(config)
    post_file = open_post_file(file, fmt)
    on_reject = print_reject(json_out)
    size = post_file.size
    with Runtime(settings) as runtime, progress(f"ingest {file}", size) as tick:
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
        print_json(report.as_dict())
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
