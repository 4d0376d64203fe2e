"""A real PostgreSQL 15 server of our own (Debian's ``postgresql-15``), for the test
session (tests/conftest.py) and the benches (bench/workers.py, bench/engines.py): ``initdb``
in a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1, trust authentication
for the ``postgres`` role, stopped and removed at the end."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL 15 server, and a way to make fresh databases on it."""

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

    def fresh_database(self, prefix: str = "t") -> str:
        """A new empty database (UTF-8, C collation: text sorts as SQLite's does); its URL."""
        name = f"{prefix}{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                   "LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.url(name)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_postgres(args: list[str]) -> list[str]:
    """``args`` run as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def postgres_server(
    *, durable: bool = True, hba: Sequence[str] = (), prefix: str = "claimwatch-pg-"
) -> Iterator[PostgresServer]:
    """Start a server; stop it and remove its folder at the end. ``durable`` False turns
    fsync and friends off (tests: faster, nothing to keep); ``hba`` lines go first in
    pg_hba.conf. Raises FileNotFoundError when the binaries are missing (.ci/run installs
    them)."""
    if not (PG_BIN / "pg_ctl").is_file():
        raise FileNotFoundError("PostgreSQL 15 is missing: apt-get install postgresql-15")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    try:
        subprocess.run(
            as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                         *([] if durable else ["--no-sync"])]),
            check=True, capture_output=True,
        )
        if hba:
            conf = data / "pg_hba.conf"
            conf.write_text("".join(f"{line}\n" for line in hba)
                            + conf.read_text(encoding="utf-8"), encoding="utf-8")
        port = free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                         "-l", str(folder / "log"), "-w", "start"]),
            check=True, capture_output=True,
        )
        try:
            yield PostgresServer("127.0.0.1", port, folder, itertools.count(1))
        finally:
            subprocess.run(
                as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m",
                             "fast" if durable else "immediate", "-w", "stop"]),
                capture_output=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
