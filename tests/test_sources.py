"""Live sources against real HTTP servers on 127.0.0.1 playing a feed, a Mastodon instance
and the X API v2. No model, no network beyond loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from test_reach_sources import T0, BskyApi, GdeltApi, TgMessage, TgPreview

from tracker.config.settings import SourceSettings
from tracker.errors import ConfigError, SourceError
from tracker.models import Tier
from tracker.sources.base import RateLimitError, Source, display_url
from tracker.sources.mastodon import MastodonSource
from tracker.sources.registry import build_source, source_names
from tracker.sources.rss import RssSource
from tracker.sources.x import XSource, build_query
from tracker.store import Store

TOKEN = "test-bearer-9f8e7d"
NO_TERMS: Callable[[], Sequence[str]] = tuple


@dataclass
class Server:
    """A local aiohttp server and what it received."""

    runner: web.AppRunner
    port: int
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[Server]]]:
    """Start servers from {path: handler}; all stopped at the end of the test."""
    started: list[Server] = []

    async def start(routes: dict[str, Handler]) -> Server:
        app = web.Application()
        holder: list[Server] = []
        for path, handler in routes.items():
            async def record(
                request: web.Request, handler: Handler = handler
            ) -> web.StreamResponse:
                holder[0].requests.append(request)
                return await handler(request)

            app.router.add_get(path, record)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server = Server(runner, port)
        holder.append(server)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.runner.cleanup()


def settings(**values: Any) -> SourceSettings:
    return SourceSettings(**values)


async def build(value: SourceSettings, **kwargs: Any) -> Source:
    kwargs.setdefault("terms", NO_TERMS)
    kwargs.setdefault("environ", {})
    return build_source(value, **kwargs)


# --------------------------------------------------------------------------- feeds

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Balochistan Desk</title>
  <link>https://news.example.pk/</link>
  <description>Latest</description>
  <language>en-GB</language>
  <item>
    <title>Blast in Nushki: police confirm two dead</title>
    <link>https://news.example.pk/2026/11/20/nushki-blast</link>
    <guid isPermaLink="false">news.example.pk-48213</guid>
    <pubDate>Fri, 20 Nov 2026 15:20:00 +0500</pubDate>
    <dc:creator>Staff Reporter</dc:creator>
    <description><![CDATA[<p>Police in <b>Nushki</b> said a blast near the market killed two
      people &amp; injured five.</p><p>No group has claimed responsibility.</p>]]></description>
  </item>
  <item>
    <title>Roads closed around Nushki market</title>
    <link>https://news.example.pk/2026/11/20/roads</link>
    <pubDate>Fri, 20 Nov 2026 15:40:00 +0500</pubDate>
    <description>Traffic police closed the roads.</description>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>ISPR statements</title>
  <id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2026-11-20T12:00:00Z</updated>
  <link href="https://ispr.example.gov/"/>
  <entry>
    <title>Statement on the Nushki incident</title>
    <id>tag:ispr.example.gov,2026:pr-311</id>
    <link href="https://ispr.example.gov/pr/311"/>
    <published>2026-11-20T11:30:00+00:00</published>
    <updated>2026-11-20T11:45:00Z</updated>
    <author><name>ISPR</name></author>
    <summary type="html">&lt;p&gt;Investigation ongoing. &lt;em&gt;No group&lt;/em&gt;
      has been identified.&lt;/p&gt;</summary>
  </entry>
</feed>"""


async def test_rss_feed_posts_and_etag(serve: Any) -> None:
    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=RSS, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    server = await serve({"/feed.xml": feed})
    source = await build(settings(name="desk", type="rss", url=server.url("/feed.xml?key=s3cret"),
                                  tier="verified"))
    try:
        assert isinstance(source, RssSource) and source.disabled_reason is None
        first = await source.poll(None)
        assert [p.id for p in first.posts] == [
            "news.example.pk-48213", "https://news.example.pk/2026/11/20/roads"]
        blast = first.posts[0]
        assert blast.text == ("Blast in Nushki: police confirm two dead. Police in Nushki said a "
                              "blast near the market killed two people & injured five.\n"
                              "No group has claimed responsibility.")
        assert blast.created_at == datetime(2026, 11, 20, 10, 20, tzinfo=UTC)
        assert blast.source == "desk" and blast.tier is Tier.VERIFIED
        assert blast.author == "Staff Reporter" and blast.lang == "en"
        assert blast.url == "https://news.example.pk/2026/11/20/nushki-blast"
        assert first.posts[1].author == "127.0.0.1"  # no author: the feed's host
        assert first.cursor is not None and first.cursor["etag"] == '"v1"'

        second = await source.poll(first.cursor)
        assert second.posts == [] and second.cursor == first.cursor
        assert "If-None-Match" not in server.requests[0].headers
        assert server.requests[1].headers["If-None-Match"] == '"v1"'
        assert server.requests[1].query["key"] == "s3cret"
    finally:
        await source.close()


