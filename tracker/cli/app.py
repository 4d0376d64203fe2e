"""The ``claimwatch`` command line. Thin: parse, call the library, print.

This is the one place where :class:`ClaimwatchError` becomes a message and an exit code:
2 for bad settings or usage, 1 for anything else that failed.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from tracker.cli.alerts import alerts_app, replay
from tracker.cli.common import err
from tracker.cli.eval import eval_app
from tracker.cli.incidents import finding_app, incident_app
from tracker.cli.index import index_app
from tracker.cli.ingest import ingest
from tracker.cli.narratives import narrative_app, narratives
from tracker.cli.plot import plot
from tracker.cli.query import query
from tracker.cli.run import run as run_command
from tracker.errors import ClaimwatchError

__all__ = ["app", "main"]

app = typer.Typer(
    name="claimwatch",
    help="Watch speculative claims spread after an incident, against verified reporting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(index_app, name="index")
app.add_typer(incident_app, name="incident")
app.add_typer(finding_app, name="finding")
app.add_typer(narrative_app, name="narrative")
app.add_typer(alerts_app, name="alerts")
app.add_typer(eval_app, name="eval")
app.command("ingest")(ingest)
app.command("query")(query)
app.command("narratives")(narratives)
app.command("plot")(plot)
app.command("replay")(replay)
app.command("run")(run_command)


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
