"""Page weight and first render of the analyst's page for an incident of 10,000 posts.

    .venv/bin/python bench/page.py [--keep DIR] [--shots DIR] [--posts N] [--repeat N]

Builds one database holding the germanwings incident with at least N posts (default
10,000): the PHEME germanwings thread file, then copies of it with new ids (``-c1``,
``-c2`` suffixes, threads and replies kept together) and times shifted by 2 h per copy,
inside the incident's window; ingested through the real pipeline under the incident of
``examples/germanwings.toml`` (claims, model, SQLite, FAISS, linking, narratives, rules).
With ``--keep DIR`` the database is built once into DIR and reused by later runs.

Then starts ``claimwatch run`` on it (a subprocess, with a read token), and opens the
incident view and the view of its biggest narrative in Debian's headless Chromium
(Playwright), each in a fresh browser context (nothing cached), ``--repeat`` times. For
each it measures: the requests made until the view had rendered, their bytes (the
Performance API's ``encodedBodySize``, the bodies as sent; ``transferSize`` adds the
headers), and the first render: ``performance.now()`` (from navigation start) when the
timeline's SVG and the narratives table's rows exist (the incident view) or the activity
chart and the claims' rows (the narrative view). Prints median and max, and the request
that weighed and took most. Screenshots of both views go to ``--shots`` (default
bench/out/page/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import load_settings  # noqa: E402
from tracker.ingest.files import PostFile  # noqa: E402
from tracker.runtime import Runtime  # noqa: E402

GERMANWINGS = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
READ = "bench-read-token"
WRITE = "bench-write-token"
INCIDENT = "germanwings"
SHIFT_HOURS = 2.0  # each copy is this much later than the one before

# examples/germanwings.toml without its storage and index lines (as tests/test_page.py
# takes it): its verified newsrooms and its incident.
EXAMPLE = re.sub(r'(?m)^\[(storage|index)\]\n(path|dir) = .*\n', "",
                 (ROOT / "examples" / "germanwings.toml").read_text(encoding="utf-8"))

# Set before the page's own script runs: the moment (performance.now(), from navigation
# start) when every selector of window.__ready matches, kept in window.__rendered.
OBSERVER = """
(() => {
  const ready = () => (window.__ready || []).length &&
    window.__ready.every((sel) => document.querySelector(sel));
  const check = () => {
    if (window.__rendered === undefined && ready()) window.__rendered = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""

VIEWS = {
    "incident": ["#chart svg path.series", "#narrative-table tbody tr"],
    "narrative": ["#activity-chart svg", "#claim-table tbody tr", "#history-list li"],
}


# -- the database -------------------------------------------------------------------------


def copies(source: Path, posts: int) -> Iterator[str]:
    """Lines of a post file: ``source``, then shifted copies of it, ``posts`` lines in all
    (at least the whole of ``source``)."""
    records = [json.loads(ln) for ln in source.read_text(encoding="utf-8").splitlines()
               if ln.strip()]
    for record in records:
        yield json.dumps(record)
    left, k = posts - len(records), 0
    while left > 0:
        k += 1
        suffix, shift = f"-c{k}", timedelta(hours=SHIFT_HOURS * k)
        for record in records[:left]:
            copy = dict(record)
            for key in ("id", "thread_id", "in_reply_to"):
                if copy.get(key) is not None:
                    copy[key] = f"{copy[key]}{suffix}"
            at = datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
            copy["created_at"] = (at + shift).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            yield json.dumps(copy)
        left -= len(records)


def write_config(folder: Path) -> Path:
    path = folder / "claimwatch.toml"
    path.write_text(
        f'[storage]\npath = "{folder / "claimwatch.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
        + EXAMPLE + """
[service]
host = "127.0.0.1"
evaluate_seconds = 3600.0
drain_seconds = 0.5

[[channels]]
name = "desk-log"
type = "log"
""", encoding="utf-8")
    return path


def build(folder: Path, posts: int) -> dict[str, Any]:
    """The database in ``folder`` (built unless a finished one for ``posts`` is there)."""
    done = folder / "built.json"
    if done.exists():
        built: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
        if built.get("posts_in_file") == posts:
            return built
    for stale in ("claimwatch.db", "claimwatch.db-wal", "claimwatch.db-shm", "ix", "built.json"):
        target = folder / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "posts.jsonl"
    file.write_text("\n".join(copies(GERMANWINGS, posts)) + "\n", encoding="utf-8")
    settings = load_settings(write_config(folder), environ={})
    print(f"building the database in {folder} ({posts} posts)…", flush=True)
    start = time.perf_counter()
    with Runtime(settings) as runtime:
        pipeline = runtime.pipeline()
        post_file = PostFile(str(file))
        items = post_file.aposts(default_source="pheme", max_text_chars=20000)
        report = asyncio.run(pipeline.ingest(items, settings.ingest.batch_posts))
        runtime.worker.call(runtime.index().save)
        post_file.close()
        counts = runtime.store.incident_counts(INCIDENT)
    built = {"posts_in_file": posts, "stored": report.stored, "claims": report.claims,
             "seconds": round(time.perf_counter() - start, 1), "incident": counts}
    done.write_text(json.dumps(built), encoding="utf-8")
    return built


# -- the daemon ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {READ}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@contextmanager
def daemon(folder: Path) -> Iterator[str]:
    """``claimwatch run`` on the database in ``folder``; its base URL once it answers."""
    port = free_port()
    env = {**os.environ, "CLAIMWATCH_API_TOKEN": WRITE, "CLAIMWATCH_READ_TOKEN": READ}
    log = open(folder / "daemon.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "run", "--config", str(folder / "claimwatch.toml"),
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the daemon exited ({process.returncode}): see "
                                 f"{folder / 'daemon.log'}")
            try:
                get(base + "/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise SystemExit("the daemon did not answer within 300 s") from None
                time.sleep(0.5)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# -- the browser --------------------------------------------------------------------------


@dataclass
class Visit:
    render_ms: float
    requests: int
    body_bytes: int
    transfer_bytes: int
    entries: list[dict[str, Any]]


def visit(browser: Any, base: str, path: str, ready: list[str], shot: Path | None) -> Visit:
    """Open ``path`` in a fresh context (nothing cached, the read cookie set) and measure
    until every selector of ``ready`` matches."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin", locale="en-GB")
    try:
        context.add_cookies([{"name": "claimwatch_read", "value": READ, "url": base + "/",
                              "httpOnly": True, "sameSite": "Strict"}])
        context.add_init_script(f"window.__ready = {json.dumps(ready)};" + OBSERVER)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(base + path)
        for selector in ready:  # wait_for_function would eval a string: the CSP refuses
            page.wait_for_selector(selector)
        rendered = float(page.evaluate("window.__rendered"))
        entries: list[dict[str, Any]] = page.evaluate("""(until) =>
          performance.getEntriesByType('navigation').concat(
            performance.getEntriesByType('resource'))
          .filter((e) => e.responseEnd <= until)
          .map((e) => ({ name: e.name, type: e.initiatorType || 'navigation',
            body: e.encodedBodySize, decoded: e.decodedBodySize, transfer: e.transferSize,
            start: e.startTime, end: e.responseEnd }))""", rendered)
        if shot is not None:
            page.screenshot(path=str(shot.with_suffix(".png")))
            page.screenshot(path=str(shot.with_name(shot.name + "-full.png")), full_page=True)
            ranges = page.locator('#ranges button[data-span="all"]')
            if ranges.count():  # the incident's whole window, as the "All" range draws it
                ranges.click()
                page.wait_for_selector('#ranges button[data-span="all"][aria-pressed="true"]')
                page.wait_for_selector("#chart svg path.series")
                page.wait_for_timeout(500)
                page.locator("#timeline").screenshot(
                    path=str(shot.with_name(shot.name + "-all.png")))
        return Visit(rendered, len(entries), sum(e["body"] for e in entries),
                     sum(e["transfer"] for e in entries), entries)
    finally:
        context.close()


def short(entry: dict[str, Any]) -> str:
    """A request's path, without host and query."""
    return re.sub(r"^https?://[^/]+", "", str(entry["name"])).split("?")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the database here once and reuse it (default: a temp "
                        "folder, removed at the end)")
    parser.add_argument("--shots", type=Path, default=ROOT / "bench" / "out" / "page")
    parser.add_argument("--posts", type=int, default=10_300,
                        help="posts in the file (default: enough for 10,000 in the incident)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is not installed: apt-get install -y chromium")
    import playwright.sync_api as playwright_api

    folder = args.keep or Path(tempfile.mkdtemp(prefix="claimwatch-page-bench-"))
    try:
        built = build(folder.resolve(), args.posts)
        args.shots.mkdir(parents=True, exist_ok=True)
        with daemon(folder.resolve()) as base:
            view = get(f"{base}/page/api/incidents/{INCIDENT}")
            incident = view["incident"]
            series = view["timeline"]["series"]
            table = get(f"{base}/page/api/incidents/{INCIDENT}/narratives?limit=5000")
            narrative = max(table["narratives"], key=lambda n: (n["size"], -n["id"]))
            paths = {"incident": f"/incidents/{INCIDENT}",
                     "narrative": f"/narratives/{narrative['id']}"}
            results: dict[str, list[Visit]] = {name: [] for name in VIEWS}
            with playwright_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=ARGS)
                try:
                    for name, ready in VIEWS.items():  # one warm-up each, with screenshots
                        visit(browser, base, paths[name], ready, args.shots / name)
                    for _ in range(args.repeat):
                        for name, ready in VIEWS.items():
                            results[name].append(visit(browser, base, paths[name], ready, None))
                finally:
                    browser.close()
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"\nincident {INCIDENT}: {incident['posts']:,} posts, {incident['narratives']:,} "
          f"narratives, {view['alerts_total']} alert events, {len(series)} series on the "
          f"timeline (database: {built['stored']:,} posts stored, {built['claims']:,} claims, "
          f"built in {built['seconds']} s)")
    print(f"narrative view: #{narrative['id']} ({narrative['size']:,} posts) "
          f"{narrative['label'][:60]!r}")
    print(f"{args.repeat} cold loads each (fresh context), median / max:\n")
    print(f"{'view':<10} {'requests':>8} {'KiB sent':>16} {'KiB+headers':>16} "
          f"{'first render ms':>18}  heaviest / slowest request (median run)")
    for name, visits in results.items():
        req = [v.requests for v in visits]
        kib = [v.body_bytes / 1024 for v in visits]
        xfer = [v.transfer_bytes / 1024 for v in visits]
        ms = [v.render_ms for v in visits]
        middle = sorted(visits, key=lambda v: v.render_ms)[len(visits) // 2]
        heavy = max(middle.entries, key=lambda e: e["body"])
        slow = max(middle.entries, key=lambda e: e["end"] - e["start"])
        print(f"{name:<10} {statistics.median(req):>8.0f} "
              f"{statistics.median(kib):>7.1f} / {max(kib):>6.1f} "
              f"{statistics.median(xfer):>7.1f} / {max(xfer):>6.1f} "
              f"{statistics.median(ms):>8.0f} / {max(ms):>7.0f}  "
              f"{short(heavy)} {heavy['body'] / 1024:.1f} KiB / "
              f"{short(slow)} {slow['end'] - slow['start']:.0f} ms")
    print(f"\nscreenshots: {args.shots}/incident.png, narrative.png (and *-full.png; "
          "incident-all.png: the timeline's All range)")


if __name__ == "__main__":
    main()