async def test_atom_feed_last_modified(serve: Any) -> None:
    stamp = "Fri, 20 Nov 2026 12:00:00 GMT"

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(body=ATOM, content_type="application/atom+xml",
                            headers={"Last-Modified": stamp})

    server = await serve({"/atom": feed})
    source = await build(settings(name="ispr", type="rss", url=server.url("/atom"),
                                  tier="official"))
    try:
        first = await source.poll(None)
        (post,) = first.posts
        assert post.id == "tag:ispr.example.gov,2026:pr-311"
        assert post.text == ("Statement on the Nushki incident. Investigation ongoing. No group "
                             "has been identified.")
        assert post.created_at == datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
        assert post.author == "ISPR" and post.tier is Tier.OFFICIAL and post.lang == "en"
        assert first.cursor == {"etag": None, "modified": stamp, "seen": [post.id]}
        second = await source.poll(first.cursor)
        assert second.posts == []
        assert server.requests[1].headers["If-Modified-Since"] == stamp
    finally:
        await source.close()


async def test_feed_without_validators_is_not_re_emitted(serve: Any) -> None:
    body = {"xml": RSS}

    async def feed(request: web.Request) -> web.Response:
        assert "If-None-Match" not in request.headers
        return web.Response(body=body["xml"], content_type="application/xml")

    server = await serve({"/rss": feed})
    source = RssSource("desk", server.url("/rss"))
    try:
        first = await source.poll(None)
        assert len(first.posts) == 2 and first.posts[0].tier is None
        assert (await source.poll(first.cursor)).posts == []
        body["xml"] = RSS.replace(b"<item>", b"""<item><title>Curfew in Nushki</title>
            <guid>curfew-1</guid><pubDate>Fri, 20 Nov 2026 16:00:00 +0500</pubDate></item>
            <item>""", 1)
        third = await source.poll(first.cursor)
        assert [p.id for p in third.posts] == ["curfew-1"]
        assert third.cursor is not None and third.cursor["seen"][0] == "curfew-1"
    finally:
        await source.close()


async def test_feed_failures(serve: Any) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="upstream exploded")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><body><h1>Please log in</h1></body></html>",
                            content_type="text/html")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)  # longer than the source's 0.3 s budget
        return web.Response(body=RSS)

    server = await serve({"/500": broken, "/html": html, "/404": missing, "/slow": slow})
    cases = [("/500?token=abc", True, "HTTP 500"), ("/html", True, "not a feed"),
             ("/404", False, "HTTP 404"), ("/slow", True, "0.3 s")]
    for path, transient, words in cases:
        source = RssSource("wire", server.url(path), timeout=0.3)
        try:
            with pytest.raises(SourceError) as caught:
                await source.poll(None)
        finally:
            await source.close()
        message = str(caught.value)
        assert "source wire" in message and words in message, message
        assert caught.value.transient is transient, message
        assert "abc" not in message  # the query string (a key) stays out of messages


async def test_unreachable_feed_is_transient() -> None:
    source = RssSource("gone", "http://127.0.0.1:9/feed")  # discard port: refused
    try:
        with pytest.raises(SourceError) as caught:
            await source.poll(None)
    finally:
        await source.close()
    assert caught.value.transient and "source gone: cannot reach" in str(caught.value)


# --------------------------------------------------------------------------- mastodon

def account(acct: str, followers: int) -> dict[str, Any]:
    user = acct.split("@")[0]
    return {"id": str(abs(hash(acct)) % 10**6), "username": user, "acct": acct,
            "display_name": user.title(), "locked": False, "bot": False,
            "url": f"https://mastodon.example/@{acct}", "followers_count": followers,
            "following_count": 10, "statuses_count": 400}


