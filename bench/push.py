"""Posts/s pushed through the daemon's ``POST /v1/posts`` against ``claimwatch ingest`` of
the same file, measured in the same run, then the latency of ``GET /v1/query``.

    .venv/bin/python bench/push.py [FILE] [--batch 100] [--clients 4] [--queries 60]
                                   [--repeat N]

1. ingest: FILE (default: the germanwings PHEME thread file) into a fresh database under
   the incident of ``examples/germanwings.toml``, the way ``claimwatch ingest`` does it
   (``Pipeline.ingest``, ``[ingest] batch_posts`` per transaction), timed from the first
   record to the end of the final consolidation; model loading is outside the timing.
2. push: ``claimwatch run`` as a subprocess on another fresh database with the same
   settings; once ``/healthz`` answers (the model is loaded), FILE is posted in requests
   of ``--batch`` posts by ``--clients`` concurrent clients, timed from the first request
   to the last 202 (every post committed, linked and clustered).
3. query: ``--queries`` sequential ``GET /v1/query`` (k=10, within the incident) on claim
   texts from the file, against the daemon holding the whole file; p50 and p95 in ms.
4. the event loop: the daemon's ``claimwatch_loop_stall_max_seconds`` read from ``/metrics``
   right after the push (its worst delay in waking a task, from its start to the end of the
   push), against the push's wall time.

Prints posts/s both ways, their ratio (push over ingest), the same ratio in posts per CPU
second (steadier when other work shares the machine), and the query latencies. With
--repeat N, ingest and push are measured N times, interleaved, and medians reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
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

from tracker.config.settings import Settings, load_settings  # noqa: E402
from tracker.ingest.files import PostFile  # noqa: E402
from tracker.pipeline import IngestReport  # noqa: E402
from tracker.runtime import Runtime  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
EXAMPLE = ROOT / "examples" / "germanwings.toml"
TOKEN = "bench-token"
_READ = {"Authorization": f"Bearer {TOKEN}"}  # the write token reads too


def _config(folder: Path, port: int) -> Path:
    """The example's tiers and incident, with storage in ``folder``."""
    example = EXAMPLE.read_text(encoding="utf-8")
    rest = example[example.index("[tiers]"):]
    path = folder / "claimwatch.toml"
    path.write_text(
        f'[storage]\npath = "{folder / "bench.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
        f"[service]\nport = {port}\n\n{rest}",
        encoding="utf-8",
    )
    return path


