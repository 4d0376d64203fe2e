"""Text normalization: NFC, HTML stripped, entities decoded, whitespace folded."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

__all__ = ["normalize_text", "text_hash"]

_TAG = re.compile(
    r"<(?:script|style)\b[^>]*>.*?</(?:script|style)\s*>|<!--.*?-->|</?[a-z][a-z0-9-]*(?:\s[^<>]*)?/?>",
    re.S | re.I,
)
_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6])\b[^>]*>", re.I)
_SPACE = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def normalize_text(text: str) -> str:
    """Return ``text`` as NFC with HTML tags removed, entities decoded, runs of spaces
    folded to one and line breaks kept as single ``\\n`` (they often end a sentence)."""
    if "<" in text:
        text = _BLOCK.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    # NUL: no meaning in a post, and PostgreSQL text cannot hold it (same on both engines)
    text = text.replace("\r", "\n").replace("\u00a0", " ").replace("\x00", "")
    # a text whose only whitespace is single spaces (all other whitespace is unprintable,
    # checked for every code point) has nothing to fold: skip the substitution
    if "  " in text or not text.isprintable():
        text = _SPACE.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES.sub("\n", text)
    return text.strip()


def text_hash(text: str) -> str:
    """Stable key of a normalized text: hex sha256 of its UTF-8 bytes (first 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
