"""From the answer to the POST that makes a narrative cross a rule to the webhook receiver
getting that alert: p50/p95 over ``--alerts`` alerts, idle and while bench/load.py's
clients push.

    .venv/bin/python bench/latency.py [--alerts 24] [--load-clients 8] [--skip-load]

A fresh ``claimwatch run`` (subprocess, temp folder) with one incident per city (each its
own term, so each city's claim is a narrative of its own), the alert rule of the service
tests (4 posts from 3 authors outrunning a verified floor) and a signed webhook channel to
a receiver on 127.0.0.1 in this process. For each city, posts saying the TTP is behind the
blast there are pushed one request at a time; after each 202 the receiver is watched for
that city's alert (2 s). The latency of an alert is the receiver's clock when it arrived
minus the clock when the 202 of the post that raised it was read (same process, same
monotonic clock; negative when the alert came before the answer).

Phase 1 idle; phase 2 the same (new cities) while ``--load-clients`` clients of
bench/load.py push germanwings batches at the same daemon. Goal: p95 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz import WRITE, BenchDaemon, running_daemon
from load import INCIDENT, Tally, pushers

CITIES = ["Quetta", "Turbat", "Gwadar", "Sibi", "Zhob", "Loralai", "Kalat", "Khuzdar",
          "Panjgur", "Chaman", "Dera", "Mastung", "Nushki", "Kharan", "Awaran", "Lasbela",
          "Ziarat", "Pishin", "Harnai", "Kohlu", "Barkhan", "Musakhel", "Sherani", "Washuk",
          "Jhal", "Bolan", "Naseer", "Jaffar", "Sohbat", "Usta", "Kachhi", "Hub", "Ormara",
          "Pasni", "Jiwani", "Dalbandin", "Taftan", "Nokkundi", "Mand", "Tump", "Buleda",
          "Hoshab", "Surab", "Wadh", "Nal", "Zehri", "Mashkay", "Gichk"]


def settings(hook: str, cities: list[str]) -> str:
    started = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    incidents = "".join(f"""
[[incidents]]
id = "{city.lower()}"
title = "{city} blast"
description = "A bomb exploded in {city}."
started_at = "{started}"
terms = ["{city}"]
""" for city in cities)
    return f"""[service]
drain_seconds = 0.5

[[rules]]
name = "outrunning-verified"
window_minutes = 240
ratio = 1.0
min_posts = 4
min_authors = 3
verified_floor = 0.01
cooldown_minutes = 600
resolve_after_minutes = 600

[[channels]]
name = "desk"
type = "webhook"
url = "{hook}"
timeout_seconds = 5
{incidents}
{INCIDENT}
"""


class Receiver:
    """A webhook receiver on 127.0.0.1: the arrival time of each alert, by incident."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        body = json.loads(await request.read())
        if body.get("event") == "raised":
            self.arrived.setdefault(str(body.get("incident_id")), at)
        return web.Response(text="ok")


async def measure(daemon: BenchDaemon, receiver: Receiver, cities: list[str]) -> list[float]:
    """Seconds from the answer to the raising POST to the alert's arrival, per city."""
    out: list[float] = []
    headers = {**WRITE, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        for city in cities:
            incident = city.lower()
            for n in range(12):
                at = datetime.now(UTC) - timedelta(minutes=30 - n)
                post = {"id": f"lat-{incident}-{n}", "author": f"witness-{n}",
                        "tier": "unverified", "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "text": f"Sources say the TTP is behind the {city} blast"
                                + ("" if n % 2 else f", witness {n} says")}
                while True:
                    async with session.post(f"{daemon.base}/v1/posts", json=[post],
                                            headers=headers) as response:
                        await response.read()
                        answered = time.monotonic()
                        if response.status == 429:
                            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                            continue
                        if response.status != 202:
                            raise SystemExit(f"POST answered {response.status}")
                        break
                deadline = time.monotonic() + 2.0
                while incident not in receiver.arrived and time.monotonic() < deadline:
                    await asyncio.sleep(0.002)
                if incident in receiver.arrived:
                    out.append(receiver.arrived[incident] - answered)
                    break
            else:
                print(f"  no alert for {city} after 12 posts", flush=True)
    return out


def summary(label: str, values: list[float]) -> str:
    if len(values) < 2:
        return f"{label}: {len(values)} alerts (too few)"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (f"{label}: {len(values)} alerts, p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms,"
            f" max {max(values) * 1000:.0f} ms ({sum(1 for v in values if v < 0)} arrived "
            "before the answer)")


async def run(args: argparse.Namespace) -> bool:
    receiver = Receiver()
    await receiver.start()
    idle, loaded = CITIES[: args.alerts], CITIES[args.alerts : 2 * args.alerts]
    try:
        config = settings(f"http://127.0.0.1:{receiver.port}/hook", idle + loaded)
        with running_daemon(config) as daemon:
            first = await measure(daemon, receiver, idle)
            print(summary("idle", first), flush=True)
            second: list[float] = []
            tally = Tally()
            if not args.skip_load:
                until = time.monotonic() + 3600

                async def load() -> None:
                    await pushers(daemon, tally, clients=args.load_clients, inflight=2,
                                  batch=50, until=until)

                loading = asyncio.ensure_future(load())
                await asyncio.sleep(5)  # let the load build up
                second = await measure(daemon, receiver, loaded)
                loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loading
                print(summary(f"under load ({args.load_clients} clients pushing, "
                              f"{tally.statuses[202]} x 202, {tally.statuses[429]} x 429 "
                              "meanwhile)", second), flush=True)
    finally:
        await receiver.stop()
    values = first + second
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else 9
    return len(first) >= 20 and p95 < 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=24, help="alerts per phase")
    parser.add_argument("--load-clients", type=int, default=8)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    args.alerts = min(args.alerts, len(CITIES) // 2)
    ok = asyncio.run(run(args))
    print("PASS" if ok else "FAIL (goal: p95 under 1 s, at least 20 alerts)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
