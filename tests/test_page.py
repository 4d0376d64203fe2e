"""The analyst's page in a real browser: Debian's Chromium, headless, driven by Playwright,
against a real ``Daemon`` serving on 127.0.0.1 (the real model, a real SQLite database in
a temp folder), fed the germanwings thread file through ``POST /v1/posts``.

The daemon starts once for the module (loading the model takes a while); the scenario
pushes the first 800 posts, opens the incident, then pushes the next 700 while the page is
open and watches the new alert arrive. Screenshots of the incident and narrative views go
to the folder printed by the scenario (``-s``), with the page's weight and first render.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright_api
import pytest
from aiohttp import web
from conftest import GERMANWINGS, ROOT, write_config

from tracker.config.settings import load_settings
from tracker.daemon.metrics import Metrics
from tracker.daemon.service import Daemon
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.runtime import Runtime

expect = playwright_api.expect

# Debian's Chromium (.ci/run installs it). A missing browser fails these tests loudly:
# a page never tested must not look green.
CHROMIUM = Path("/usr/bin/chromium")
assert CHROMIUM.exists(), "Debian's chromium is not installed: apt-get install -y chromium"

READ = "read-token-8f21"
WRITE = "write-token-c7d3"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST, LATER = 800, 700  # posts pushed before the page opens, and while it is open
FINDING = "All 150 people on board died: 144 passengers and 6 crew"

# examples/germanwings.toml without its own storage and index lines: its verified
# newsrooms (the verified rate) and its incident.
EXAMPLE = re.sub(r'(?m)^\[(storage|index)\]\n(path|dir) = .*\n', "",
                 (ROOT / "examples" / "germanwings.toml").read_text(encoding="utf-8"))


def germanwings_lines(start: int, count: int) -> list[dict[str, Any]]:
    lines = [ln for ln in GERMANWINGS.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines[start : start + count]]


@dataclass
class Served:
    base: str
    loop: asyncio.AbstractEventLoop

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def read(self, path: str) -> Any:
        status, body = self.request("GET", path, headers={"Authorization": f"Bearer {READ}"})
        assert status == 200, (path, status, body)
        return body

    def push(self, posts: list[dict[str, Any]]) -> None:
        status, body = self.request(
            "POST", "/v1/posts", json.dumps(posts).encode(),
            {"Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"},
        )
        assert status == 202 and body["accepted"] == len(posts), body


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[Served]:
    """A daemon on its own event loop in a thread; the first posts pushed."""
    folder = tmp_path_factory.mktemp("page")
    config = write_config(folder, EXAMPLE + """
[service]
port = 0
evaluate_seconds = 3600.0
drain_seconds = 0.5

