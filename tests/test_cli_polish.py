"""The command line's finishing touches, as a user at a terminal meets them: --version,
--config before the verb, help text that wraps, shell completion, and paging of long
listings on a terminal (never when piped or with --json)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, write_config

from tracker import __version__
from tracker.cli.app import reflow
from tracker.embedding.model import SentenceTransformerEmbedder

POST = {"id": "1", "author": "anon1", "text": "Sources say the TTP is behind the Nushki blast",
        "created_at": "2026-11-20T10:00:00Z"}


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"claimwatch {__version__}"


def test_config_before_the_verb_is_used_and_the_verbs_own_wins(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "f.jsonl"
    posts.write_text(json.dumps(POST) + "\n", encoding="utf-8")
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    first, second = write_config(before), write_config(after)

    assert run_cli(["--config", str(first), "ingest", str(posts), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stored"] == 1
    assert (before / "claimwatch.db").exists()
    # every verb sees it, groups and their subcommands too
    assert run_cli(["-c", str(first), "incident", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run_cli(["--config", str(first), "alerts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    # a --config after the verb wins over the one before it
    assert run_cli(["--config", str(first), "ingest", str(posts), "--json",
                    "--config", str(second)]) == 0
    assert json.loads(capsys.readouterr().out)["stored"] == 1, "a new database, not a duplicate"
    assert (after / "claimwatch.db").exists()


def test_help_wraps_docstrings_as_prose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that nothing needs wrapping
    assert run_cli(["--help"]) == 0
    listing = capsys.readouterr().out
    [row] = [line for line in listing.splitlines() if "│ narratives " in line]
    assert row.rstrip(" │").endswith("Single posts that nobody reposted or answered are hidden "
                                      "unless --all.")
    for verb in (["narratives"], ["alerts", "test"], ["eval", "replay"], ["run"]):
        assert run_cli([*verb, "--help"]) == 0
        text = capsys.readouterr().out
        assert "Usage: claimwatch " + " ".join(verb) in text
    # paragraphs stay apart; click's \b keeps a paragraph's own lines
    assert reflow("One\n    two.\n\n    Three\n    four.") == "One two.\n\nThree four."
    assert reflow("Intro.\n\n\b\nkeep\nthese") == "Intro.\n\n\b\nkeep\nthese"


def test_shell_completion_is_offered_and_completes_verbs() -> None:
    env = {**os.environ, "_CLAIMWATCH_COMPLETE": "complete_bash",
           "COMP_WORDS": "claimwatch narr", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "tracker"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"narratives", "narrative"}
    shown = subprocess.run([sys.executable, "-m", "tracker", "--show-completion", "bash"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "_CLAIMWATCH_COMPLETE=complete_bash" in shown.stdout


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run ``python -m tracker ARGS`` with its standard input and output on a
    pseudo-terminal (a pager wants both); what the terminal showed."""
    leader, follower = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "tracker", *args], stdout=follower,
                          stderr=subprocess.PIPE, stdin=follower, env=env,
                          cwd=ROOT) as process:
        os.close(follower)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed: the process is done
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=300) == 0, process.stderr.read() if process.stderr else ""
    os.close(leader)
    return shown.decode("utf-8", "replace")


def test_long_listings_are_paged_on_a_terminal_but_not_when_piped_or_json(
    germanwings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paged = tmp_path / "paged.txt"
    pager = f"cat > {paged}"
    env = {**os.environ, "PAGER": pager, "LINES": "20", "COLUMNS": "120"}

    screen = _on_a_terminal(["narratives", "--config", str(germanwings)], env)
    listing = paged.read_text(encoding="utf-8")
    assert len(listing.splitlines()) > 20 and "label" in listing and "germanwings" in listing
    assert "germanwings" not in screen.lower(), "the table went to the pager, not the screen"

    paged.unlink()
    screen = _on_a_terminal(["narratives", "--json", "--config", str(germanwings)], env)
    assert not paged.exists()
    assert len(json.loads(screen)) > 100

    monkeypatch.setenv("PAGER", pager)  # piped (captured): printed, never paged
    assert run_cli(["narratives", "--config", str(germanwings)]) == 0
    assert "germanwings" in capsys.readouterr().out.lower()
    assert run_cli(["alerts", "--config", str(germanwings)]) == 0
    assert "deliveries" in capsys.readouterr().out
    assert not paged.exists()