def status(sid: int, minute: int, content: str, who: dict[str, Any], *, reblog: Any = None,
           reply_to: str | None = None, reblogs: int = 0, likes: int = 0) -> dict[str, Any]:
    return {
        "id": str(sid), "created_at": f"2026-11-20T10:{minute:02d}:00.000Z",
        "in_reply_to_id": reply_to, "in_reply_to_account_id": None, "sensitive": False,
        "spoiler_text": "", "visibility": "public", "language": None if reblog else "en",
        "uri": f"https://mastodon.example/users/{who['username']}/statuses/{sid}",
        "url": None if reblog else f"https://mastodon.example/@{who['acct']}/{sid}",
        "replies_count": 0, "reblogs_count": reblogs, "favourites_count": likes,
        "content": content, "reblog": reblog, "account": who, "media_attachments": [],
        "mentions": [], "tags": [{"name": "nushki", "url": "https://mastodon.example/tags/nushki"}],
        "emojis": [], "card": None, "poll": None,
    }


HASHTAG = ('<a href="https://mastodon.example/tags/nushki" class="mention hashtag" rel="tag">'
           '#<span>Nushki</span></a>')
ALICE, BOB, CAROL = account("alice", 310), account("bob@other.social", 12000), account("carol", 45)
BASE = 113_500_000_000_000_000


async def mastodon_server(serve: Any, statuses: list[dict[str, Any]]) -> Server:
    async def timeline(request: web.Request) -> web.Response:
        assert request.match_info["tag"] == "nushki"
        limit = int(request.query.get("limit", "20"))
        since = int(request.query.get("since_id", "0"))
        max_id = int(request.query.get("max_id", str(10**30)))
        found = sorted((s for s in statuses if since < int(s["id"]) < max_id),
                       key=lambda s: int(s["id"]), reverse=True)
        return web.json_response(found[:limit])

    return await serve({"/api/v1/timelines/tag/{tag}": timeline})  # type: ignore[no-any-return]


async def test_mastodon_tag_timeline(serve: Any) -> None:
    original = status(BASE + 1, 10, f"<p>Sources say {HASHTAG} blast was the work of group X "
                      "&amp; its allies</p><p>Unconfirmed.</p>", BOB, reblogs=7, likes=20)
    statuses = [
        original,
        status(BASE + 2, 12, '<p><span class="h-card"><a href="https://mastodon.example/@bob" '
               'class="u-url mention">@<span>bob</span></a></span> police deny that</p>', ALICE,
               reply_to=str(BASE + 1)),
        status(BASE + 3, 14, "", CAROL, reblog=original),
    ]
    server = await mastodon_server(serve, statuses)
    source = await build(settings(name="masto", type="mastodon", instance=server.url("/"),
                                  tags=("#nushki",), tier="unverified"))
    try:
        first = await source.poll(None)
        posts = {p.id: p for p in first.posts}
        assert [p.id for p in first.posts] == [str(BASE + 1), str(BASE + 2), str(BASE + 3)]
        lead = posts[str(BASE + 1)]
        assert lead.text == ("Sources say #Nushki blast was the work of group X & its allies\n"
                             "Unconfirmed.")
        assert lead.author == "bob@other.social" and lead.lang == "en"
        assert lead.metrics == {"reposts": 7, "likes": 20, "followers": 12000}
        assert lead.created_at == datetime(2026, 11, 20, 10, 10, tzinfo=UTC)
        assert lead.url == f"https://mastodon.example/@bob@other.social/{BASE + 1}"
        assert lead.tier is Tier.UNVERIFIED
        assert posts[str(BASE + 2)].text == "@bob police deny that"
        assert posts[str(BASE + 2)].reply_to == str(BASE + 1)
        boost = posts[str(BASE + 3)]
        assert boost.is_repost and boost.text == "" and boost.repost_of == str(BASE + 1)
        assert boost.author == "carol" and boost.metrics == {"followers": 45}
        assert first.cursor == {"since_id": {"nushki": str(BASE + 3)}}
        assert server.requests[0].query["limit"] == "40"
        assert "since_id" not in server.requests[0].query

        statuses.append(status(BASE + 4, 20, "<p>Curfew imposed in Nushki</p>", ALICE))
        second = await source.poll(first.cursor)
        assert [p.text for p in second.posts] == ["Curfew imposed in Nushki"]
        assert server.requests[1].query["since_id"] == str(BASE + 3)
        assert second.cursor == {"since_id": {"nushki": str(BASE + 4)}}
    finally:
        await source.close()