[[channels]]
name = "desk-log"
type = "log"
""")
    settings = load_settings(config, environ={})
    runtime = Runtime(settings)
    daemon = Daemon(settings, runtime, Metrics(), environ={
        "CLAIMWATCH_API_TOKEN": WRITE, "CLAIMWATCH_READ_TOKEN": READ,
    })
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="page-daemon", daemon=True)
    thread.start()
    runner = web.AppRunner(daemon.application(), access_log=None)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(next(a[1] for a in runner.addresses if isinstance(a, tuple)))

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(300)
    try:
        item = Served(f"http://127.0.0.1:{port}", loop)
        item.push(germanwings_lines(0, FIRST))
        yield item
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(120)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()
        runtime.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium, headless, with a fresh profile: no cookies carried between tests."""
    profile = tempfile.mkdtemp(prefix="claimwatch-chromium-")
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS,
            timezone_id="Asia/Kolkata", locale="en-GB", viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(90_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def sign_in(page: Any, base: str, token: str = READ) -> None:
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("#signin button[type=submit]")


def test_without_the_cookie_only_the_sign_in_form_shows(served: Served, browser: Any) -> None:
    page = browser.new_page()
    for path in ("/", "/incidents/germanwings"):
        page.goto(served.base + path)
        assert page.locator("#signin").is_visible()
        assert page.locator("table").count() == 0 and "Germanwings" not in page.content()
    status, _ = served.request("GET", "/page/api/overview")
    assert status == 401
    sign_in(page, served.base, "not-the-token")
    assert "not the daemon's" in page.locator("#signin .error").inner_text()
    assert page.locator("table").count() == 0 and not browser.cookies()


def test_a_cross_site_post_is_refused(served: Served, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    sign_in(page, served.base)
    page.wait_for_selector("#incidents table")
    # another site (localhost is not 127.0.0.1) posts a form to close the incident
    evil = tmp_path / "evil.html"
    evil.write_text(
        f'<form id="f" method="post" action="{served.base}/page/api/incidents/germanwings/close">'
        '</form><script>document.getElementById("f").submit()</script>', encoding="utf-8")
    async def attacker(request: web.Request) -> web.FileResponse:
        return web.FileResponse(evil)

    other = web.Application()
    other.router.add_get("/", attacker)
    runner = web.AppRunner(other, access_log=None)
    asyncio.run_coroutine_threadsafe(runner.setup(), served.loop).result(30)
    site = web.TCPSite(runner, "localhost", 0)
    asyncio.run_coroutine_threadsafe(site.start(), served.loop).result(30)
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    try:
        with page.expect_response(lambda r: r.url.endswith("/close")) as answer:
            page.goto(f"http://localhost:{port}/")
        assert answer.value.status in (401, 403)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), served.loop).result(30)
    # even with the cookie and the write token, a foreign Origin is refused
    status, body = served.request(
        "POST", "/page/api/incidents/germanwings/close", b"{}",
        {"Origin": "http://evil.example", "Cookie": f"claimwatch_read={READ}",
         "Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"},
    )
    assert status == 403 and "another site" in body["error"]
    (incident,) = served.read("/v1/incidents")
    assert incident["closed_at"] is None


