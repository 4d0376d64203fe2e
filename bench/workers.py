"""Several workers on one PostgreSQL (issue 15): posts/s with one ``claimwatch run`` worker
and with two on the same database, and the claim ingest rate on PostgreSQL against SQLite,
measured in the same run.

    .venv/bin/python bench/workers.py [FILE] [--batch 100] [--clients 2] [--repeat N]

It starts a PostgreSQL 15 server of its own (Debian's ``postgresql-15``: ``initdb`` in a
temporary folder, ``pg_ctl start`` on a free port: ``tests/pg_server.py``, as the tests do), then:

1. workers: for 1 and then 2 workers, a fresh database (``claimwatch db migrate``), the
   workers started as ``claimwatch run`` subprocesses under the germanwings incident of
   ``examples/germanwings.toml``, each with an index folder of its own; once every
   ``/healthz`` answers (models loaded), FILE (default: the germanwings PHEME thread file)
   is pushed over ``POST /v1/posts`` in requests of ``--batch`` posts, the requests dealt
   round-robin to the workers, ``--clients`` concurrent clients per worker; timed from the
   first request until every accepted post is stored and processed (linked and
   clustered), read from the database.
2. ingest: FILE through ``Pipeline.ingest`` (the path of ``claimwatch ingest``, as
   ``bench/ingest.py --incident`` times it) into a fresh SQLite file and into a fresh
   PostgreSQL database, the model loaded once before either.

Prints posts/s for one and two workers and their ratio, each worker's CPU seconds, and
claims/s on PostgreSQL and SQLite and their ratio. With --repeat N each measurement runs N
times (interleaved) and the medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import PostgresServer, free_port, postgres_server  # noqa: E402
from push import post_posts, wait_ready  # noqa: E402

from tracker.config.settings import Settings, load_settings  # noqa: E402
from tracker.ingest.files import PostFile  # noqa: E402
from tracker.runtime import Runtime, shared_embedder  # noqa: E402
from tracker.store import Store  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
EXAMPLE = ROOT / "examples" / "germanwings.toml"
TOKEN = "bench-token"


def server_cpu_seconds(server: PostgresServer) -> float:
    """CPU seconds the server has used so far: the postmaster, its live backends and the
    backends that have exited (counted into the postmaster's children's time)."""
    pid = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    total = _cpu_seconds(pid, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def germanwings_config(path: Path, storage: str, index_dir: Path, port: int = 0,
                       extra: str = "") -> Path:
    """``examples/germanwings.toml`` (its tiers and incident) with ``storage`` as the
    ``[storage]`` section's body and an index folder of its own."""
    example = EXAMPLE.read_text(encoding="utf-8")
    rest = example[example.index("[tiers]"):]
    path.write_text(
        f'[storage]\n{storage}\n[index]\ndir = "{index_dir}"\n'
        f"[service]\nport = {port}\n{extra}\n{rest}",
        encoding="utf-8",
    )
    return path


def clean_env() -> dict[str, str]:
    """This environment without CLAIMWATCH_* variables, with the bench's write token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMWATCH_")}
    env["CLAIMWATCH_API_TOKEN"] = TOKEN
    env["PYTHONWARNINGS"] = "ignore"
    return env


def claimwatch(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``claimwatch ARGS`` as a subprocess (the installed CLI's module), checked."""
    done = subprocess.run([sys.executable, "-m", "tracker", *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"claimwatch {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    return done


# -- workers ----------------------------------------------------------------------------


def _cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User and system CPU seconds of process ``pid`` so far, all its threads (Linux);
    with ``children``, those of its children that have exited too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


async def _push(bases: list[str], records: list[dict[str, Any]], batch: int, clients: int,
                store: Store) -> tuple[float, int, float]:
    """Push ``records`` in requests of ``batch`` dealt round-robin to ``bases``, with
    ``clients`` concurrent clients per worker. Seconds from the first request until every
    accepted post is stored and processed, posts accepted, and seconds to the last 202."""
    batches = [records[i : i + batch] for i in range(0, len(records), batch)]
    queues: list[asyncio.Queue[list[dict[str, Any]]]] = [asyncio.Queue() for _ in bases]
    for n, item in enumerate(batches):
        queues[n % len(bases)].put_nowait(item)
    accepted = 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession, base: str,
                     queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        nonlocal accepted
        while not queue.empty():
            body = json.dumps(queue.get_nowait()).encode()
            accepted += await post_posts(session, base, body, headers)

    def done() -> bool:
        return store.count("posts") >= accepted and not store.unprocessed_posts(limit=1)

    timeout = aiohttp.ClientTimeout(total=1800)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session, base, queue)
                               for base, queue in zip(bases, queues, strict=True)
                               for _ in range(clients)))
        acked = time.perf_counter() - start
    while not await asyncio.to_thread(done):
        await asyncio.sleep(0.1)
    return time.perf_counter() - start, accepted, acked


