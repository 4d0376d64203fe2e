"""Shared fixtures: the real model loaded once per session, settings in a temp folder.

Every cache (the extracted model, the ONNX export) goes to :data:`CACHE_DIR`, a folder
made for this test session and removed when it ends: tests never write to
``~/.cache/claimwatch``. :func:`embedding_settings` and :func:`write_config` point there."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PASSWORD_ROLE = "claimwatch_pw"
PG_PASSWORD = "pw-9f3c1e77"  # a test server's, on 127.0.0.1, for the duration of a session


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL 15 server this test session started (trust authentication on
    127.0.0.1 for the ``postgres`` role), and a way to make fresh databases on it."""

    host: str
    port: int
    folder: Path
    _names: Iterator[int]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run ``sql`` (autocommit) on the ``postgres`` database."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(sql.encode())

    def fresh_database(self) -> str:
        """A new empty database (UTF-8, C collation: text sorts as SQLite's does); its URL."""
        name = f"t{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                   "LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """``args`` run as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL 15 (Debian's postgresql-15) in a temporary folder on a free port,
    stopped at the end of the session. Fails (not skips) when the binaries are missing:
    .ci/run installs them."""
    assert (PG_BIN / "pg_ctl").is_file(), "PostgreSQL 15 is missing: apt-get install postgresql-15"
    folder = Path(tempfile.mkdtemp(prefix="claimwatch-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
        check=True, capture_output=True,
    )
    # one role signs in with a password (scram), to test the password's way in; the rest trust
    hba = data / "pg_hba.conf"
    hba.write_text(f"host all {PG_PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                   + hba.read_text(encoding="utf-8"), encoding="utf-8")
    port = _free_port()
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(folder / "log"), "-w", "start"]),
        check=True, capture_output=True,
    )
    server = PostgresServer("127.0.0.1", port, folder, itertools.count(1))
    try:
        server.admin(f"CREATE ROLE {PG_PASSWORD_ROLE} LOGIN PASSWORD '{PG_PASSWORD}'")
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                          "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives: a fresh SQLite file, or a fresh database on the
    session's PostgreSQL server (the test runs once for each)."""
    if request.param == "sqlite":
        return str(tmp_path / "claimwatch.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_database()
