"""Hostile input by the thousand against a running ``claimwatch run``: counts by status,
and every good post stored exactly once.

    .venv/bin/python bench/fuzz.py [--cases 20000] [--clients 8] [--seconds 600] [--seed 1]

A fresh daemon (subprocess, temp folder) is started; then ``--cases`` generated requests
go to it from ``--clients`` concurrent clients, stopping early after ``--seconds``:

- most are ``POST /v1/posts`` bodies (a JSON array, or JSON Lines; a third gzipped)
  mixing good posts with hostile items: lone surrogates in any string field, created_at
  that overflows in UTC, integers past Python's 4,300-digit limit as id or metric, JSON
  nested too deep, superscript digits in metrics, whitespace ids, 100 KB ids, lines of
  invalid UTF-8, random JSON values;
- the rest are hostile at the HTTP level, on raw sockets: an ``Authorization`` header of
  invalid UTF-8, a body that claims gzip and is not, a client that goes away mid-upload,
  a body over the size limit, a body that is one deeply nested value, a wrong token.

Printed: answers by status, transport failures (no answer where one was due), and the
check of the database: every good post a 202 accepted is stored once, none is missing.
Goal: 0 answers of 5xx, 0 crashes (the daemon stays up), every good item stored once.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WRITE_TOKEN = "bench-write-token"
READ_TOKEN = "bench-read-token"
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchDaemon:
    """A ``claimwatch run`` subprocess on a free port, its database in ``folder``."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.folder / "claimwatch.db"

    def rss_mib(self) -> float:
        """The daemon's resident memory now, MiB (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def log(self) -> str:
        return (self.folder / "daemon.log").read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_daemon(extra: str = "", *, keep: Path | None = None) -> Iterator[BenchDaemon]:
    """Start a daemon on a fresh database (``extra`` appended to its settings), wait until
    ``/healthz`` answers, stop it with SIGTERM at the end."""
    folder = keep or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "claimwatch.toml"
    config.write_text(
        f'[storage]\npath = "{folder / "claimwatch.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
        + extra.replace("[service]\n", f"[service]\nport = {port}\n")
        + ("" if "[service]" in extra else f"\n[service]\nport = {port}\n"),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "CLAIMWATCH_API_TOKEN": WRITE_TOKEN,
           "CLAIMWATCH_READ_TOKEN": READ_TOKEN}
    with (folder / "daemon.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", "--config", str(config)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    daemon = BenchDaemon(folder, port, proc)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited:\n{daemon.log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if conn.recv(12).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the daemon did not answer /healthz")
            time.sleep(0.2)
        yield daemon
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()


def stored_counts(db: Path, ids: list[str]) -> collections.Counter[str]:
    """How many times each of ``ids`` is stored (source ``push``)."""
    found: collections.Counter[str] = collections.Counter()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60) as conn:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for (ext_id,) in conn.execute(
                f"SELECT ext_id FROM posts WHERE source = 'push' AND ext_id IN ({marks})", part
            ):
                found[ext_id] += 1
    return found


# ------------------------------------------------------------------------- generation

_SURROGATES = ["\ud800", "a\udfffb", "\udc80"]
_WEIRD = [*_SURROGATES, " ", "\t\n", "\u00b9\u00b2\u00b3", "\x00", "\u202e", "\ufeff", "",
          "x" * 100_000, "\u0663\u0664", "NaN", "-0", "1e309"]
_TIMES = ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+00:01", "2026-11-20T10:15:00",
          "2999-01-01T00:00:00Z", "not a time", "2026-02-30T00:00:00Z", " ", "\ud800", 0, None]
_FIELDS = ["id", "text", "source", "author", "url", "lang", "repost_of", "reply_to", "tier",
           "metrics", "created_at"]


class Cases:
    """Generated requests, from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.run = f"{seed}-{os.getpid()}"
        self.good = 0

    def good_post(self) -> dict[str, Any]:
        self.good += 1
        at = datetime.now(UTC) - timedelta(minutes=self.rng.randint(1, 600))
        return {"id": f"good-{self.run}-{self.good}", "author": f"a{self.rng.randint(1, 50)}",
                "text": f"Witness {self.good} says the {self.rng.choice(['plane', 'bus', 'train'])}"
                        f" was hit near the {self.rng.choice(['border', 'market', 'station'])}",
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return None
        if kind == 1:
            return rng.choice([True, False, 0, -1, 2**63, 2**64 + 1, 1.5, float("inf")])
        if kind in (2, 3, 4):
            return rng.choice(_WEIRD) if rng.random() < 0.5 else "".join(
                chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12)))
        if kind in (5, 6):
            return [self.value(depth + 1) for _ in range(rng.randrange(3))]
        return {str(self.value(depth + 1))[:20]: self.value(depth + 1)
                for _ in range(rng.randrange(3))}

    def hostile(self) -> str:
        """One hostile item as JSON text."""
        rng = self.rng
        kind = rng.randrange(6)
        if kind == 0:
            return json.dumps(self.value())
        if kind == 1:
            digits = "9" * rng.randint(4301, 8000)
            if rng.random() < 0.5:
                return f'{{"id": {digits}, "text": "t", "created_at": "2026-11-20T10:15:00Z"}}'
            return ('{"id": "h-huge", "text": "t", "created_at": "2026-11-20T10:15:00Z", '
                    f'"metrics": {{"likes": {digits}}}}}')
        if kind == 2:
            depth = rng.randint(20, 400)
            return '{"id": "h-deep", "metrics": ' + "[" * depth + "]" * depth + "}"
        record: dict[str, Any] = {"id": f"h-{rng.randrange(10**6)}", "text": "Sources say x",
                                  "created_at": "2026-11-20T10:15:00Z"}
        for field in rng.sample(_FIELDS, rng.randint(1, 3)):
            record[field] = rng.choice(_TIMES) if field == "created_at" else (
                rng.choice(_WEIRD) if rng.random() < 0.6 else self.value())
        if rng.random() < 0.3:
            record["metrics"] = {"likes": rng.choice([" \u00b9\u00b2\u00b3 ", "-1", 10**30,
                                                      "\u0663", "1_000", [1]])}
        return json.dumps(record)

    def body(self) -> tuple[bytes, dict[str, str], list[dict[str, Any]]]:
        """A POST /v1/posts body, its headers and the good posts in it."""
        rng = self.rng
        good = [self.good_post() for _ in range(rng.choice([0, 0, 1, 1, 2]))]
        items = [json.dumps(g) for g in good]
        for _ in range(rng.randint(0 if good else 1, 4)):
            items.insert(rng.randint(0, len(items)), self.hostile())
        headers = {**WRITE}
        if rng.random() < 0.4:
            headers["Content-Type"] = "application/x-ndjson"
            parts = [i.encode() for i in items]
            if rng.random() < 0.3:
                parts.insert(rng.randint(0, len(parts)), b'{"id": "h-\xff\xfe\xc3"}')
            if rng.random() < 0.2:
                parts.insert(rng.randint(0, len(parts)), b"[" * 1500 + b"]" * 1500)
            body = b"\n".join(parts)
        else:
            headers["Content-Type"] = "application/json"
            body = ("[" + ", ".join(items) + "]").encode()
        if rng.random() < 0.33:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return body, headers, good

    def raw(self, port: int) -> tuple[str, bytes, bool]:
        """(kind, raw request bytes, whether an answer is due) of an HTTP-level case."""
        rng = self.rng
        kind = rng.choice(["bad-auth-bytes", "fake-gzip", "gone", "too-large", "deep-body",
                           "wrong-token", "bad-chunked"])
        head = "POST /v1/posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        auth = f"Authorization: Bearer {WRITE_TOKEN}\r\n"
        if kind == "bad-auth-bytes":
            return kind, (head.encode() + b"Authorization: Bearer \xff\xfe\xc3(\r\n"
                          b"Content-Length: 2\r\n\r\n[]"), True
        if kind == "fake-gzip":
            body = b"\x1f\x8b not gzip at all"
            return kind, (head + auth + "Content-Encoding: gzip\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body, True
        if kind == "gone":
            return kind, (head + auth + "Content-Length: 9000\r\n\r\n[{\"id\": ").encode(), False
        if kind == "too-large":
            return kind, (head + auth + "Content-Length: 99999999\r\n\r\n[").encode(), True
        if kind == "deep-body":
            body = b"[" * 5000 + b"]" * 5000
            length = f"Content-Length: {len(body)}\r\n\r\n"
            return kind, (head + auth + length).encode() + body, True
        if kind == "wrong-token":
            return kind, (head + "Authorization: Bearer nope\r\nContent-Length: 2\r\n\r\n[]"
                          ).encode(), True
        return kind, (head + auth + "Transfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n").encode(), True


def raw_exchange(port: int, data: bytes, answer_due: bool) -> int | None:
    """Send ``data``; the status answered (None: none). A case whose client goes away
    closes the socket at once."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(data)
        if not answer_due:
            return None
        out = b""
        while b"\r\n" not in out:
            chunk = conn.recv(4096)
            if not chunk:
                break
            out += chunk
    if not out.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
        return -1
    return int(out[9:12])


async def fuzz(daemon: BenchDaemon, cases: int, clients: int, seconds: float, seed: int
               ) -> dict[str, Any]:
    gen = Cases(seed)
    statuses: collections.Counter[str] = collections.Counter()
    raw_kinds: collections.Counter[str] = collections.Counter()
    accepted: list[str] = []
    not_accepted: list[tuple[str, Any]] = []
    failures: list[str] = []
    done = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while done < cases and time.monotonic() < deadline:
            done += 1
            if gen.rng.random() < 0.08:
                kind, data, due = gen.raw(daemon.port)
                try:
                    status = await asyncio.to_thread(raw_exchange, daemon.port, data, due)
                except OSError as exc:
                    status = None if not due else -1
                    if due:
                        failures.append(f"{kind}: {exc}")
                raw_kinds[f"{kind} -> {status}"] += 1
                statuses[str(status) if status is not None else "no answer (client gone)"] += 1
                continue
            body, headers, good = gen.body()
            while True:
                try:
                    async with session.post(f"{daemon.base}/v1/posts", data=body,
                                            headers=headers) as response:
                        status = response.status
                        answer = await response.json(content_type=None)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    failures.append(f"post: {type(exc).__name__}: {exc}")
                    statuses["transport failure"] += 1
                    break
                statuses[str(status)] += 1
                if status == 429:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if status == 202:
                    verdicts = {i["id"]: i for i in answer["items"] if i["id"]}
                    for post in good:
                        verdict = verdicts.get(post["id"], {})
                        if verdict.get("status") == "accepted":
                            accepted.append(post["id"])
                        else:
                            not_accepted.append((post["id"], verdict))
                else:
                    not_accepted.extend((p["id"], status) for p in good)
                break

    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=clients)
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    took = time.perf_counter() - started
    return {"cases": done, "seconds": took, "statuses": statuses, "raw": raw_kinds,
            "accepted": accepted, "not_accepted": not_accepted, "failures": failures,
            "good": gen.good}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=600.0, help="stop early after this")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    extra = "[service]\nmax_body_bytes = 1048576\nbody_timeout_seconds = 10\n"
    with running_daemon(extra) as daemon:
        result = asyncio.run(fuzz(daemon, args.cases, args.clients, args.seconds, args.seed))
        alive = daemon.proc.poll() is None
        counts = stored_counts(daemon.db, result["accepted"])
        log = daemon.log()
    rate = result["cases"] / result["seconds"]
    print(f"{result['cases']} cases in {result['seconds']:.0f} s ({rate:.0f}/s), "
          f"{args.clients} clients, seed {args.seed}")
    print("answers by status:")
    for status, n in sorted(result["statuses"].items()):
        print(f"  {status:>28}: {n}")
    print("HTTP-level cases (kind -> status):")
    for kind, n in sorted(result["raw"].items()):
        print(f"  {kind:>28}: {n}")
    fivexx = sum(n for s, n in result["statuses"].items() if s.isdigit() and s.startswith("5"))
    twice = [i for i, n in counts.items() if n > 1]
    missing = [i for i in result["accepted"] if counts[i] == 0]
    print(f"5xx answers: {fivexx}; transport failures: {len(result['failures'])}; "
          f"daemon alive: {alive}")
    print(f"good posts sent {result['good']}: accepted {len(result['accepted'])}, stored once "
          f"{sum(1 for i in result['accepted'] if counts[i] == 1)}, twice {len(twice)}, "
          f"missing {len(missing)}, not accepted {len(result['not_accepted'])}")
    for item in result["not_accepted"][:5]:
        print(f"  not accepted: {item}")
    for failure in result["failures"][:5]:
        print(f"  failure: {failure}")
    print(f"daemon log: {log.count('Traceback')} tracebacks, "
          f"{sum(1 for line in log.splitlines() if ' ERROR ' in line)} ERROR lines")
    ok = (not fivexx and alive and not twice and not missing and not result["not_accepted"]
          and not result["failures"])
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
