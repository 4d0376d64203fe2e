"""Shared fixtures: the real model loaded once per session, settings in a temp folder.

Every cache (the extracted model, the ONNX export) goes to :data:`CACHE_DIR`, a folder
made for this test session and removed when it ends: tests never write to
``~/.cache/claimwatch``. :func:`embedding_settings` and :func:`write_config` point there."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import PostgresServer, postgres_server

from tracker.cli.app import main
from tracker.config.settings import EmbeddingSettings, Settings, load_settings
from tracker.embedding.model import SentenceTransformerEmbedder, shared_embedder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
GERMANWINGS = DATA / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
CACHE_DIR = Path(tempfile.mkdtemp(prefix="claimwatch-test-cache-"))
atexit.register(shutil.rmtree, CACHE_DIR, ignore_errors=True)


def embedding_settings(**changes: Any) -> EmbeddingSettings:
    """Embedding settings keeping their cache in the session's folder (unless ``changes``
    name another ``cache_dir``)."""
    return EmbeddingSettings(**{"cache_dir": str(CACHE_DIR), **changes})


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, from the shipped copy, loaded once per test session."""
    model = shared_embedder(embedding_settings())
    assert model.dim == 384
    return model


def germanwings_head(folder: Path, n: int) -> Path:
    """A post file in ``folder`` holding the first ``n`` lines of the germanwings file."""
    lines = GERMANWINGS.read_text(encoding="utf-8").splitlines()[:n]
    path = folder / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_config(folder: Path, extra: str = "") -> Path:
    """A settings file keeping the database and index inside ``folder``, and the model
    cache in the session's (so the CLI shares the session's loaded model)."""
    path = folder / "claimwatch.toml"
    path.write_text(
        f'[storage]\npath = "{folder / "claimwatch.db"}"\n'
        f'[embedding]\ncache_dir = "{CACHE_DIR}"\n'
        f'[index]\ndir = "{folder / "indexes"}"\n' + extra,  # extra may go on with [index]
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def settings(config_file: Path) -> Settings:
    return load_settings(config_file, environ={})


@pytest.fixture(autouse=True)
def _no_claimwatch_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see only the CLAIMWATCH_* variables they set themselves."""
    for name in list(os.environ):
        if name.startswith("CLAIMWATCH_"):
            monkeypatch.delenv(name)
    yield


def run_cli(args: list[str]) -> int:
    """Run the CLI in-process (sharing the loaded model); the exit status."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# The incident `make run` uses (examples/germanwings.toml), without its storage settings.
GERMANWINGS_INCIDENT = "[[incidents]]" + (ROOT / "examples" / "germanwings.toml").read_text(
    encoding="utf-8"
).split("[[incidents]]", 1)[1]


@pytest.fixture(scope="session")
def germanwings(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Path:
    """The config of a folder whose database holds the whole germanwings thread file,
    ingested once per session under an incident defined for it."""
    folder = tmp_path_factory.mktemp("germanwings")
    config = write_config(folder, GERMANWINGS_INCIDENT)
    assert run_cli(["ingest", str(GERMANWINGS), "--config", str(config)]) == 0
    return config


# -- PostgreSQL: a real server per test session, a fresh database per test ------------------

PG_PASSWORD_ROLE = "claimwatch_pw"
PG_PASSWORD = "pw-9f3c1e77"  # a test server's, on 127.0.0.1, for the duration of a session


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL 15 (Debian's postgresql-15) in a temporary folder on a free port,
    stopped at the end of the session. Fails (not skips) when the binaries are missing:
    .ci/run installs them. One role signs in with a password (scram), to test the
    password's way in; the rest trust."""
    hba = [f"host all {PG_PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256"]
    with postgres_server(durable=False, hba=hba) as server:
        server.admin(f"CREATE ROLE {PG_PASSWORD_ROLE} LOGIN PASSWORD '{PG_PASSWORD}'")
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives: a fresh SQLite file, or a fresh database on the
    session's PostgreSQL server (the test runs once for each)."""
    if request.param == "sqlite":
        return str(tmp_path / "claimwatch.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_database()