def run_workers(server: PostgresServer, tmp: Path, n: int, records: list[dict[str, Any]],
                batch: int, clients: int, engine: str = "postgresql") -> dict[str, Any]:
    """``n`` workers on a fresh database (PostgreSQL, or one SQLite file): the push's
    figures."""
    folder = tmp / f"workers-{n}-{time.monotonic_ns()}"
    folder.mkdir()
    url = (server.fresh_database(f"w{n}_") if engine == "postgresql"
           else str(folder / "shared.db"))
    storage = f'url = "{url}"' if engine == "postgresql" else f'path = "{url}"'
    configs = []
    ports = []
    for k in range(n):
        ports.append(free_port())
        configs.append(germanwings_config(folder / f"worker{k}.toml", storage,
                                          folder / f"indexes{k}", ports[-1]))
    migrated = claimwatch(["db", "migrate", "--config", str(configs[0]), "--json"])
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for k, config in enumerate(configs):
            logs.append((folder / f"worker{k}.log").open("wb"))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "tracker", "run", "--config", str(config)],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=logs[-1], env=clean_env(),
            ))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, proc in zip(bases, procs, strict=True):
            asyncio.run(wait_ready(base, proc, 600, f"the worker at {base}"))
        store = Store(url)
        try:
            cpu = [_cpu_seconds(p.pid) for p in procs]
            server_cpu = server_cpu_seconds(server)
            seconds, accepted, acked = asyncio.run(_push(bases, records, batch, clients, store))
            cpu = [_cpu_seconds(p.pid) - c for p, c in zip(procs, cpu, strict=True)]
            server_cpu = server_cpu_seconds(server) - server_cpu
            stored = store.count("posts")
            claims = store.count("claims")
            narratives = len(store.narrative_states())
        finally:
            store.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=120) for proc in procs]
        for log in logs:
            log.close()
    # what the next consolidation makes of it (workers merge every consolidate_seconds)
    with Runtime(load_settings(configs[0], environ={})) as runtime:
        runtime.pipeline().consolidate_now()
        consolidated = len(runtime.store.narrative_states())
    summaries = []
    for k in range(n):
        lines = [line for line in (folder / f"worker{k}.log").read_text().splitlines()
                 if "claimwatch stopped" in line]
        summaries.append(lines[-1].split(": ", 1)[-1] if lines else "no summary line")
    return {"seconds": seconds, "acked": acked, "accepted": accepted, "stored": stored,
            "server_cpu": server_cpu, "consolidated": consolidated,
            "claims": claims, "narratives": narratives, "cpu": cpu, "codes": codes,
            "summaries": summaries, "migrate": json.loads(migrated.stdout)}


# -- ingest on both engines ---------------------------------------------------------------


def ingest_once(file: Path, settings: Settings) -> tuple[float, int, int]:
    """Seconds, posts stored and claims stored by ``Pipeline.ingest`` of ``file`` (the
    final consolidation included)."""
    with Runtime(settings) as runtime:
        pipeline = runtime.pipeline()  # opens the store and the index, loads the model
        post_file = PostFile(str(file))
        items = post_file.aposts(default_source=settings.ingest.default_source,
                                 max_text_chars=settings.ingest.max_text_chars)
        start = time.perf_counter()
        report = asyncio.run(pipeline.ingest(items, settings.ingest.batch_posts))
        seconds = time.perf_counter() - start
        post_file.close()
    return seconds, report.stored, report.claims


