"""The deployment examples of examples/deploy/ (README, "Several workers on one
PostgreSQL") are what they say: the shared settings load with the real settings loader as
a PostgreSQL store with no secret in them, the systemd template unit and the compose file
run real ``claimwatch`` verbs with real options and real setting keys, and ``claimwatch db
migrate`` with the example's settings creates every table in an empty PostgreSQL database.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from conftest import ROOT, PostgresServer, run_cli

from tracker.cli.app import app
from tracker.config.settings import PostgresDatabase, Settings, load_settings
from tracker.store import MIGRATIONS, Store

DEPLOY = ROOT / "examples" / "deploy"
CONFIG = DEPLOY / "claimwatch-pg.toml"
UNIT = DEPLOY / "claimwatch@.service"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def unit_entries(text: str, instance: str) -> dict[str, list[str]]:
    """``Key=value`` lines of a systemd unit, every value of a key in order, with ``%i``
    as ``instance``; comments and section headers left out."""
    entries: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        entries.setdefault(key, []).append(value.replace("%i", instance))
    return entries


def unit_environment(instance: str) -> dict[str, str]:
    """The ``Environment=`` variables instance ``instance`` of the unit gets."""
    pairs = (v.split("=", 1) for v in unit_entries(UNIT.read_text("utf-8"), instance)
             ["Environment"])
    return {name: value for name, value in pairs}


def cli_command(argv: list[str]) -> Any:
    """The click command ``argv`` (``claimwatch VERB ... --option value``) runs, after
    checking that every verb and every ``--option`` in it exists (a group of verbs has
    ``commands``; typer carries click's classes of its own)."""
    assert Path(argv[0]).name == "claimwatch", argv
    command: Any = typer.main.get_command(app)
    args = argv[1:]
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        verb, args = args[0], args[1:]
        assert verb in command.commands, f"claimwatch has no verb {verb!r} ({argv})"
        command = command.commands[verb]
    assert not hasattr(command, "commands"), f"{argv} names a group, not a command"
    options = {opt for param in command.params for opt in param.opts}
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in options, f"{' '.join(argv[:3])} has no {arg}"
    return command


def option_value(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def image_entrypoint() -> list[str]:
    """The ENTRYPOINT of deploy/Dockerfile (the image compose builds), as argv."""
    line = next(line for line in DOCKERFILE.read_text("utf-8").splitlines()
                if line.startswith("ENTRYPOINT"))
    return list(json.loads(line.removeprefix("ENTRYPOINT")))


def settings_for(environment: dict[str, str]) -> Settings:
    """The shared settings as a worker with ``environment`` loads them (unknown
    CLAIMWATCH_* keys or wrong types raise ConfigError)."""
    return load_settings(CONFIG, environ=environment)


def test_the_shared_settings_name_postgresql_and_hold_no_secret() -> None:
    settings = settings_for({})
    database = settings.database
    assert isinstance(database, PostgresDatabase)
    assert database.url.startswith("postgresql://")
    assert settings.storage.password_env == "CLAIMWATCH_DB_PASSWORD"
    text = CONFIG.read_text("utf-8")
    assert not re.search(r"postgres(ql)?://[^@\s\"]*:[^@\s\"]*@", text), "a password in a URL"
    assert not re.search(r"(?im)^\s*(password|token|secret)\s*=", text), "a secret in the file"
    # every secret is named by an environment variable
    assert settings.service.token_env == "CLAIMWATCH_API_TOKEN"
    assert [c.secret_env for c in settings.channels if c.type == "webhook"] == [
        "CLAIMWATCH_WEBHOOK_SECRET"
    ]


def test_the_systemd_template_runs_real_verbs_and_keeps_workers_apart() -> None:
    text = UNIT.read_text("utf-8")
    seen: list[Settings] = []
    for instance in ("1", "2"):
        entries = unit_entries(text, instance)
        run = shlex.split(entries["ExecStart"][0])
        assert cli_command(run).name == "run"
        migrate = shlex.split(entries["ExecStartPre"][0])
        assert cli_command(migrate).name == "migrate" and migrate[1:3] == ["db", "migrate"]
        assert option_value(run, "--config") == option_value(migrate, "--config")
        assert entries["Restart"] == ["on-failure"]
        assert entries["EnvironmentFile"], "the password comes from an environment file"
        environment = unit_environment(instance)
        assert "CLAIMWATCH_DB_PASSWORD" not in environment, "a password in the unit"
        # the variables the unit sets are real settings, of the right types
        seen.append(settings_for(environment))
    first, second = seen
    assert first.database_label == second.database_label, "one database for both"
    assert first.service.port != second.service.port
    assert first.index_dir != second.index_dir, "each worker has an index of its own"


def test_compose_runs_two_workers_on_postgres_15_after_a_migration() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    settings = settings_for({})
    # the database's password comes from the same variable the workers read
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password.startswith("${" + settings.storage.password_env)
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "claimwatch"
    assert settings.storage.url.endswith("@postgres:5432/claimwatch")

    migrate = services["migrate"]
    argv = [*migrate["entrypoint"], *migrate["command"]]
    assert argv[1:3] == ["db", "migrate"] and cli_command(argv).name == "migrate"

    workers = {name: s for name, s in services.items()
               if "migrate" in (s.get("depends_on") or {})}
    assert len(workers) == 2
    ports: set[str] = set()
    for name, service in workers.items():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        argv = [*image_entrypoint(), *service["command"]]
        assert cli_command(argv).name == "run", name
        assert service["restart"] == "on-failure"
        # the shared settings file is mounted where --config reads it
        mounts = dict(v.split(":")[:2][::-1] for v in service["volumes"])
        source = mounts[option_value(argv, "--config")]
        assert (DEPLOY / source).resolve() == CONFIG
        assert service["env_file"] == "claimwatch.env"
        ports.update(p.rsplit(":", 1)[0] for p in service["ports"])
    assert len(ports) == 2, "each worker is published on a port of its own"
    assert (DEPLOY / compose()["x-claimwatch"]["build"]["context"]
            / compose()["x-claimwatch"]["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_db_migrate_with_the_example_settings_creates_every_table(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres.fresh_database()
    monkeypatch.setenv("CLAIMWATCH_STORAGE__URL", url)  # as the unit's Environment= does
    assert run_cli(["db", "migrate", "--config", str(CONFIG), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["engine"], done["from"], done["to"]) == ("postgresql", 0, len(MIGRATIONS))
    assert run_cli(["db", "migrate", "--config", str(CONFIG), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["from"] == again["to"] == len(MIGRATIONS), "a second migrate changes nothing"
    store = Store(url, migrate=False)
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert store.count("posts") == 0
    finally:
        store.close()
