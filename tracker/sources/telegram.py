"""Public Telegram channels, read from their web preview (``https://t.me/s/NAME``).

No account and no API key: the preview is the page t.me shows anyone for a public
channel, about twenty messages, oldest first, each a ``div.tgme_widget_message`` with
``data-post="NAME/ID"``. It is parsed with the standard library's HTML parser.

A message becomes a :class:`Post`:

- ``id``: ``data-post`` (``NAME/ID``); ``url``: ``https://t.me/NAME/ID``;
- ``text``: the ``.tgme_widget_message_text`` (line breaks kept; a quoted reply's text left
  out); a message without text (a photo without caption, a service message) is skipped;
- ``created_at``: the message's ``time[datetime]``, in UTC;
- ``author``: the channel's name (``NAME``, so ``[tiers]`` can list it as a handle);
  ``extra["channel_title"]``: the name it shows;
- metrics ``views`` (``.tgme_widget_message_views``: ``"3.4K"`` is 3400). The preview
  shows no forward count; a message that is itself a forward says so: ``repost_of`` is
  the forwarded post (``OTHER/ID``, from the forwarded-from link) and ``extra`` keeps
  ``forwarded_from`` and ``forwarded_from_name``;
- ``reply_to``: the replied message (``NAME/ID``); ``extra["links"]``: the text's links.

Paging: the first poll of a channel reads the newest page only. Later polls read the newest
page and, while every message on it is newer than the cursor, page back with
``?before=OLDEST`` (as the preview's "load more" does) up to ``max_pages`` pages; beyond
that the older part of a burst is skipped and a warning names the channel.

The cursor is ``{"after": {channel: newest message id seen}}``.

A page without a message history is a failure: permanent where t.me shows its
"contact"/"view" page instead (no such channel, a private channel or a group), transient
otherwise (a body that is not a preview at all).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from tracker.errors import SourceError
from tracker.ingest.normalize import normalize_text
from tracker.models import Post, Tier
from tracker.sources.base import HttpSource, Poll, display_url, parse_iso_time, with_timeout

__all__ = [
    "DEFAULT_BASE_URL",
    "Message",
    "Preview",
    "TelegramSource",
    "channel_name",
    "parse_count",
    "parse_preview",
    "valid_channel",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://t.me"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,63}$")
_COUNT = re.compile(r"^\s*([0-9][0-9.,\s]*)\s*([KkMm]?)\s*$")
_POST = re.compile(r"^/?([A-Za-z][A-Za-z0-9_]*)/([0-9]+)/?$")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                   "meta", "source", "track", "wbr"})
_HINTS = {404: "no channel preview here; check [[sources]] channels and base_url"}


@dataclass
class Message:
    """One message as the preview shows it."""

    post: str  # data-post: "NAME/ID"
    text_parts: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    datetime: str | None = None
    views: str = ""
    owner: str = ""
    reply: str | None = None  # href of the replied message
    forwarded: str | None = None  # href of the forwarded-from link
    forwarded_name: str = ""
    service: bool = False

    @property
    def number(self) -> int:
        return int(self.post.rsplit("/", 1)[1])

    @property
    def text(self) -> str:
        return normalize_text("".join(self.text_parts))


@dataclass
class Preview:
    """A parsed preview page: its messages (page order, oldest first), the ``before``
    id its "load more" link asks for (None: no older messages), whether it had a message
    history at all and whether it is t.me's page for a channel without preview."""

    messages: list[Message]
    before: int | None
    history: bool
    no_preview_page: bool


