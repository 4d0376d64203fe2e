"""The ``claimwatch`` command line. Thin: parse, call the library, print.

This is the one place where :class:`ClaimwatchError` becomes a message and an exit code:
2 for bad settings or usage, 1 for anything else that failed.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any, TypeVar

import typer
from typer.exceptions import TyperException

from tracker import __version__
from tracker.cli.alerts import alerts_app, replay
from tracker.cli.common import ROOT_CONFIG, ConfigOpt, err, out
from tracker.cli.db import db_app
from tracker.cli.eval import eval_app
from tracker.cli.incidents import finding_app, incident_app
from tracker.cli.index import index_app
from tracker.cli.ingest import ingest
from tracker.cli.narratives import narrative_app, narratives
from tracker.cli.plot import plot
from tracker.cli.query import query
from tracker.cli.run import run as run_command
from tracker.errors import ClaimwatchError

__all__ = ["app", "main", "reflow"]

C = TypeVar("C", bound=Any)  # a click command (typer's own click, vendored)

app = typer.Typer(
    name="claimwatch",
    help="Watch speculative claims spread after an incident, against verified reporting.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        out.print(f"claimwatch {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOpt = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Watch speculative claims spread after an incident, against verified reporting."""
    ctx.meta[ROOT_CONFIG] = config  # a verb without its own --config takes this one

app.add_typer(index_app, name="index")
app.add_typer(incident_app, name="incident")
app.add_typer(finding_app, name="finding")
app.add_typer(narrative_app, name="narrative")
app.add_typer(alerts_app, name="alerts")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")
app.command("ingest")(ingest)
app.command("query")(query)
app.command("narratives")(narratives)
app.command("plot")(plot)
app.command("replay")(replay)
app.command("run")(run_command)


def reflow(text: str | None) -> str | None:
    """Help text as a terminal should wrap it: each paragraph (blank-line separated) on one
    line, so a docstring's hard line breaks do not show mid-sentence; a paragraph starting
    with click's ``\b`` keeps its lines."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _reflow_all(command: C) -> C:
    """``command`` and every subcommand with their help reflowed (see :func:`reflow`)."""
    command.help = reflow(command.help)
    command.short_help = reflow(command.short_help)
    for sub in getattr(command, "commands", {}).values():  # a group's subcommands
        _reflow_all(sub)
    return command


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs a command, maps errors to exit codes."""
    command = _reflow_all(typer.main.get_command(app))
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