async def test_mastodon_burst_is_paged(serve: Any) -> None:
    statuses = [status(BASE + 1, 0, "<p>first</p>", ALICE)]
    server = await mastodon_server(serve, statuses)
    source = MastodonSource("masto", server.url(""), ["nushki"])
    try:
        first = await source.poll(None)
        statuses.extend(status(BASE + 1 + i, i % 60, f"<p>post {i}</p>", ALICE)
                        for i in range(1, 46))
        second = await source.poll(first.cursor)
        assert len(second.posts) == 45
        assert [r.query.get("max_id") for r in server.requests[1:]] == [None, str(BASE + 7)]
        assert all(r.query["since_id"] == str(BASE + 1) for r in server.requests[1:])
        assert second.cursor == {"since_id": {"nushki": str(BASE + 46)}}
    finally:
        await source.close()


async def test_mastodon_errors(serve: Any) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    async def limited(request: web.Request) -> web.Response:
        return web.json_response({"error": "Too many requests"}, status=429,
                                 headers={"X-RateLimit-Reset": "2026-11-20T10:30:00.000Z"})

    bad = await serve({"/api/v1/timelines/tag/{tag}": garbage})
    busy = await serve({"/api/v1/timelines/tag/{tag}": limited})
    for server, kind, words in ((bad, SourceError, "did not answer with a JSON list"),
                                (busy, RateLimitError, "2026-11-20T10:30:00Z")):
        source = MastodonSource("masto", server.url(""), ["nushki"])
        try:
            with pytest.raises(kind) as caught:
                await source.poll(None)
        finally:
            await source.close()
        assert caught.value.transient and words in str(caught.value), str(caught.value)


# --------------------------------------------------------------------------- X

def tweet(tid: str, author: str, minute: int, text: str, *, refs: Sequence[tuple[str, str]] = (),
          retweets: int = 0, likes: int = 0) -> dict[str, Any]:
    return {
        "id": tid, "text": text, "author_id": author, "lang": "en",
        "created_at": f"2026-11-20T10:{minute:02d}:00.000Z", "conversation_id": tid,
        "edit_history_tweet_ids": [tid],
        "public_metrics": {"retweet_count": retweets, "reply_count": 0, "like_count": likes,
                           "quote_count": 0, "bookmark_count": 0, "impression_count": 900},
        **({"referenced_tweets": [{"type": t, "id": i} for t, i in refs]} if refs else {}),
    }


def user(uid: str, username: str, followers: int) -> dict[str, Any]:
    return {"id": uid, "name": username.title(), "username": username,
            "public_metrics": {"followers_count": followers, "following_count": 5,
                               "tweet_count": 100, "listed_count": 1, "like_count": 0}}


SEARCH = {
    "data": [
        tweet("1862000000000000003", "30", 20, "RT @rumourmill: Sources say group X is behind "
              "the Nushki blast", refs=[("retweeted", "1862000000000000001")], retweets=12),
        tweet("1862000000000000002", "20", 18, "@rumourmill Police have not said that &amp; "
              "nobody has claimed it", refs=[("replied_to", "1862000000000000001")], likes=3),
    ],
    "includes": {
        "users": [user("10", "rumourmill", 3100), user("20", "desk_check", 800),
                  user("30", "spreader", 45)],
        "tweets": [tweet("1862000000000000001", "10", 15, "Sources say group X is behind the "
                         "Nushki blast", retweets=12, likes=40)],
    },
    "meta": {"newest_id": "1862000000000000003", "oldest_id": "1862000000000000002",
             "result_count": 2},
}


