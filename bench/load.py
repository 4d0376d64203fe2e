"""Eight clients pushing as fast as they can for a bounded time: 202/429 counts, latency,
and the daemon's memory, which must level off (429 before memory grows).

    .venv/bin/python bench/load.py [--clients 8] [--inflight 2] [--batch 50]
                                   [--seconds 150] [--every 5] [--readers 2]

A fresh ``claimwatch run`` (subprocess, temp folder, ``[service] queue_batches = 8``) under
the germanwings incident; each of ``--clients`` clients (each from a loopback address of
its own, 127.0.0.2 on, as separate machines) keeps ``--inflight`` requests of
``--batch`` germanwings posts (fresh ids, so every post is new work) in flight for
``--seconds``; a 429 is waited out as its Retry-After says. ``--readers`` more clients ask
``GET /v1/query`` without pause meanwhile. Every ``--every`` seconds: the daemon's RSS
(``/proc/PID/status`` VmRSS), the answers so far, and how long ``GET /healthz`` took.

Printed: a row per sample, then 202 and 429 counts, posts accepted per second, p50/p95 of
the 202 answers' latency, and the RSS verdict: after the first minute, max/min within 10%
(flat) or not, of RSS and of RSS less the FAISS index's vectors (the index keeps every
claim's vector in memory by design: that part grows with what is stored, not with load).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz import READ, ROOT, WRITE, BenchDaemon, running_daemon

GERMANWINGS = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
INCIDENT = "[[incidents]]" + (ROOT / "examples" / "germanwings.toml").read_text(
    encoding="utf-8").split("[[incidents]]", 1)[1]
SETTINGS = "[service]\nqueue_batches = 8\n\n" + INCIDENT


def germanwings(n: int = 4000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with GERMANWINGS.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                out.append(json.loads(line))
            if len(out) == n:
                break
    return out


@dataclass
class Tally:
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of 202 answers
    accepted: int = 0
    reads: collections.Counter[int] = field(default_factory=collections.Counter)


async def pushers(daemon: BenchDaemon, tally: Tally, *, clients: int, inflight: int,
                  batch: int, until: float, prefix: str = "load") -> None:
    """``clients`` x ``inflight`` loops posting batches of fresh germanwings posts until
    ``until`` (monotonic)."""
    records = germanwings()
    counter = 0

    def next_batch() -> bytes:
        nonlocal counter
        out = []
        for _ in range(batch):
            record = dict(records[counter % len(records)])
            record["id"] = f"{prefix}-{counter}"
            counter += 1
            out.append(record)
        return json.dumps(out).encode()

    headers = {**WRITE, "Content-Type": "application/json"}

    async def loop(session: aiohttp.ClientSession) -> None:
        body = next_batch()
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                async with session.post(f"{daemon.base}/v1/posts", data=body,
                                        headers=headers) as response:
                    answer = await response.json(content_type=None)
                    status = response.status
                    wait = float(response.headers.get("Retry-After", "1"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally.statuses[-1] += 1
                print(f"  transport failure: {type(exc).__name__}: {exc}", flush=True)
                await asyncio.sleep(1)
                continue
            tally.statuses[status] += 1
            if status == 202:
                tally.latencies.append(time.perf_counter() - started)
                tally.accepted += answer["accepted"]
                body = next_batch()
            elif status == 429:
                await asyncio.sleep(min(wait, max(0.0, until - time.monotonic())))
            else:
                print(f"  POST answered {status}: {str(answer)[:200]}", flush=True)
                await asyncio.sleep(1)

    timeout = aiohttp.ClientTimeout(total=600)
    # each client from an address of its own (all of 127.0.0.0/8 is loopback), as separate
    # machines would be: the daemon's per-client cap applies to each
    sessions = [aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(
        local_addr=(f"127.0.0.{k + 2}", 0))) for k in range(clients)]
    try:
        await asyncio.gather(*(loop(s) for s in sessions for _ in range(inflight)))
    finally:
        for session in sessions:
            await session.close()


async def readers(daemon: BenchDaemon, tally: Tally, count: int, until: float) -> None:
    texts = [r["text"] for r in germanwings(400) if len(r.get("text", "")) > 30][:100]

    async def loop(session: aiohttp.ClientSession, offset: int) -> None:
        i = offset
        while time.monotonic() < until:
            params = {"q": texts[i % len(texts)], "k": "10"}
            i += 1
            try:
                async with session.get(f"{daemon.base}/v1/query", params=params,
                                       headers=READ) as response:
                    await response.read()
                    tally.reads[response.status] += 1
                    if response.status == 429:
                        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            except (aiohttp.ClientError, TimeoutError):
                tally.reads[-1] += 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        await asyncio.gather(*(loop(session, k * 17) for k in range(count)))


VECTOR_BYTES = 384 * 4 + 8
"""What one claim holds in the FAISS flat index: its float32 vector and its id."""


def claims_stored(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM claims").fetchone()[0])


async def monitor(daemon: BenchDaemon, tally: Tally, every: float, until: float,
                  started: float) -> list[tuple[float, float, float]]:
    """(seconds since start, RSS MiB, RSS less the index's vectors MiB) every ``every``
    seconds, a row printed for each. The index holds every claim's vector in memory (by
    design), so RSS grows with what is stored; what must not grow is the rest."""
    samples: list[tuple[float, float, float]] = []
    print(f"{'t s':>6} {'RSS MiB':>8} {'claims':>7} {'less vec':>8} {'202':>6} {'429':>6} "
          f"{'posts':>7} {'healthz ms':>10} {'reads 200/429':>14}", flush=True)
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < until:
            t0 = time.perf_counter()
            async with session.get(f"{daemon.base}/healthz") as response:
                await response.read()
            health_ms = (time.perf_counter() - t0) * 1000
            at, rss = time.monotonic() - started, daemon.rss_mib()
            claims = await asyncio.to_thread(claims_stored, daemon.db)
            rest = rss - claims * VECTOR_BYTES / 2**20
            samples.append((at, rss, rest))
            print(f"{at:6.0f} {rss:8.0f} {claims:7d} {rest:8.0f} {tally.statuses[202]:6d} "
                  f"{tally.statuses[429]:6d} "
                  f"{tally.accepted:7d} {health_ms:10.1f} "
                  f"{tally.reads[200]:>7d}/{tally.reads[429]:<6d}", flush=True)
            await asyncio.sleep(every)
    return samples


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(
        values) > 1 else values[0]


def report(tally: Tally, samples: list[tuple[float, float, float]], seconds: float) -> bool:
    """Print the figures; whether RSS less the index's vectors stayed flat after the
    first minute."""
    print(f"answers: {dict(sorted(tally.statuses.items()))} (202 and 429 are the expected "
          f"ones); reads: {dict(sorted(tally.reads.items()))}")
    print(f"posts accepted {tally.accepted} ({tally.accepted / seconds:.0f}/s); 202 latency "
          f"p50 {percentile(tally.latencies, 50) * 1000:.0f} ms, "
          f"p95 {percentile(tally.latencies, 95) * 1000:.0f} ms")
    late = [(rss, rest) for at, rss, rest in samples if at >= 60]
    if len(late) < 2:
        print("RSS: too few samples after the first minute to judge (run longer)")
        return False
    flat = True
    for label, values in (("RSS", [r for r, _ in late]),
                          ("RSS less the index's vectors", [r for _, r in late])):
        spread = max(values) / min(values) - 1
        print(f"{label} after the first minute: {min(values):.0f}-{max(values):.0f} MiB "
              f"({spread * 100:.1f}% spread, goal within 10%)")
        flat = spread <= 0.10
    return flat


async def run(daemon: BenchDaemon, args: argparse.Namespace) -> bool:
    tally = Tally()
    started = time.monotonic()
    until = started + args.seconds
    work = [pushers(daemon, tally, clients=args.clients, inflight=args.inflight,
                    batch=args.batch, until=until)]
    if args.readers:
        work.append(readers(daemon, tally, args.readers, until))
    sampled, *_ = await asyncio.gather(monitor(daemon, tally, args.every, until, started),
                                       *work)
    return report(tally, sampled, args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--inflight", type=int, default=2, help="requests per client")
    parser.add_argument("--batch", type=int, default=50, help="posts per request")
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--readers", type=int, default=2, help="GET /v1/query clients")
    args = parser.parse_args()
    with running_daemon(SETTINGS) as daemon:
        print(f"daemon up, RSS {daemon.rss_mib():.0f} MiB; {args.clients} clients x "
              f"{args.inflight} requests of {args.batch} posts, {args.readers} readers, "
              f"{args.seconds:g} s", flush=True)
        flat = asyncio.run(run(daemon, args))
        alive = daemon.proc.poll() is None
    print("PASS" if flat and alive else "FAIL")
    raise SystemExit(0 if flat and alive else 1)


if __name__ == "__main__":
    main()
