"""Bluesky, Telegram and GDELT against local servers on 127.0.0.1 that answer in the real
services' shapes: ``app.bsky.feed.searchPosts`` post views (AT Protocol lexicon), the
``t.me/s/NAME`` channel preview page, and the GDELT DOC 2.0 ``ArtList`` JSON.

Unit tests poll the sources directly; the last test runs ``claimwatch run`` with all three
(and failing twins of them) and checks what it stores and clusters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import write_config
from test_service import API_TOKEN, Daemon, daemon_env, free_port, stored, wait_for

from tracker.config.settings import SourceSettings
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import ConfigError, SourceError
from tracker.sources.base import Source
from tracker.sources.bluesky import BlueskySource
from tracker.sources.gdelt import GdeltSource, build_query, parse_seendate
from tracker.sources.registry import build_source
from tracker.sources.telegram import TelegramSource, parse_count, parse_preview

BSKY_TOKEN = "bsky-access-jwt-41c9"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TTP = "Sources say the TTP is behind the Nushki blast"


def _z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


# --------------------------------------------------------------------------- Bluesky


def did_of(handle: str) -> str:
    return "did:plc:" + _digest(handle)[:24]


def bsky_author(handle: str, followers: int | None = None) -> dict[str, Any]:
    """An ``app.bsky.actor.defs#profileViewBasic``; ``followersCount`` only when given
    (the search's basic views usually leave it out)."""
    author: dict[str, Any] = {
        "did": did_of(handle), "handle": handle,
        "displayName": handle.split(".")[0].title(),
        "avatar": f"https://cdn.example.invalid/img/avatar/plain/{did_of(handle)}/bafkrei{_digest(handle)[:20]}@jpeg",
        "associated": {"chat": {"allowIncoming": "following"}},
        "labels": [], "createdAt": "2023-05-02T18:11:04.000Z",
    }
    if followers is not None:
        author["followersCount"] = followers
    return author


def bsky_post(
    rkey: str, handle: str, text: str, at: datetime, *, followers: int | None = None,
    reply_to: dict[str, Any] | None = None, quote: dict[str, Any] | None = None,
    links: Sequence[tuple[str, str]] = (), card: str | None = None,
    counts: tuple[int, int, int, int] = (0, 0, 0, 0), indexed_after: float = 2.0,
) -> dict[str, Any]:
    """An ``app.bsky.feed.defs#postView`` as searchPosts returns it. ``links`` are
    (shown text, full URL) pairs made into link facets over the UTF-8 bytes of the shown
    text; ``counts`` are replies, reposts, likes, quotes."""
    uri = f"at://{did_of(handle)}/app.bsky.feed.post/{rkey}"
    cid = "bafyrei" + _digest(uri)[:52]
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _z(at),
                              "langs": ["en"], "text": text}
    facets = []
    raw = text.encode()
    for shown, full in links:
        start = raw.find(shown.encode())
        assert start >= 0, shown
        facets.append({"$type": "app.bsky.richtext.facet",
                       "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": full}]})
    if facets:
        record["facets"] = facets
    view: dict[str, Any] = {"uri": uri, "cid": cid, "author": bsky_author(handle, followers),
                            "record": record}
    if reply_to is not None:
        parent = {"uri": reply_to["uri"], "cid": reply_to["cid"]}
        root = reply_to["record"].get("reply", {}).get("root", parent)
        record["reply"] = {"root": root, "parent": parent}
    embed: dict[str, Any] | None = None
    shown: dict[str, Any] | None = None
    if quote is not None:
        embed = {"$type": "app.bsky.embed.record",
                 "record": {"uri": quote["uri"], "cid": quote["cid"]}}
        shown = {"$type": "app.bsky.embed.record#view", "record": {
            "$type": "app.bsky.embed.record#viewRecord", "uri": quote["uri"],
            "cid": quote["cid"], "author": quote["author"], "value": quote["record"],
            "labels": [], "likeCount": quote["likeCount"], "replyCount": quote["replyCount"],
            "repostCount": quote["repostCount"], "quoteCount": quote["quoteCount"],
            "indexedAt": quote["indexedAt"], "embeds": [],
        }}
    if card is not None:
        media = {"$type": "app.bsky.embed.external", "external": {
            "uri": card, "title": "Blast in Nushki", "description": ""}}
        media_view = {"$type": "app.bsky.embed.external#view", "external": {
            "uri": card, "title": "Blast in Nushki", "description": "",
            "thumb": "https://cdn.example.invalid/img/feed_thumbnail/plain/x@jpeg"}}
        if embed is None or shown is None:
            embed, shown = media, media_view
        else:  # a quote with a link card
            embed = {"$type": "app.bsky.embed.recordWithMedia", "record": embed, "media": media}
            shown = {"$type": "app.bsky.embed.recordWithMedia#view", "record": shown,
                     "media": media_view}
    if embed is not None:
        record["embed"], view["embed"] = embed, shown
    replies, reposts, likes, quotes = counts
    view.update(replyCount=replies, repostCount=reposts, likeCount=likes, quoteCount=quotes,
                indexedAt=_z(at + timedelta(seconds=indexed_after)), labels=[])
    return view


def _sort_at(view: dict[str, Any]) -> str:
    return min(view["record"]["createdAt"], view["indexedAt"])