async def x_server(serve: Any) -> Server:
    async def search(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        if request.query.get("since_id") == "1862000000000000003":
            return web.json_response({"meta": {"result_count": 0}})
        return web.json_response(SEARCH)

    return await serve({"/2/tweets/search/recent": search})  # type: ignore[no-any-return]


async def test_x_recent_search(serve: Any) -> None:
    server = await x_server(serve)
    terms = ["Nushki", "group X"]
    async with aiohttp.ClientSession() as session:
        source = await build(settings(name="x", type="x", api_base=server.url("")),
                             terms=lambda: terms,
                             environ={"CLAIMWATCH_X_BEARER_TOKEN": TOKEN}, session=session)
        assert isinstance(source, XSource) and source.disabled_reason is None
        assert TOKEN not in repr(source)
        first = await source.poll(None)
        posts = {p.id: p for p in first.posts}
        assert [p.id for p in first.posts] == [
            "1862000000000000001", "1862000000000000002", "1862000000000000003"]
        original = posts["1862000000000000001"]
        assert original.text == "Sources say group X is behind the Nushki blast"
        assert original.author == "rumourmill"
        assert original.metrics == {"reposts": 12, "likes": 40, "followers": 3100}
        assert original.url == "https://x.com/rumourmill/status/1862000000000000001"
        retweet = posts["1862000000000000003"]
        assert retweet.is_repost and retweet.repost_of == "1862000000000000001"
        assert retweet.author == "spreader" and retweet.metrics == {"followers": 45}
        reply = posts["1862000000000000002"]
        assert reply.reply_to == "1862000000000000001"
        assert reply.text == "@rumourmill Police have not said that & nobody has claimed it"
        assert reply.created_at == datetime(2026, 11, 20, 10, 18, tzinfo=UTC)
        assert reply.tier is None and reply.lang == "en"
        assert first.cursor == {"since_id": "1862000000000000003", "query": '(Nushki OR "group X")'}

        query = server.requests[0].query
        assert query["query"] == '(Nushki OR "group X")' and query["max_results"] == "100"
        assert "since_id" not in query
        assert "referenced_tweets.id" in query["expansions"].split(",")
        assert "public_metrics" in query["tweet.fields"].split(",")

        second = await source.poll(first.cursor)
        assert second.posts == [] and second.cursor == first.cursor
        assert server.requests[1].query["since_id"] == "1862000000000000003"

        terms.append("Nushki blast")  # a new term: a new query starts from the newest
        await source.poll(second.cursor)
        assert "since_id" not in server.requests[2].query

        terms.clear()  # no open incidents and no query: nothing to ask
        assert (await source.poll(second.cursor)).posts == []
        assert len(server.requests) == 3
        await source.close()
        assert not session.closed  # an injected session is the caller's to close


async def test_x_rate_limit_and_bad_token(serve: Any) -> None:
    reset = int(time.time()) + 900

    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
             "status": 429}, status=429,
            headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0",
                     "x-rate-limit-reset": str(reset)})

    busy = await serve({"/2/tweets/search/recent": limited})
    source = XSource("x", token=TOKEN, query="nushki", api_base=busy.url(""))
    with pytest.raises(RateLimitError) as caught:
        await source.poll(None)
    await source.close()
    assert caught.value.transient and caught.value.reset_at is not None
    assert int(caught.value.reset_at.timestamp()) == reset
    expected = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"the limit resets at {expected}" in str(caught.value)

    server = await x_server(serve)
    source = XSource("x", token="wrong-token", query="nushki", api_base=server.url("/"))
    with pytest.raises(SourceError) as refused:
        await source.poll(None)
    await source.close()
    assert not refused.value.transient
    assert "CLAIMWATCH_X_BEARER_TOKEN" in str(refused.value) and "wrong" not in str(refused.value)


async def test_x_without_token_is_disabled() -> None:
    for environ in ({}, {"CLAIMWATCH_X_BEARER_TOKEN": "  "}):
        source = await build(settings(name="x", type="x"), environ=environ)
        assert source.disabled_reason == (
            "source x disabled: set CLAIMWATCH_X_BEARER_TOKEN to a bearer token for the X API v2")
        with pytest.raises(SourceError) as caught:
            await source.poll(None)
        assert not caught.value.transient
        await source.close()


# --------------------------------------------------------------------------- registry

async def test_registry() -> None:
    with pytest.raises(ConfigError, match="needs url"):
        await build(settings(name="feed", type="rss"))
    with pytest.raises(ConfigError, match="needs tags"):
        await build(settings(name="m", type="mastodon", instance="https://mastodon.example"))
    masto = await build(settings(name="m", type="mastodon", instance="mastodon.example",
                                 tags=("Nushki",), interval_seconds=90))
    assert isinstance(masto, MastodonSource) and masto.instance == "https://mastodon.example"
    assert masto.interval == 90 and masto.tier is None
    await masto.close()
    for base in ("api.twitter.com", "ftp://api.twitter.com", "https://proxy.example/x?k=1"):
        with pytest.raises(ConfigError, match="api_base must be an http"):
            await build(settings(name="x", type="x", api_base=base))