class _Parser(HTMLParser):
    """Collects :class:`Message` from a preview page. Tracks which marked elements
    (message text, views, a reply block ...) the parser is inside with a stack of open
    elements, closing unclosed ones when an outer element ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[Message] = []
        self.before: list[int] = []
        self.history = False
        self.page = False
        self._stack: list[tuple[str, frozenset[str]]] = []
        self._inside: dict[str, int] = {}
        self._message: Message | None = None

    def _in(self, role: str) -> bool:
        return self._inside.get(role, 0) > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        classes = set(values.get("class", "").split())
        message = self._message
        if tag in _VOID:
            if tag == "br" and message is not None and self._in("text"):
                message.text_parts.append("\n")
            return
        roles: set[str] = set()
        if "tgme_channel_history" in classes:
            self.history = True
        if classes & {"tgme_page", "tgme_page_wrap"}:
            self.page = True
        if "tme_messages_more" in classes and values.get("data-before", "").isdigit():
            self.before.append(int(values["data-before"]))
        if "tgme_widget_message" in classes and _POST.match(values.get("data-post", "")):
            message = self._message = Message(values["data-post"].strip("/"))
            message.service = "service_message" in classes
            roles.add("message")
        if message is not None:
            roles |= self._message_roles(message, tag, classes, values)
        self._stack.append((tag, frozenset(roles)))
        for role in roles:
            self._inside[role] = self._inside.get(role, 0) + 1

    def _message_roles(self, message: Message, tag: str, classes: set[str],
                       values: Mapping[str, str]) -> set[str]:
        roles: set[str] = set()
        href = values.get("href", "")
        if "tgme_widget_message_reply" in classes:
            roles.add("reply")
            message.reply = href or message.reply
        if self._in("reply"):
            return roles
        if "tgme_widget_message_text" in classes and not self._in("text"):
            roles.add("text")
        elif tag == "a" and self._in("text") and href:
            message.links.append(href)
        if "tgme_widget_message_forwarded_from_name" in classes:
            roles.add("forwarded")
            message.forwarded = href or message.forwarded
        if "tgme_widget_message_views" in classes:
            roles.add("views")
        if "tgme_widget_message_owner_name" in classes:
            roles.add("owner")
        if "service_message" in classes:
            message.service = True
        if tag == "time" and values.get("datetime") and message.datetime is None:
            message.datetime = values["datetime"]
        return roles

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            open_tag, roles = self._stack.pop()
            for role in roles:
                self._inside[role] -= 1
            if "message" in roles and self._message is not None:
                self.messages.append(self._message)
                self._message = None
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        message = self._message
        if message is None:
            return
        if self._in("text"):
            message.text_parts.append(data)
        if self._in("views"):
            message.views += data
        if self._in("owner"):
            message.owner += data
        if self._in("forwarded"):
            message.forwarded_name += data

    def close(self) -> None:
        super().close()
        while self._stack:  # a page cut short: close what is open
            self.handle_endtag(self._stack[-1][0])


def parse_preview(body: str) -> Preview:
    """The messages of a preview page's HTML, in page order."""
    parser = _Parser()
    parser.feed(body)
    parser.close()
    return Preview(parser.messages, min(parser.before) if parser.before else None,
                   parser.history, parser.page and not parser.history)


def parse_count(value: str) -> int | None:
    """A count as the preview writes it: ``"987"``, ``"12.5K"``, ``"3.46M"``."""
    match = _COUNT.match(value)
    if match is None:
        return None
    digits, unit = match.group(1).replace(" ", "").replace("\u00a0", ""), match.group(2)
    try:
        number = float(digits.replace(",", "")) if unit or "." in digits else \
            int(digits.replace(",", "").replace(".", ""))
    except ValueError:
        return None
    return round(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit.lower()])