def ingest_engine(
    server: PostgresServer, tmp: Path, file: Path, engine: str
) -> tuple[float, int, int]:
    folder = tmp / f"ingest-{engine}-{time.monotonic_ns()}"
    folder.mkdir()
    storage = (f'url = "{server.fresh_database("ingest_")}"' if engine == "postgresql"
               else f'path = "{folder / "bench.db"}"')
    config = germanwings_config(folder / "claimwatch.toml", storage, folder / "indexes")
    return ingest_once(file, load_settings(config, environ={}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--batch", type=int, default=100, help="posts per request")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients per worker")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-ingest", action="store_true", help="only the workers part")
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql",
                        help="the workers' shared database (sqlite: one file, for comparison)")
    args = parser.parse_args()
    records = [json.loads(line) for line in
               args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"file: {args.file.name}  posts: {len(records)}  batch: {args.batch}  clients per "
          f"worker: {args.clients}  runs: {args.repeat}  cores: {os.cpu_count()}", flush=True)
    one: list[dict[str, Any]] = []
    two: list[dict[str, Any]] = []
    pg: list[tuple[float, int, int]] = []
    lite: list[tuple[float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="claimwatch-bench-workers-") as scratch, \
            postgres_server() as server:
        tmp = Path(scratch)
        for _ in range(args.repeat):
            for n, runs in ((1, one), (2, two)):
                runs.append(run_workers(server, tmp, n, records, args.batch, args.clients,
                                        args.engine))
                r = runs[-1]
                print(f"  {n} worker(s): {r['seconds']:.1f} s to processed ({r['acked']:.1f} s "
                      f"to the last 202), {r['stored']} posts, {r['claims']} claims, "
                      f"{r['narratives']} narratives ({r['consolidated']} after a consolidation); "
                      "CPU s per worker "
                      f"{', '.join(f'{c:.1f}' for c in r['cpu'])}, PostgreSQL "
                      f"{r['server_cpu']:.1f}; exits {r['codes']}",
                      flush=True)
                for line in r["summaries"]:
                    print(f"    {line}", flush=True)
        if not args.skip_ingest:
            settings = Settings()
            shared_embedder(settings.embedding).encode(["warm up the model once"] * 64)
            for _ in range(args.repeat):
                for engine, runs2 in (("sqlite", lite), ("postgresql", pg)):
                    own, served = time.process_time(), server_cpu_seconds(server)
                    runs2.append(ingest_engine(server, tmp, args.file, engine))
                    own, served = time.process_time() - own, server_cpu_seconds(server) - served
                    s, p, c = runs2[-1]
                    print(f"  ingest on {engine}: {s:.1f} s, {p} posts, {c} claims; CPU s: "
                          f"claimwatch {own:.1f}, PostgreSQL server {served:.1f}", flush=True)

    rate1 = one[0]["stored"] / statistics.median(r["seconds"] for r in one)
    rate2 = two[0]["stored"] / statistics.median(r["seconds"] for r in two)
    cpu1 = statistics.median(sum(r["cpu"]) for r in one)
    cpu2 = statistics.median(sum(r["cpu"]) for r in two)
    print(f"one worker:   {rate1:8.1f} posts/s stored and processed  "
          f"({one[0]['stored'] / cpu1:.1f} posts per worker CPU second)")
    print(f"two workers:  {rate2:8.1f} posts/s stored and processed  "
          f"({two[0]['stored'] / cpu2:.1f} posts per worker CPU second)")
    print(f"ratio two/one workers: {rate2 / rate1:.2f}  (posts per CPU second: "
          f"{(two[0]['stored'] / cpu2) / (one[0]['stored'] / cpu1):.2f})")
    if lite and pg:
        t_lite = statistics.median(s for s, _, _ in lite)
        t_pg = statistics.median(s for s, _, _ in pg)
        c_lite = lite[0][2] / t_lite
        c_pg = pg[0][2] / t_pg
        print(f"ingest on SQLite:      {c_lite:8.1f} claims/s ({lite[0][1]} posts, "
              f"{lite[0][2]} claims)")
        print(f"ingest on PostgreSQL:  {c_pg:8.1f} claims/s ({pg[0][1]} posts, "
              f"{pg[0][2]} claims)")
        print(f"ratio PostgreSQL/SQLite claims/s: {c_pg / c_lite:.2f}")


if __name__ == "__main__":
    main()
