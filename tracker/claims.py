"""Claim extraction: from a post's normalized text to the sentences worth checking.

This first cut keeps every sentence of at least ``min_words`` words. The seam is
:class:`ClaimExtractor`: the next cut (check-worthiness, kinds, actors, hedges) replaces
:class:`SentenceClaimExtractor` without touching the pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ClaimExtractor", "ExtractedClaim", "SentenceClaimExtractor", "split_sentences"]


@dataclass(frozen=True, slots=True)
class ExtractedClaim:
    """One claim found in a text: the sentence as it will be stored and embedded."""

    text: str


class ClaimExtractor(Protocol):
    """Turns one post's normalized text into its claims, in order."""

    def extract(self, text: str) -> list[ExtractedClaim]: ...


_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_RT_PREFIX = re.compile(r"^RT\s+@\w+:?\s*", re.I)
_LEAD_MENTIONS = re.compile(r"^(?:\.?@\w+[:,]?\s+)+")
_SPACES = re.compile(r"[ \t]+")
# A sentence ends at . ! ? … (with closing quotes or brackets) followed by space and a
# character that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[#@]?[A-Z0-9À-ÖØ-Þ\u0600-\u06ff])")
_ABBREV = frozenset(
    "mr mrs ms dr prof st sr jr gen col lt sgt capt maj gov sen rep rev no vs etc inc ltd "
    "co corp dept est approx jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n "
    "e.g i.e a.m p.m".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.U)


def _is_abbreviation(before: str) -> bool:
    token = before.rsplit(None, 1)[-1] if before.strip() else ""
    token = token.rstrip(".").lstrip("(\"'").lower()
    return token in _ABBREV or (len(token) == 1 and token.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split normalized text into sentences: at line breaks, and after . ! ? … when the
    next word can start a sentence and the word before is not a known abbreviation."""
    sentences: list[str] = []
    for line in text.split("\n"):
        start = 0
        for match in _BOUNDARY.finditer(line):
            piece = line[start : match.start()]
            if _is_abbreviation(piece):
                continue
            sentences.append(piece)
            start = match.end()
        sentences.append(line[start:])
    return [s.strip() for s in sentences if s.strip()]


def clean_sentence(sentence: str) -> str:
    """Drop what carries no claim: links, a retweet prefix, leading @-addressees."""
    sentence = _URL.sub("", sentence)
    sentence = _RT_PREFIX.sub("", sentence)
    sentence = _LEAD_MENTIONS.sub("", sentence)
    return _SPACES.sub(" ", sentence).strip(" -|:")


def word_count(sentence: str) -> int:
    """Words in a sentence, not counting @mentions."""
    return sum(1 for w in _WORD.finditer(sentence) if sentence[w.start() - 1 : w.start()] != "@")


class SentenceClaimExtractor:
    """Every sentence with at least ``min_words`` words is a claim."""

    def __init__(self, min_words: int = 3) -> None:
        self.min_words = min_words

    def extract(self, text: str) -> list[ExtractedClaim]:
        out: list[ExtractedClaim] = []
        for raw in split_sentences(text):
            sentence = clean_sentence(raw)
            if sentence and word_count(sentence) >= self.min_words:
                out.append(ExtractedClaim(sentence))
        return out