def test_query_and_url_helpers() -> None:
    assert build_query([]) == ""
    assert build_query(["Nushki"]) == "Nushki"
    assert build_query(["Nushki", "nushki", 'BLA "Jeeyand"', "IS-K"]) == \
        '(Nushki OR "BLA Jeeyand" OR "IS-K")'
    assert len(build_query([f"term{i}" for i in range(200)])) <= 512
    assert display_url("https://user:pw@feeds.example/rss?key=1#x") == "https://feeds.example/rss"


# --------------------------------------------------------------------------- X paging, restarts

class XSearch:
    """A local X API v2 recent search over ``tweets``, paged like the real one: newest
    first, ``max_results`` per page, an opaque ``next_token`` while more remain,
    ``since_id`` exclusive, authors in ``includes.users``."""

    def __init__(self) -> None:
        self.tweets: list[dict[str, Any]] = []
        self.users = {u["id"]: u for u in (user("10", "rumourmill", 3100),
                                            user("20", "desk_check", 800))}

    def add(self, n: int, author: str = "10", text: str = "", **extra: Any) -> str:
        tid = str(1_862_000_000_000_000_000 + n)
        self.tweets.append({**tweet(tid, author, n, text or f"Nushki update {n}"), **extra})
        return tid

    async def search(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        size = int(request.query["max_results"])
        since = int(request.query.get("since_id", "0"))
        start = int(request.query.get("next_token", "page-0").removeprefix("page-"))
        found = sorted((t for t in self.tweets if int(t["id"]) > since),
                       key=lambda t: int(t["id"]), reverse=True)
        page = found[start:start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(found):
            meta["next_token"] = f"page-{start + size}"
        if not page:
            return web.json_response({"meta": meta})
        authors = {t["author_id"] for t in page}
        return web.json_response({
            "data": page, "includes": {"users": [self.users[a] for a in sorted(authors)]},
            "meta": meta,
        })


async def test_x_burst_between_polls_is_paged(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = XSearch()
    first_id = api.add(0)
    server = await serve({"/2/tweets/search/recent": api.search})
    source = XSource("x", token=TOKEN, query="nushki", max_results=10, max_pages=3,
                     api_base=server.url(""))
    try:
        first = await source.poll(None)
        assert [p.id for p in first.posts] == [first_id]
        assert len(server.requests) == 1  # the first poll reads one page, however many exist

        long = "Police now say the Nushki blast was a suicide attack. " * 8
        burst = [api.add(n) for n in range(1, 26)]
        api.tweets[3]["note_tweet"] = {"text": long}
        api.tweets[5]["referenced_tweets"] = [{"type": "quoted", "id": first_id}]
        api.tweets[7].update(author_id="20",
                             referenced_tweets=[{"type": "replied_to", "id": burst[0]}])
        second = await source.poll(first.cursor)
        assert [p.id for p in second.posts] == burst  # all 25, oldest first, none lost
        pages = server.requests[1:]
        assert [r.query.get("next_token") for r in pages] == [None, "page-10", "page-20"]
        assert all(r.query["since_id"] == first_id for r in pages)
        posts = {p.id: p for p in second.posts}
        assert posts[burst[2]].text == long.strip()  # the long form, not the cut-off text
        assert posts[burst[4]].extra["quote_of"] == first_id
        assert posts[burst[6]].reply_to == burst[0] and posts[burst[6]].author == "desk_check"
        assert second.cursor == {"since_id": burst[-1], "query": "nushki"}

        flood = [api.add(n) for n in range(26, 57)]  # 31 new: over 3 pages of 10
        with caplog.at_level("WARNING", logger="tracker.sources.x"):
            third = await source.poll(second.cursor)
        assert [p.id for p in third.posts] == flood[1:]  # the newest 30; the oldest skipped
        assert third.cursor == {"since_id": flood[-1], "query": "nushki"}
        assert "over 3 pages of new tweets" in caplog.text and "skipped" in caplog.text
    finally:
        await source.close()


async def test_each_source_type_carries_on_from_its_stored_cursor_after_a_restart(
    serve: Any, tmp_path: Any
) -> None:
    feed = {"xml": RSS}
    etag = {"now": '"v1"'}

    async def rss(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag["now"]:
            return web.Response(status=304, headers={"ETag": etag["now"]})
        return web.Response(body=feed["xml"], content_type="application/rss+xml",
                            headers={"ETag": etag["now"]})

    statuses = [status(BASE + 1, 10, "<p>Blast in #nushki</p>", ALICE)]
    api = XSearch()
    api.add(1)
    feed_server = await serve({"/feed.xml": rss})
    masto_server = await mastodon_server(serve, statuses)
    x_api = await serve({"/2/tweets/search/recent": api.search})
    bsky, tg, gdelt = BskyApi(), TgPreview({"nushkinews": "Nushki News"}), GdeltApi()
    bsky.add("3lc1aaaaaa2k", "rumourmill.bsky.social", "Blast in Nushki", T0)
    tg.add("nushkinews", TgMessage(901, "Blast in Nushki", T0))
    gdelt.add("https://www.dawn.com/news/1", "Blast in Nushki", T0, "dawn.com")
    reach = await serve({"/xrpc/app.bsky.feed.searchPosts": bsky.search,
                         "/s/{name}": tg.preview, "/doc": gdelt.doc})
    tables = {
        "rss": settings(name="desk", type="rss", url=feed_server.url("/feed.xml")),
        "mastodon": settings(name="masto", type="mastodon", instance=masto_server.url(""),
                             tags=("nushki",)),
        "x": settings(name="x", type="x", query="nushki", api_base=x_api.url("")),
        "bluesky": settings(name="bsky", type="bluesky", query="Nushki", base_url=reach.url("")),
        "telegram": settings(name="tg", type="telegram", channels=("nushkinews",),
                             base_url=reach.url("")),
        "gdelt": settings(name="gdelt", type="gdelt", query="Nushki", base_url=reach.url("/doc")),
    }
    environ = {"CLAIMWATCH_X_BEARER_TOKEN": TOKEN}

    async def poll_all(store: Store) -> dict[str, list[str]]:
        got: dict[str, list[str]] = {}
        for kind in source_names():  # a new type without a case here fails this test
            source = await build(tables[kind], environ=environ)
            try:
                poll = await source.poll(store.cursor(source.name))
            finally:
                await source.close()
            if poll.cursor is not None:
                store.set_cursor(source.name, poll.cursor)
            got[kind] = [p.id for p in poll.posts]
        return got

    db = tmp_path / "claimwatch.db"
    store = Store(db)
    try:
        before = await poll_all(store)
    finally:
        store.close()
    assert before == {"rss": ["news.example.pk-48213", "https://news.example.pk/2026/11/20/roads"],
                      "mastodon": [str(BASE + 1)], "x": [api.tweets[0]["id"]],
                      "bluesky": [bsky.posts[0]["uri"]], "telegram": ["nushkinews/901"],
                      "gdelt": ["https://www.dawn.com/news/1"]}

    # while the daemon is down, each source gets one new post
    feed["xml"] = RSS.replace(b"<item>", b"""<item><title>Curfew in Nushki</title>
        <guid>curfew-1</guid><pubDate>Fri, 20 Nov 2026 16:00:00 +0500</pubDate></item>
        <item>""", 1)
    etag["now"] = '"v2"'
    statuses.append(status(BASE + 2, 20, "<p>Curfew imposed in Nushki</p>", BOB))
    new_tweet = api.add(2)
    bsky.add("3lc2aaaaaa2k", "desk-check.bsky.social", "Curfew in Nushki", T0 + timedelta(hours=1))
    tg.add("nushkinews", TgMessage(902, "Curfew in Nushki", T0 + timedelta(hours=1)))
    gdelt.add("https://www.dawn.com/news/2", "Curfew in Nushki", T0 + timedelta(hours=1), "dawn.com")

    store = Store(db)  # the restart: cursors come back from the database
    try:
        after = await poll_all(store)
        again = await poll_all(store)
    finally:
        store.close()
    assert after == {"rss": ["curfew-1"], "mastodon": [str(BASE + 2)], "x": [new_tweet],
                     "bluesky": [bsky.posts[1]["uri"]], "telegram": ["nushkinews/902"],
                     "gdelt": ["https://www.dawn.com/news/2"]}
    assert again == {"rss": [], "mastodon": [], "x": [], "bluesky": [], "telegram": [],
                     "gdelt": []}
    assert feed_server.requests[1].headers["If-None-Match"] == '"v1"'
    assert masto_server.requests[1].query["since_id"] == str(BASE + 1)
    assert x_api.requests[1].query["since_id"] == api.tweets[0]["id"]