class BskyApi:
    """``app.bsky.feed.searchPosts`` over ``posts``: ``q`` matched in the text (any case),
    ``sort=latest`` newest first by sortAt, ``since`` inclusive, ``limit`` per page and an
    opaque ``cursor`` while more remain."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.seen: list[tuple[dict[str, str], str | None]] = []  # query, Authorization
        self.lock = threading.Lock()

    def add(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        view = bsky_post(*args, **kwargs)
        with self.lock:
            self.posts.append(view)
        return view

    async def search(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        with self.lock:
            self.seen.append((query, request.headers.get("Authorization")))
            posts = list(self.posts)
        if "q" not in query:
            return web.json_response({"error": "InvalidRequest",
                                      "message": "Params must have the property \"q\""},
                                     status=400)
        q = query["q"].casefold()
        since = query.get("since")
        hits = [p for p in posts if q in p["record"]["text"].casefold()
                and (since is None or _sort_at(p) >= since)]
        hits.sort(key=lambda p: (_sort_at(p), p["uri"]), reverse=True)
        start = int(query.get("cursor", "0"))
        limit = int(query.get("limit", "25"))
        body: dict[str, Any] = {"posts": hits[start:start + limit], "hitsTotal": len(hits)}
        if start + limit < len(hits):
            body["cursor"] = str(start + limit)
        return web.json_response(body)


# --------------------------------------------------------------------------- Telegram


@dataclass
class TgMessage:
    number: int
    html: str  # the inner HTML of .tgme_widget_message_text ("" for none)
    at: datetime
    views: str = "1.2K"
    reply: tuple[int, str] | None = None  # replied message id, its text
    forwarded: tuple[str, str] | None = None  # "other/55", shown name
    service: bool = False
    photo: bool = False


class TgPreview:
    """``/s/NAME`` as t.me serves a public channel's preview: the 20 newest messages
    (``?before=ID``: the 20 before that id; ``?after=ID``: the 20 after it), oldest
    first, a "load more" link to older ones while there are."""

    PAGE = 20

    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = titles
        self.messages: dict[str, list[TgMessage]] = {name: [] for name in titles}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def add(self, channel: str, message: TgMessage) -> None:
        with self.lock:
            self.messages[channel].append(message)
            self.messages[channel].sort(key=lambda m: m.number)

    async def preview(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self.lock:
            self.seen.append((name, dict(request.query)))
            if name not in self.messages:
                return web.Response(text=contact_page(name), content_type="text/html")
            every = list(self.messages[name])
        if "before" in request.query:
            page = [m for m in every if m.number < int(request.query["before"])][-self.PAGE:]
        elif "after" in request.query:
            page = [m for m in every if m.number > int(request.query["after"])][:self.PAGE]
        else:
            page = every[-self.PAGE:]
        older = bool(page) and every[0].number < page[0].number
        return web.Response(text=preview_page(name, self.titles[name], page, older),
                            content_type="text/html")


def message_html(channel: str, title: str, m: TgMessage) -> str:
    post = f"{channel}/{m.number}"
    if m.service:
        return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="'
                f'tgme_widget_message service_message js-widget_message" data-post="{post}">'
                '<div class="tgme_widget_message_bubble"><div class="tgme_widget_message_text'
                ' js-message_text">Channel photo updated</div></div></div></div>')
    parts = [
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">',
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{post}" data-view="eyJjIjotMTAwMTQ{m.number}">',
        f'<div class="tgme_widget_message_user"><a href="/{channel}"><i class="'
        f'tgme_widget_message_user_photo bgcolor2" data-content="{title[0]}"><img src="'
        f'https://cdn.example.invalid/file/{_digest(channel)[:16]}.jpg"></i></a></div>',
        '<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail">'
        '<svg class="bubble_icon" width="9px" height="20px" viewBox="0 0 9 20"><g fill="none">'
        '<path class="background" fill="#ffffff" d="M8,1 L9,1 L9,20 L8,20 Z"></path></g>'
        '</svg></i>',
        f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_'
        f'owner_name" href="https://t.me/{channel}"><span dir="auto">{escape(title)}</span>'
        '</a></div>',
    ]
    if m.forwarded is not None:
        ref, shown = m.forwarded
        parts.append(
            '<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from <a '
            f'class="tgme_widget_message_forwarded_from_name" href="https://t.me/{ref}">'
            f'<span dir="auto">{escape(shown)}</span></a></div>')
    if m.reply is not None:
        number, text = m.reply
        parts.append(
            f'<a class="tgme_widget_message_reply" href="https://t.me/{channel}/{number}">'
            '<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_'
            f'message_author_name" dir="auto">{escape(title)}</span></div>'
            f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">'
            f'{escape(text)}</div></a>')
    if m.photo:
        parts.append(
            f'<a class="tgme_widget_message_photo_wrap" href="https://t.me/{post}" '
            "style=\"width:800px;background-image:url('https://cdn.example.invalid/file/p.jpg')\">"
            '<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>')
    if m.html:
        parts.append(f'<div class="tgme_widget_message_text js-message_text" dir="auto">'
                     f"{m.html}</div>")
    parts.append(
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        f'<span class="tgme_widget_message_views">{m.views}</span><span class="copyonly"> '
        'views</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_'
        f'date" href="https://t.me/{post}"><time datetime="'
        f'{m.at.isoformat()}" class="time">{m.at:%H:%M}</time></a></span></div></div>'
        "</div></div></div>")
    return "".join(parts)


def preview_page(channel: str, title: str, page: Sequence[TgMessage], older: bool) -> str:
    more = ""
    if older:
        first = page[0].number
        more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="'
                f'/s/{channel}?before={first}" data-before="{first}" class="tme_messages_more'
                ' js-messages_more"></a></div>')
    body = "".join(message_html(channel, title, m) for m in page)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f"{escape(title)} – Telegram</title><meta property=\"og:title\" content=\""
        f'{escape(title)}"></head><body class="widget_frame_base tgme_webpage emoji_image">'
        '<header class="tgme_header search_collapsed"><div class="tgme_header_info">'
        f'<span dir="auto">{escape(title)}</span></div></header><main class="tgme_main">'
        '<div class="tgme_container"><section class="tgme_channel_history js-message_history">'
        f"{more}{body}</section></div></main></body></html>"
    )


def contact_page(name: str) -> str:
    return ('<!DOCTYPE html><html><head><title>Telegram: Contact @' + name + "</title></head>"
            '<body><div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">'
            f'<div class="tgme_page_title"><span dir="auto">{name}</span></div>'
            '<div class="tgme_page_description">If you have <strong>Telegram</strong>, you can '
            "contact <a class=\"tgme_username_link\">@" + name + "</a> right away.</div>"
            "</div></div></div></body></html>")


# --------------------------------------------------------------------------- GDELT


def article(url: str, title: str, at: datetime, domain: str, *, language: str = "English",
            country: str = "Pakistan") -> dict[str, Any]:
    """One entry of ``articles`` in a DOC 2.0 ``mode=ArtList&format=json`` answer."""
    return {"url": url, "url_mobile": "", "title": title,
            "seendate": at.strftime("%Y%m%dT%H%M%SZ"),
            "socialimage": f"https://{domain}/images/{_digest(url)[:8]}.jpg",
            "domain": domain, "language": language, "sourcecountry": country}


class GdeltApi:
    """The DOC 2.0 API over ``articles``: any query term in the title (any case),
    ``startdatetime`` inclusive, newest first (``sort=DateDesc``), ``maxrecords``; ``{}``
    when nothing matches; a short term answered as GDELT does, in text."""

    def __init__(self) -> None:
        self.articles: list[dict[str, Any]] = []
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def add(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        item = article(*args, **kwargs)
        with self.lock:
            self.articles.append(item)
        return item

    async def doc(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        with self.lock:
            self.seen.append(query)
            articles = list(self.articles)
        assert query["mode"] == "ArtList" and query["format"] == "json"
        terms = [a or b for a, b in re.findall(r'"([^"]+)"|([^\s()"]+)', query["query"])
                 if (a or b) != "OR"]
        if any(len(t) < 3 for t in terms):
            return web.Response(text="The specified phrase is too short.\n",
                                content_type="text/html")
        start = query.get("startdatetime")
        hits = [a for a in articles
                if any(t.casefold() in a["title"].casefold() for t in terms)
                and (start is None or a["seendate"].replace("T", "").rstrip("Z") >= start)]
        hits.sort(key=lambda a: a["seendate"], reverse=True)
        hits = hits[:int(query.get("maxrecords", "75"))]
        return web.json_response({"articles": hits} if hits else {})


# --------------------------------------------------------------------------- servers


def reach_app(bsky: BskyApi, tg: TgPreview, gdelt: GdeltApi) -> web.Application:
    """The three services under ``/bsky``, ``/tg`` and ``/gdelt``; ``/down/...`` answers
    500 and ``/garbage/...`` a maintenance page, whatever is asked."""

    async def down(request: web.Request) -> web.Response:
        return web.json_response({"error": "InternalServerError",
                                  "message": "Internal Server Error"}, status=500)

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><h1>Down for maintenance</h1></body></html>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/bsky/xrpc/app.bsky.feed.searchPosts", bsky.search)
    app.router.add_get("/tg/s/{name}", tg.preview)
    app.router.add_get("/gdelt/api/v2/doc/doc", gdelt.doc)
    app.router.add_get("/down/{tail:.*}", down)
    app.router.add_get("/garbage/{tail:.*}", garbage)
    return app


@dataclass
class Served:
    bsky: BskyApi = field(default_factory=BskyApi)
    tg: TgPreview = field(default_factory=lambda: TgPreview(
        {"nushkinews": "Nushki News", "balochpost": "Baloch Post"}))
    gdelt: GdeltApi = field(default_factory=GdeltApi)
    base: str = ""
    # what the Teams and Discord webhooks received: (channel, idempotency key, payload)
    hooked: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """The three services on 127.0.0.1, in the test's own loop."""
    out = Served()
    runner = web.AppRunner(reach_app(out.bsky, out.tg, out.gdelt), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    out.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield out
    await runner.cleanup()


def no_terms() -> Sequence[str]:
    return ()


def source(kind: str, base: str, environ: dict[str, str] | None = None,
           terms: Callable[[], Sequence[str]] = no_terms, **values: Any) -> Source:
    return build_source(SourceSettings(name=values.pop("name", kind), type=kind,
                                       base_url=base, **values),
                        terms=terms, environ=environ or {})


async def polled(src: Source, cursor: dict[str, Any] | None) -> Any:
    try:
        return await src.poll(cursor)
    finally:
        await src.close()


# --------------------------------------------------------------------------- Bluesky tests


async def test_bluesky_search_posts_become_posts_with_authors_links_replies_and_quotes(
    served: Served,
) -> None:
    api = served.bsky
    first = api.add("3lbwa2aaaa2k", "rumourmill.bsky.social", TTP + " reuters.com/world/asia...",
                    T0, followers=3100, links=[("reuters.com/world/asia...",
                                                "https://www.reuters.com/world/asia-pacific/nushki-blast-2026-11-20/")],
                    counts=(1, 4, 9, 2))
    reply = api.add("3lbwa3bbbb2k", "desk-check.bsky.social",
                    "Is this confirmed? Nothing from police on Nushki yet", T0 + timedelta(minutes=2),
                    reply_to=first)
    quote = api.add("3lbwa4cccc2k", "newsbot.bsky.social", "TTP claim spreads fast in Nushki",
                    T0 + timedelta(minutes=3), quote=first, card="https://www.dawn.com/news/1")
    bare = api.add("3lbwa5dddd2k", "amp.bsky.social", "", T0 + timedelta(minutes=4), quote=first)
    bare["record"]["text"] = ""  # a quote without words of its own; searched by its embed
    api.posts.remove(bare)
    env = {"CW_BSKY": BSKY_TOKEN}
    src = source("bluesky", served.base + "/bsky", env, terms=lambda: ["Nushki", "nushki"],
                 token_env="CW_BSKY", max_results=50)
    assert BSKY_TOKEN not in repr(src) and "CW_BSKY" in repr(src)
    poll = await polled(src, None)

    assert [p.id for p in poll.posts] == [first["uri"], reply["uri"], quote["uri"]]
    posts = {p.id: p for p in poll.posts}
    one = posts[first["uri"]]
    assert one.author == "rumourmill.bsky.social" and one.text.startswith(TTP)
    assert one.created_at == T0 and one.lang == "en"
    assert one.url == "https://bsky.app/profile/rumourmill.bsky.social/post/3lbwa2aaaa2k"
    assert one.extra["links"] == [
        "https://www.reuters.com/world/asia-pacific/nushki-blast-2026-11-20/"]
    assert one.metrics == {"replies": 1, "reposts": 4, "likes": 9, "quotes": 2,
                           "followers": 3100}
    assert one.extra["did"] == did_of("rumourmill.bsky.social")
    answer = posts[reply["uri"]]
    assert answer.reply_to == first["uri"] and "followers" not in answer.metrics
    quoted = posts[quote["uri"]]
    assert quoted.reply_to == first["uri"] and quoted.extra["quote_of"] == first["uri"]
    assert quoted.extra["links"] == ["https://www.dawn.com/news/1"]
    assert poll.cursor["terms"]["Nushki"]["since"] == _z(T0 + timedelta(minutes=3))

    query, auth = api.seen[0]
    assert len(api.seen) == 1, "one search per term, repeats in any case dropped"
    assert query == {"q": "Nushki", "sort": "latest", "limit": "50"}  # no since at first
    assert auth == f"Bearer {BSKY_TOKEN}"

    # a quote with no text is a repost of the quoted post, which comes first
    views = BlueskySource("b")._posts(bare)
    assert [(p.id, p.repost_of, p.text) for p in views] == [
        (first["uri"], None, first["record"]["text"]), (bare["uri"], first["uri"], "")]


async def test_bluesky_pages_a_burst_with_since_and_cursor_and_serves_nothing_twice(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    api = served.bsky
    early = [api.add(f"3lbx{n:08d}", f"user{n % 4}.bsky.social", f"Nushki update {n}",
                     T0 + timedelta(minutes=n)) for n in range(12)]
    src = source("bluesky", served.base + "/bsky", terms=lambda: ["Nushki"], max_results=10)
    first = await polled(src, None)
    assert [p.id for p in first.posts] == [v["uri"] for v in early[2:]]  # one page only
    assert len(api.seen) == 1

    burst = [api.add(f"3lby{n:08d}", "user9.bsky.social", f"Nushki burst {n}",
                     T0 + timedelta(hours=1, seconds=n)) for n in range(25)]
    src = source("bluesky", served.base + "/bsky", terms=lambda: ["Nushki"], max_results=10)
    second = await polled(src, first.cursor)
    assert [p.id for p in second.posts] == [v["uri"] for v in burst]  # all 25, none twice
    pages = [q for q, _ in api.seen[1:]]
    assert [q.get("cursor") for q in pages] == [None, "10", "20"]
    assert all(q["since"] == _z(T0 + timedelta(minutes=11)) for q in pages)

    third = await polled(source("bluesky", served.base + "/bsky", terms=lambda: ["Nushki"]),
                         second.cursor)
    assert third.posts == [] and api.seen[-1][0]["since"] == _z(T0 + timedelta(hours=1, seconds=24))

    flood = [api.add(f"3lbz{n:08d}", "user8.bsky.social", f"Nushki flood {n}",
                     T0 + timedelta(hours=2, seconds=n)) for n in range(60)]
    src = source("bluesky", served.base + "/bsky", terms=lambda: ["Nushki"], max_results=10)
    with caplog.at_level("WARNING", logger="tracker.sources.bluesky"):
        fourth = await polled(src, third.cursor)
    assert [p.id for p in fourth.posts] == [v["uri"] for v in flood[10:]]  # the newest 50
    assert "over 5 pages of new posts for 'Nushki'" in caplog.text and "skipped" in caplog.text


async def test_bluesky_failures_name_the_source_and_keep_the_token_out(served: Served) -> None:
    env = {"CW_BSKY": BSKY_TOKEN}
    for base, words, transient in ((served.base + "/down", "HTTP 500", True),
                                   (served.base + "/garbage", "did not answer with searchPosts",
                                    True),
                                   (served.base + "/nothing", "HTTP 404", False)):
        src = source("bluesky", base, env, terms=lambda: ["Nushki"], token_env="CW_BSKY")
        with pytest.raises(SourceError) as caught:
            await polled(src, None)
        assert "source bluesky" in str(caught.value) and words in str(caught.value)
        assert caught.value.transient is transient and BSKY_TOKEN not in str(caught.value)
    quiet = await polled(source("bluesky", served.base + "/down"), {"terms": {}})
    assert quiet.posts == [] and quiet.cursor == {"terms": {}}  # no terms: nothing asked


# --------------------------------------------------------------------------- Telegram tests


def test_preview_page_parsed_with_ids_text_views_replies_and_forwards() -> None:
    page = preview_page("nushkinews", "Nushki News", [
        TgMessage(501, "Blast near the <b>Nushki</b> bus stand<br/>Police on site "
                       '<a href="https://www.dawn.com/news/1" target="_blank">dawn.com/news/1</a> '
                       '<i class="emoji" style="background-image:url(\'//telegram.org/img/'
                       "emoji/40/F09F9AA8.png')\"><b>🚨</b></i>",
                  T0, views="3.46M"),
        TgMessage(502, "", T0 + timedelta(minutes=1), photo=True),  # a photo, no caption
        TgMessage(503, "", T0 + timedelta(minutes=2), service=True),
        TgMessage(504, escape(TTP), T0 + timedelta(minutes=3), views="12.5K",
                  reply=(501, "Blast near the Nushki bus stand")),
        TgMessage(505, escape(TTP + " (via BLA channel)"), T0 + timedelta(minutes=4),
                  views="987", forwarded=("balochpost/77", "Baloch Post")),
    ], older=True)
    preview = parse_preview(page)
    assert preview.history and preview.before == 501
    assert [m.post for m in preview.messages] == [f"nushkinews/{n}" for n in range(501, 506)]
    source_ = TelegramSource("tg", ["@nushkinews"])
    posts = [p for p in map(source_._post, preview.messages) if p is not None]
    assert [p.id for p in posts] == ["nushkinews/501", "nushkinews/504", "nushkinews/505"]
    first, reply, forward = posts
    assert first.text == "Blast near the Nushki bus stand\nPolice on site dawn.com/news/1 🚨"
    assert first.author == "nushkinews" and first.created_at == T0
    assert first.url == "https://t.me/nushkinews/501" and first.metrics == {"views": 3_460_000}
    assert first.extra == {"channel_title": "Nushki News",
                           "links": ["https://www.dawn.com/news/1"]}
    assert reply.text == TTP and reply.reply_to == "nushkinews/501"  # quoted text left out
    assert reply.metrics == {"views": 12_500}
    assert forward.repost_of == "balochpost/77" and forward.metrics == {"views": 987}
    assert forward.extra["forwarded_from"] == "balochpost/77"
    assert forward.extra["forwarded_from_name"] == "Baloch Post"
    assert [parse_count(v) for v in ("987", "1 234", "12.5K", "3.46M", "", "n/a")] == [
        987, 1234, 12_500, 3_460_000, None, None]


async def test_telegram_pages_back_with_before_after_the_cursor(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    tg = served.tg
    for n in range(100, 130):
        tg.add("nushkinews", TgMessage(n, f"Nushki update {n}", T0 + timedelta(minutes=n)))
    tg.add("balochpost", TgMessage(7, "Curfew in Nushki", T0))
    src = source("telegram", served.base + "/tg", channels=("nushkinews", "t.me/balochpost"))
    first = await polled(src, None)
    assert [p.id for p in first.posts][:2] == ["balochpost/7", "nushkinews/110"]
    assert len(first.posts) == 21  # the newest page of each: no backfill
    assert first.cursor == {"after": {"nushkinews": 129, "balochpost": 7}}
    assert [q for _, q in tg.seen] == [{}, {}]

    for n in range(130, 175):  # 45 new: over two pages
        tg.add("nushkinews", TgMessage(n, f"Nushki burst {n}", T0 + timedelta(hours=3, minutes=n)))
    tg.seen.clear()
    second = await polled(source("telegram", served.base + "/tg",
                                 channels=("nushkinews", "balochpost")), first.cursor)
    assert [p.id for p in second.posts] == [f"nushkinews/{n}" for n in range(130, 175)]
    assert [(c, q) for c, q in tg.seen] == [("nushkinews", {}), ("nushkinews", {"before": "155"}),
                                            ("nushkinews", {"before": "135"}), ("balochpost", {})]
    assert second.cursor == {"after": {"nushkinews": 174, "balochpost": 7}}

    again = await polled(source("telegram", served.base + "/tg",
                                channels=("nushkinews", "balochpost")), second.cursor)
    assert again.posts == [] and again.cursor == second.cursor

    for n in range(175, 300):
        tg.add("nushkinews", TgMessage(n, f"Nushki flood {n}", T0 + timedelta(hours=6, minutes=n)))
    with caplog.at_level("WARNING", logger="tracker.sources.telegram"):
        flood = await polled(source("telegram", served.base + "/tg", channels=("nushkinews",)),
                             again.cursor)
    assert [p.id for p in flood.posts] == [f"nushkinews/{n}" for n in range(200, 300)]
    assert "over 5 pages of new messages in nushkinews" in caplog.text


async def test_telegram_failures(served: Served) -> None:
    cases = (("/tg", ("ghostchannel",), "no public preview of channel ghostchannel", False),
             ("/garbage", ("nushkinews",), "is not a Telegram channel preview", True),
             ("/down", ("nushkinews",), "HTTP 500", True))
    for base, channels, words, transient in cases:
        with pytest.raises(SourceError) as caught:
            await polled(source("telegram", served.base + base, channels=channels), None)
        assert "source telegram" in str(caught.value) and words in str(caught.value)
        assert caught.value.transient is transient


# --------------------------------------------------------------------------- GDELT tests


async def test_gdelt_articles_are_posts_by_url_from_the_latest_seendate(served: Served) -> None:
    api = served.gdelt
    ispr = api.add("https://www.ispr.gov.pk/press-release-311", "ISPR: Nushki attack under "
                   "investigation", T0, "ispr.gov.pk")
    dawn = api.add("https://www.dawn.com/news/1890011/nushki-blast", "Nushki blast: TTP "
                   "behind attack, sources say", T0 + timedelta(minutes=15), "dawn.com")
    api.add("https://www.dawn.com/news/1890011/nushki-blast", "Nushki blast: TTP behind "
            "attack, sources say", T0 + timedelta(minutes=30), "dawn.com")  # seen again
    api.add("https://quetta.example/1", "Quetta market blast leaves 3 injured",
            T0 + timedelta(minutes=20), "quetta.example", language="Urdu")
    api.add("https://elsewhere.example/2", "Football results", T0, "elsewhere.example")
    terms = ["Nushki", "Quetta market"]
    src = source("gdelt", served.base + "/gdelt/api/v2/doc/doc", terms=lambda: terms)
    first = await polled(src, None)
    assert api.seen[0]["query"] == '(Nushki OR "Quetta market")'
    assert api.seen[0]["timespan"] == "1d" and "startdatetime" not in api.seen[0]
    assert api.seen[0]["sort"] == "DateDesc" and api.seen[0]["maxrecords"] == "250"
    assert [p.id for p in first.posts] == [ispr["url"], "https://quetta.example/1", dawn["url"]]
    post = first.posts[0]
    assert post.text == "ISPR: Nushki attack under investigation" and post.url == ispr["url"]
    assert post.author == "ispr.gov.pk" and post.created_at == T0 and post.lang == "en"
    assert post.tier is None  # [tiers] decides by the domain, like any post with a URL
    assert post.extra == {"domain": "ispr.gov.pk", "language": "English",
                          "sourcecountry": "Pakistan"}
    assert first.posts[1].lang == "ur"
    assert first.posts[2].created_at == T0 + timedelta(minutes=30)  # deduplicated by URL
    assert first.cursor is not None and first.cursor["seendate"] == "20261120T103000Z"

    late = api.add("https://www.dawn.com/news/1890099", "Nushki: police deny TTP link",
                   T0 + timedelta(minutes=45), "dawn.com")
    second = await polled(source("gdelt", served.base + "/gdelt/api/v2/doc/doc",
                                 terms=lambda: terms), first.cursor)
    assert api.seen[1]["startdatetime"] == "20261120103000"
    assert [p.id for p in second.posts] == [late["url"]]  # the dawn article not again
    third = await polled(source("gdelt", served.base + "/gdelt/api/v2/doc/doc",
                                terms=lambda: terms), second.cursor)
    assert third.posts == [] and third.cursor == second.cursor

    terms.append("Kalat")  # a new incident: a new query, read from the last day again
    fourth = await polled(source("gdelt", served.base + "/gdelt/api/v2/doc/doc",
                                 terms=lambda: terms), third.cursor)
    assert "startdatetime" not in api.seen[-1] and len(fourth.posts) == 4

    assert build_query(["Nushki", "nushki", 'say "BLA"', ""]) == '(Nushki OR "say BLA")'
    assert parse_seendate("20241120T101500Z") == datetime(2024, 11, 20, 10, 15, tzinfo=UTC)
    assert parse_seendate("2024-11-20") is None


async def test_gdelt_failures_carry_gdelts_words(served: Served) -> None:
    doc = served.base + "/gdelt/api/v2/doc/doc"
    cases = ((doc, ["BL"], "The specified phrase is too short."),
             (served.base + "/garbage/doc", ["Nushki"], "Down for maintenance"),
             (served.base + "/down/doc", ["Nushki"], "HTTP 500"))
    for base, terms, words in cases:
        with pytest.raises(SourceError) as caught:
            await polled(source("gdelt", base, terms=lambda terms=terms: terms), None)
        assert "source gdelt" in str(caught.value) and words in str(caught.value)
        assert caught.value.transient
    nothing = await polled(source("gdelt", doc, query="Zhob"), None)
    assert nothing.posts == [] and nothing.cursor is not None and nothing.cursor["query"] == "Zhob"


# --------------------------------------------------------------------------- registry


async def test_registry_builds_the_new_types_with_their_default_addresses() -> None:
    made = [build_source(SourceSettings(name=kind, type=kind, channels=("nushkinews",)),
                         terms=no_terms, environ={}) for kind in ("bluesky", "telegram", "gdelt")]
    bsky, tg, gdelt = made
    assert isinstance(bsky, BlueskySource) and bsky.base_url == "https://public.api.bsky.app"
    assert isinstance(tg, TelegramSource) and tg.base_url == "https://t.me"
    assert isinstance(gdelt, GdeltSource)
    assert gdelt.base_url == "https://api.gdeltproject.org/api/v2/doc/doc"
    assert all(s.disabled_reason is None for s in made)
    for s in made:
        await s.close()
    with pytest.raises(ConfigError, match="type telegram needs channels"):
        build_source(SourceSettings(name="tg", type="telegram"), terms=no_terms, environ={})
    with pytest.raises(ConfigError, match="'not a name!' is not one"):
        build_source(SourceSettings(name="tg", type="telegram", channels=("not a name!",)),
                     terms=no_terms, environ={})
    for kind in ("bluesky", "gdelt"):
        with pytest.raises(ConfigError, match="base_url must be an http"):
            build_source(SourceSettings(name="b", type=kind, base_url="ftp://x.example"),
                         terms=no_terms, environ={})


# --------------------------------------------------------------------------- the daemon


class ThreadedServer:
    """:func:`reach_app` on 127.0.0.1 in a thread of its own, for a daemon in a
    subprocess."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> Served:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self.served

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> None:
        s = self.served
        app = reach_app(s.bsky, s.tg, s.gdelt)

        def receiver(channel: str) -> Any:
            async def receive(request: web.Request) -> web.Response:
                s.hooked.append((channel, request.headers.get("Idempotency-Key", ""),
                                 await request.json()))
                return web.Response(status=204 if channel == "discord" else 202)
            return receive

        app.router.add_post("/hooks/teams", receiver("teams"))
        app.router.add_post("/hooks/discord", receiver("discord"))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        s.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"


REACH_SOURCES = """
[[sources]]
name = "bsky"
type = "bluesky"
base_url = "{base}/bsky"
token_env = "CW_TEST_BSKY_TOKEN"
interval_seconds = 1

[[sources]]
name = "bsky-down"
type = "bluesky"
base_url = "{base}/down"
interval_seconds = 1

[[sources]]
name = "tg"
type = "telegram"
base_url = "{base}/tg"
channels = ["nushkinews", "balochpost"]
interval_seconds = 1

[[sources]]
name = "tg-garbage"
type = "telegram"
base_url = "{base}/garbage"
channels = ["nushkinews"]
interval_seconds = 1

[[sources]]
name = "gdelt"
type = "gdelt"
base_url = "{base}/gdelt/api/v2/doc/doc"
interval_seconds = 1

[[sources]]
name = "gdelt-garbage"
type = "gdelt"
base_url = "{base}/garbage/api/v2/doc/doc"
interval_seconds = 1
"""


def reach_config(folder: Path, base: str, port: int) -> Path:
    started = datetime.now(UTC) - timedelta(hours=3)
    return write_config(folder, f"""
[service]
port = {port}
evaluate_seconds = 1.0
consolidate_seconds = 2.0
save_index_seconds = 2.0
grace_seconds = 20.0

[tiers]
official_domains = ["ispr.gov.pk"]
verified_domains = ["dawn.com"]

[[incidents]]
id = "nushki"
title = "Nushki bus bombing"
description = "A bomb exploded near a bus in Nushki, Balochistan."
started_at = "{started.isoformat()}"
terms = ["Nushki"]

[[rules]]
name = "spreading"
window_minutes = 60.0
ratio = 2.0
min_posts = 4
min_authors = 3
verified_floor = 0.01
statuses = ["speculative", "unconfirmed", "contradicted"]

[[channels]]
name = "desk"
type = "teams"
url_env = "CW_TEST_TEAMS_URL"

[[channels]]
name = "ops"
type = "discord"
url_env = "CW_TEST_DISCORD_URL"
""" + REACH_SOURCES.format(base=base))


def read(daemon: Daemon, path: str) -> Any:
    """A read of the daemon's API, with the token reads take."""
    status, _, body = daemon.request("GET", path, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 200, (path, status, body)
    return body


def counter(daemon: Daemon, line_start: str) -> float:
    for line in read(daemon, "/metrics").splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def post_tiers(db: Path) -> dict[tuple[str, str], str]:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT source, ext_id, tier FROM posts").fetchall()
    return {(s, i): t for s, i, t in rows}


def test_daemon_stores_clusters_and_alerts_from_new_sources_to_teams_and_discord(
    tmp_path: Path, embedder: SentenceTransformerEmbedder,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with ThreadedServer(Served()) as up:
        views = [up.bsky.add(f"3lc{n}aaaaaa2k", f"{who}.bsky.social", text,
                             now - timedelta(minutes=50 - n * 3), followers=200 + n)
                 for n, (who, text) in enumerate([
                     ("rumourmill", TTP), ("quetta-watch", TTP + " today"),
                     ("balochwire", "The TTP is behind the Nushki blast, sources say")])]
        up.tg.add("nushkinews", TgMessage(901, escape(TTP) + "<br/>More soon",
                                          now - timedelta(minutes=30), views="4.1K"))
        up.tg.add("balochpost", TgMessage(55, "Sources say the TTP was behind the Nushki "
                                              "blast", now - timedelta(minutes=28)))
        up.gdelt.add("https://www.ispr.gov.pk/press-release-311",
                     "Nushki attack under investigation, no group identified yet",
                     now - timedelta(minutes=25), "ispr.gov.pk")
        up.gdelt.add("https://www.dawn.com/news/1890011/nushki-blast",
                     "Nushki blast: police say investigation under way",
                     now - timedelta(minutes=20), "dawn.com")
        port = free_port()
        config = reach_config(tmp_path, up.base, port)
        db = tmp_path / "claimwatch.db"
        env = {**daemon_env(), "CW_TEST_BSKY_TOKEN": BSKY_TOKEN,
               "CW_TEST_TEAMS_URL": f"{up.base}/hooks/teams",
               "CW_TEST_DISCORD_URL": f"{up.base}/hooks/discord"}
        daemon = Daemon(config, port, env, tmp_path / "daemon.log")
        try:
            daemon.wait_ready()
            expected = {
                "bsky": [v["uri"] for v in views],
                "tg": ["balochpost/55", "nushkinews/901"],
                "gdelt": ["https://www.dawn.com/news/1890011/nushki-blast",
                          "https://www.ispr.gov.pk/press-release-311"],
            }

            def all_in() -> bool:
                found = stored(db)
                return all(sorted(found.get(s, [])) == sorted(ids) for s, ids in expected.items())

            wait_for("posts from bluesky, telegram and gdelt", all_in, daemon)
            tiers = post_tiers(db)
            assert tiers[("gdelt", "https://www.ispr.gov.pk/press-release-311")] == "official"
            assert tiers[("gdelt", "https://www.dawn.com/news/1890011/nushki-blast")] == "verified"
            assert tiers[("tg", "nushkinews/901")] == "unverified"

            # -- the failing twins fail, are retried, and stop nothing
            def failing() -> dict[str, Any] | None:
                sources = (daemon.health() or {}).get("sources", {})
                bad = all(sources.get(n, {}).get("failures", 0) >= 2
                          for n in ("bsky-down", "tg-garbage", "gdelt-garbage"))
                return sources if bad else None

            sources = wait_for("the failing sources to be retried", failing, daemon)
            assert all(sources[n]["ok"] for n in ("bsky", "tg", "gdelt"))
            assert all(sources[n]["ok"] is False for n in ("bsky-down", "tg-garbage",
                                                           "gdelt-garbage"))

            # -- clustered: one narrative holds the Bluesky posts and the Telegram messages
            def ttp_narrative() -> dict[str, Any] | None:
                for n in read(daemon, "/v1/narratives?incident=nushki"):
                    if n["actors"] == ["TTP"]:
                        full = read(daemon, f"/v1/narratives/{n['id']}")
                        if {"bsky", "tg"} <= {c["source"] for c in full["claims"]}:
                            return dict(full)
                return None

            narrative = wait_for("a narrative with Bluesky and Telegram posts", ttp_narrative,
                                 daemon)
            assert narrative["size"] >= 5

            # -- its alert reaches Teams (an Adaptive Card) and Discord (an embed)
            def delivered() -> dict[str, tuple[str, dict[str, Any]]] | None:
                got = {c: (k, body) for c, k, body in up.hooked}
                return got if {"teams", "discord"} <= set(got) else None

            got = wait_for("the alert in Teams and Discord", delivered, daemon)
            (teams_key, card), (discord_key, message) = got["teams"], got["discord"]
            attachment = card["attachments"][0]
            assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
            assert attachment["content"]["type"] == "AdaptiveCard"
            assert "TTP" in json.dumps(attachment["content"])
            assert "TTP" in json.dumps(message["embeds"][0])
            assert teams_key and teams_key == discord_key  # one alert, one key everywhere

            # -- cursors: what is new is taken, nothing twice
            up.bsky.add("3lc9aaaaaa2k", "helper.bsky.social", "Nushki hospital asks for blood",
                        now)
            up.tg.add("nushkinews", TgMessage(902, "Curfew imposed in Nushki tonight", now))
            up.gdelt.add("https://www.dawn.com/news/1890100", "Nushki curfew imposed", now,
                         "dawn.com")
            expected["bsky"].append(up.bsky.posts[-1]["uri"])
            expected["tg"].append("nushkinews/902")
            expected["gdelt"].append("https://www.dawn.com/news/1890100")
            wait_for("the new posts to be stored", all_in, daemon)
            before = {s: h["polls"] for s, h in (daemon.health() or {})["sources"].items()}
            wait_for("two more polls of each new source", lambda: all(
                (daemon.health() or {})["sources"][s]["polls"] >= before[s] + 2
                for s in ("bsky", "tg", "gdelt")), daemon)
            assert all_in(), "polling again stored nothing twice"
            assert set(stored(db)) == set(expected)
            for name in ("bsky", "tg", "gdelt"):
                duplicates = counter(daemon,
                                     f'claimwatch_posts_duplicate_total{{source="{name}"}}')
                assert duplicates == 0, f"{name} served a post again"
            assert any("since" in q for q, _ in up.bsky.seen)
            assert all(auth == f"Bearer {BSKY_TOKEN}" for _, auth in up.bsky.seen)
            assert any("startdatetime" in q for q in up.gdelt.seen)
        finally:
            code = daemon.stop()
    log = daemon.log()
    assert code == 0, log
    assert "claimwatch stopped" in log
    # the failing ones are logged with their reason, once per failed poll
    assert log.count("source bsky-down: HTTP 500") >= 2
    assert "source tg-garbage: " in log and "is not a Telegram channel preview" in log
    assert "source gdelt-garbage: " in log and "did not answer with an article list" in log
    assert BSKY_TOKEN not in log