class TelegramSource(HttpSource):
    """The web previews of public ``channels`` (names as in ``t.me/NAME``, ``@`` or the
    ``https://t.me/`` prefix allowed) at ``base_url``, polled every ``interval`` seconds,
    each poll given ``timeout`` seconds."""

    def __init__(
        self, name: str, channels: Sequence[str], *, base_url: str = DEFAULT_BASE_URL,
        tier: Tier | None = None, interval: float = 60.0, timeout: float = 30.0,
        max_pages: int = 5, session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, interval=interval, timeout=timeout, session=session)
        self.base_url = base_url.strip().rstrip("/")
        self.channels = tuple(dict.fromkeys(c for c in map(channel_name, channels) if c))
        self.tier = tier
        self.max_pages = max(1, max_pages)

    def __repr__(self) -> str:
        return (f"TelegramSource({self.name!r}, {display_url(self.base_url)!r}, "
                f"channels={list(self.channels)!r})")

    async def poll(self, cursor: dict[str, Any] | None) -> Poll:
        """Messages newer than ``cursor`` in every channel (see the module docstring)."""
        return await with_timeout(self.name, self.timeout, self._poll(cursor or {}))

    async def _poll(self, cursor: Mapping[str, Any]) -> Poll:
        old = cursor.get("after")
        after: dict[str, int] = {
            str(k): v for k, v in old.items() if isinstance(v, int) and not isinstance(v, bool)
        } if isinstance(old, Mapping) else {}
        posts: dict[str, Post] = {}
        for channel in self.channels:
            messages = await self._channel(channel, after.get(channel))
            for message in messages:
                post = self._post(message)
                if post is not None:
                    posts.setdefault(post.id, post)
            if messages:
                after[channel] = max([m.number for m in messages] + [after.get(channel, 0)])
        ordered = sorted(posts.values(), key=lambda p: (p.created_at, p.id))
        return Poll(posts=ordered, cursor={"after": after})

    async def _channel(self, channel: str, last: int | None) -> list[Message]:
        """The messages of ``channel`` newer than id ``last``, oldest first."""
        url = f"{self.base_url}/s/{quote(channel, safe='')}"
        params: dict[str, str] = {}
        found: dict[int, Message] = {}
        pages = self.max_pages if last is not None else 1
        older = False
        for _ in range(pages):
            _, headers, body = await self.get(url, params=params, hint=_HINTS)
            preview = self._preview(body, headers, url, channel)
            new = [m for m in preview.messages if last is None or m.number > last]
            for message in new:
                found.setdefault(message.number, message)
            older = bool(new) and len(new) == len(preview.messages) \
                and preview.before is not None
            if not older or preview.before is None:
                break
            params = {"before": str(preview.before)}
        if older and last is not None:
            log.warning("source %s: over %d pages of new messages in %s since the last poll; "
                        "the older ones were skipped (poll more often)",
                        self.name, pages, channel)
        return [found[n] for n in sorted(found)]

    def _preview(self, body: bytes, headers: Mapping[str, str], url: str,
                 channel: str) -> Preview:
        charset = "utf-8"
        kind = headers.get("Content-Type", "")
        if "charset=" in kind:
            charset = kind.split("charset=", 1)[1].split(";")[0].strip() or charset
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        preview = parse_preview(text)
        if preview.history or preview.messages:
            return preview
        if preview.no_preview_page:
            raise SourceError(
                f"source {self.name}: t.me shows no public preview of channel {channel} (no "
                "such channel, a private channel or a group); check [[sources]] channels",
                transient=False,
            )
        raise SourceError(f"source {self.name}: {display_url(url)} is not a Telegram channel "
                          "preview (no message history on the page)")

    def _post(self, message: Message) -> Post | None:
        created = parse_iso_time(message.datetime)
        text = message.text
        if message.service or not text or created is None:
            return None
        channel = message.post.rsplit("/", 1)[0]
        metrics: dict[str, int] = {}
        views = parse_count(message.views)
        if views is not None:
            metrics["views"] = views
        extra: dict[str, Any] = {}
        if message.owner.strip():
            extra["channel_title"] = normalize_text(message.owner)
        forwarded = _post_ref(message.forwarded)
        if message.forwarded is not None or message.forwarded_name.strip():
            if forwarded is not None:
                extra["forwarded_from"] = forwarded
            if message.forwarded_name.strip():
                extra["forwarded_from_name"] = normalize_text(message.forwarded_name)
        links = list(dict.fromkeys(u for u in message.links if u.startswith(("http://",
                                                                             "https://"))))
        if links:
            extra["links"] = links
        return Post(
            source=self.name, id=message.post, text=text, created_at=created, author=channel,
            tier=self.tier, url=f"https://t.me/{message.post}", repost_of=forwarded,
            reply_to=_post_ref(message.reply), metrics=metrics, extra=extra,
        )


def channel_name(value: str) -> str:
    """A configured channel as its bare name: ``@name``, ``t.me/name``,
    ``https://t.me/s/name`` all give ``name``; "" when nothing usable is left."""
    text = value.strip()
    if "t.me/" in text:
        text = text.split("t.me/", 1)[1]
    text = text.removeprefix("s/").strip("/@ ").split("/")[0].split("?")[0]
    return text


def valid_channel(value: str) -> bool:
    """Whether ``value`` (as :func:`channel_name` gives it) can be a public channel name."""
    return bool(_NAME.match(value))


def _post_ref(href: str | None) -> str | None:
    """``NAME/ID`` of a ``https://t.me/NAME/ID`` link; None for anything else."""
    if not href:
        return None
    try:
        path = urlsplit(href).path
    except ValueError:
        return None
    match = _POST.match(path.removeprefix("/s/"))
    return f"{match.group(1)}/{match.group(2)}" if match else None
