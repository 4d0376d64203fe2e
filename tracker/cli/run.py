"""``claimwatch run``: the daemon, in the foreground (systemd, Docker or a terminal).

Registered in :mod:`tracker.cli.app` with ``app.command("run")(run)``. Errors propagate to
``tracker.cli.app.main``, which turns them into a message and an exit status.
"""

from __future__ import annotations

import enum
import logging
import sys
from typing import Annotated

import typer

from tracker.cli.common import ConfigOpt, settings_of

__all__ = ["LogLevel", "run"]



class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def run(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Bind the HTTP API here (instead of service.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port of the HTTP API (instead of service.port)."),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="Least severe log lines shown.")
    ] = LogLevel.INFO,
) -> None:
    """Run the daemon: poll the configured sources, serve the HTTP API (push endpoint,
    queries, /healthz, /metrics) and deliver alerts, until SIGTERM or SIGINT."""
    settings = settings_of(config)
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if overrides:
        settings = settings.model_copy(
            update={"service": settings.service.model_copy(update=overrides)}
        )
    logging.basicConfig(
        level=getattr(logging, log_level.value.upper()), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
    from tracker.daemon.service import run_daemon  # aiohttp, APScheduler: only for this command

    run_daemon(settings)