def test_an_analyst_follows_the_incident_live_and_settles_a_narrative(
    served: Served, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("page-screenshots")
    page = browser.new_page()
    sign_in(page, served.base)
    (cookie,) = browser.cookies()
    assert cookie["name"] == "claimwatch_read" and cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"

    # incidents: open, with posts, narratives and alerts open
    row = page.locator("#incidents tbody tr", has_text="Germanwings flight 4U9525 crash")
    assert row.locator("td").nth(1).inner_text() == "open"
    assert row.locator("td").nth(4).inner_text().replace(",", "") == str(FIRST)
    started = row.locator("td").nth(2).locator("time")
    assert started.get_attribute("title") == "2015-03-24 09:30:00 UTC"
    assert "15:00" in started.inner_text()  # 09:30 UTC in Asia/Kolkata

    # one incident: timeline, narratives, an alert
    begun = time.perf_counter()
    page.click("text=Germanwings flight 4U9525 crash")
    page.wait_for_selector("#chart svg path.series")
    rendered = time.perf_counter() - begun
    weight = page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType("
        "'resource')).reduce((n, e) => n + (e.encodedBodySize || 0), 0)")
    print(f"\nincident of {FIRST} posts: first render {rendered:.2f} s, page weight "
          f"{weight / 1024:.0f} KiB (compressed as sent)")
    assert page.locator("#narrative-table tbody tr").count() > 5
    assert page.locator("#alert-list li.alert[data-event=raised]").count() >= 1
    assert page.locator("#chart .marker").count() >= 1
    marker = page.locator("#chart .marker").first
    marker.hover()
    assert "outrunning-verified" in page.locator(".tip").inner_text()
    assert page.locator("#alert-list .delivery").first.is_visible()
    statuses = page.locator("#narrative-table tbody tr td:nth-child(3)").all_inner_texts()
    page.select_option("#filter-status", "speculative")  # asks the page API for the rows
    page.wait_for_selector('#narrative-table[data-status="speculative"] tbody tr')
    assert set(page.locator("#narrative-table tbody tr td:nth-child(3)").all_inner_texts()) == {
        "speculative"} and "report" in statuses
    page.select_option("#filter-status", "")
    page.wait_for_selector('#narrative-table[data-status=""] tbody tr')
    page.screenshot(path=str(shots / "incident.png"), full_page=False)

    # live: the next posts raise new alerts while the page is open
    expect(page.locator("#banner")).to_be_hidden()
    # the list shows the newest alerts (at most 20): a new one comes in on top
    newest = page.locator("#alert-list li.alert").first.get_attribute("data-alert")
    shown = page.locator("#alert-list li.alert").count()
    assert shown <= 20
    pusher = threading.Thread(target=served.push, args=(germanwings_lines(FIRST, LATER),))
    pusher.start()
    expect(page.locator("#banner")).to_be_visible(timeout=120_000)
    assert "Alert" in page.locator("#banner").inner_text()
    pusher.join(300)
    expect(page.locator("#alert-list li.alert").first).not_to_have_attribute(
        "data-alert", newest or "", timeout=120_000)
    assert page.locator("#alert-list li.alert").count() <= 20
    # a casualty story giving another toll than the one authorities will establish
    page.select_option("#filter-kind", "casualty")
    page.wait_for_selector('#narrative-table[data-kind="casualty"] tbody tr')
    assert set(page.locator("#narrative-table tbody tr td:nth-child(4)").all_inner_texts()) == {
        "casualty"}
    more = page.locator("#show-all-alerts")
    if more.count():  # more than the newest 20: the button fetches them all
        more.click()
        page.wait_for_selector("#alert-list:not(:has(#show-all-alerts)) li.alert")
    link = page.locator("#alert-list li.alert[data-event=raised] a",
                        has_text=re.compile(r"\b148\b"))
    link.first.wait_for()

    # search for a similar claim
    page.fill("#search-q", "148 passengers are feared dead")
    page.click("#search-form button")
    page.wait_for_selector("#search-results tr.hit")

    # one narrative: provenance, top posts, claims paged, history, its alert
    link.first.click()
    page.wait_for_selector("#history-list li")
    assert page.locator("#narrative-status").inner_text() == "speculative"
    assert page.locator("#first .quote").inner_text()
    assert page.locator("#top-table tbody tr").count() >= 1
    assert page.locator("#claim-table tbody tr").count() >= 1
    assert "of" in page.locator("#pager").inner_text()
    assert page.locator("#alert-list li.alert[data-event=raised]").count() >= 1
    assert "desk-log" in page.locator("#alert-list .delivery").first.inner_text()
    page.screenshot(path=str(shots / "narrative.png"), full_page=False)

    # a finding, with a wrong write token first
    page.fill("#finding-text", FINDING)
    page.select_option("#finding-kind", "casualty")
    page.click("#finding-form button[type=submit]")
    page.fill("#write-token", "wrong-token")
    page.click("#write-form button[value=ok]")
    page.wait_for_selector("#write-error:not([hidden])")
    page.fill("#write-token", WRITE)
    page.click("#write-form button[value=ok]")
    expect(page.locator("#narrative-status")).to_have_text("contradicted", timeout=120_000)
    assert "decided by finding" in page.locator("#history-list").inner_text()
    page.wait_for_selector("#alert-list li.alert[data-event=resolved]")
    assert "contradicted by a finding" in page.locator(
        "#alert-list li.alert[data-event=resolved]").first.inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "narrative-settled.png"), full_page=False)
    (incident,) = served.read("/v1/incidents")
    assert incident["findings"] == 1

    # a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(served.base + "/incidents/germanwings")
    page.wait_for_selector("#chart svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(shots / "incident-phone.png"), full_page=False)
    print(f"screenshots in {shots}")

    # sign out clears the cookie
    page.click(".signout button")
    page.wait_for_selector("#signin")
    assert not browser.cookies()