def ingest(file: Path, settings: Settings) -> tuple[float, float, float, int]:
    """Seconds in all, seconds until the last batch was committed (before the final
    consolidation, which the daemon runs on its own schedule), CPU seconds (all threads)
    and posts stored, by the ingest path of ``claimwatch ingest``."""
    with Runtime(settings) as runtime:
        pipeline = runtime.pipeline()  # opens the index and loads the model
        post_file = PostFile(str(file))
        items = post_file.aposts(default_source=settings.ingest.default_source,
                                 max_text_chars=settings.ingest.max_text_chars)
        committed = [0.0]

        def on_batch(report: IngestReport) -> None:
            committed[0] = time.perf_counter()

        cpu = time.process_time()
        start = time.perf_counter()
        report = asyncio.run(
            pipeline.ingest(items, settings.ingest.batch_posts, on_batch=on_batch)
        )
        end = time.perf_counter()
        cpu = time.process_time() - cpu
        post_file.close()
    return end - start, committed[0] - start, cpu, report.stored


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(
    base: str, proc: subprocess.Popen[bytes], timeout: float = 300, what: str = "the daemon"
) -> None:
    """Until ``base`` answers /healthz 200; SystemExit when ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{what} exited during start-up")
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{what} did not answer /healthz")


async def post_posts(
    session: aiohttp.ClientSession, base: str, body: bytes, headers: dict[str, str]
) -> int:
    """POST one request of posts to ``base``, again after a 429's Retry-After; the number
    accepted (SystemExit on any answer but 202)."""
    while True:
        async with session.post(f"{base}/v1/posts", data=body, headers=headers) as response:
            answer = await response.json()
            if response.status == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status != 202:
                raise SystemExit(f"{base}/v1/posts answered {response.status}: {answer}")
            return int(answer["accepted"])


async def push(base: str, records: list[dict[str, Any]], batch: int, clients: int
               ) -> tuple[float, int]:
    """Seconds from the first request to the last 202, and posts accepted."""
    batches = [records[i : i + batch] for i in range(0, len(records), batch)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for item in batches:
        queue.put_nowait(item)
    accepted = 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while not queue.empty():
            body = json.dumps(queue.get_nowait()).encode()
            accepted += await post_posts(session, base, body, headers)

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        return time.perf_counter() - start, accepted


async def loop_stall(base: str) -> float:
    """The daemon's worst event-loop stall so far, in seconds (from ``/metrics``)."""
    async with aiohttp.ClientSession(headers=_READ) as session, \
            session.get(f"{base}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("claimwatch_loop_stall_max_seconds "):
            return float(line.split()[1])
    raise SystemExit("/metrics has no claimwatch_loop_stall_max_seconds")


async def queries(base: str, texts: list[str]) -> list[float]:
    """Milliseconds per ``GET /v1/query``, one at a time."""
    out: list[float] = []
    async with aiohttp.ClientSession(headers=_READ) as session:
        for text in texts:
            start = time.perf_counter()
            params = {"q": text, "k": "10", "incident": "germanwings"}
            async with session.get(f"{base}/v1/query", params=params) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"GET /v1/query answered {response.status}")
            out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--batch", type=int, default=100, help="posts per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--queries", type=int, default=60, help="GET /v1/query requests")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure both N times, interleaved; medians are reported")
    args = parser.parse_args()
    lines = [line for line in args.file.read_text(encoding="utf-8").splitlines() if line]
    records = [json.loads(line) for line in lines]
    runs = [run_once(args, records) for _ in range(args.repeat)]
    t_ingest = statistics.median(r["ingest"] for r in runs)
    t_committed = statistics.median(r["committed"] for r in runs)
    t_push = statistics.median(r["push"] for r in runs)
    n_ingest, n_push = runs[0]["n_ingest"], runs[0]["n_push"]
    latencies = runs[-1]["latencies"]
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[18]
    ingest_rate = n_ingest / t_ingest
    push_rate = n_push / t_push
    print(f"file: {args.file.name}  posts: {len(records)}  batch: {args.batch}  "
          f"clients: {args.clients}  runs: {args.repeat}")
    print(f"claimwatch ingest:  {t_ingest:7.2f} s  {n_ingest:5d} stored  "
          f"{ingest_rate:8.1f} posts/s  ({n_ingest / t_committed:.1f} posts/s to the last "
          "commit, before the final consolidation)")
    print(f"POST /v1/posts:     {t_push:7.2f} s  {n_push:5d} stored  {push_rate:8.1f} posts/s")
    print(f"ratio push/ingest:  {push_rate / ingest_rate:.2f}  "
          f"({push_rate * t_committed / n_ingest:.2f} against ingest to its last commit)")
    print(f"GET /v1/query ({len(latencies)} requests, k=10, after the last run's push): "
          f"p50 {p50:.1f} ms  p95 {p95:.1f} ms")
    cpu_ingest = statistics.median(r["cpu_ingest"] for r in runs)
    cpu_push = statistics.median(r["cpu_push"] for r in runs)
    print(f"CPU seconds (all threads; steadier than wall time on a shared machine): ingest "
          f"{cpu_ingest:.1f}, daemon during the push {cpu_push:.1f}; posts per CPU second "
          f"ratio push/ingest {(n_push / cpu_push) / (n_ingest / cpu_ingest):.2f}")
    stall = max(r["stall"] for r in runs)
    print(f"event loop: worst stall {stall * 1000:.1f} ms from the daemon being ready to the "
          f"end of the push ({stall / t_push:.4f} of the push's wall time; "
          "claimwatch_loop_stall_max_seconds)")
    for r in runs:
        print(f"run: ingest {r['ingest']:.2f} s (last commit {r['committed']:.2f} s), push "
              f"{r['push']:.2f} s; daemon exit {r['code']}; {r['summary']}")


def run_once(args: argparse.Namespace, records: list[dict[str, Any]]) -> dict[str, Any]:
    """One ingest, then one push and the queries against a fresh daemon."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ingest"
        folder.mkdir()
        settings = load_settings(_config(folder, 0), environ={})
        t_ingest, t_committed, cpu_ingest, n_ingest = ingest(args.file, settings)

        folder = Path(tmp) / "push"
        folder.mkdir()
        port = _free_port()
        config = _config(folder, port)
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMWATCH_")}
        env["CLAIMWATCH_API_TOKEN"] = TOKEN
        log = (folder / "daemon.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", "--config", str(config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=env,
        )
        try:
            asyncio.run(wait_ready(base, proc))
            cpu_push = _cpu_seconds(proc.pid)
            t_push, n_push = asyncio.run(push(base, records, args.batch, args.clients))
            cpu_push = _cpu_seconds(proc.pid) - cpu_push
            stall = asyncio.run(loop_stall(base))
            step = max(1, len(records) // max(1, args.queries))
            texts = [str(r.get("text") or "crash") for r in records[::step]][: args.queries]
            latencies = asyncio.run(queries(base, texts))
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
            log.close()
        summary = [line for line in (folder / "daemon.log").read_text().splitlines()
                   if "claimwatch stopped" in line]
    return {"ingest": t_ingest, "committed": t_committed, "n_ingest": n_ingest,
            "push": t_push, "n_push": n_push, "cpu_ingest": cpu_ingest, "cpu_push": cpu_push,
            "latencies": latencies, "code": code, "stall": stall,
            "summary": summary[-1].split(": ", 1)[-1] if summary else "no summary line"}


if __name__ == "__main__":
    main()
