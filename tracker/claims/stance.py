"""A reply's stance toward what it answers: support, deny, query or comment.

:class:`StanceReader` reads cues first (word lists in :class:`~tracker.claims.lexicon.Lexicon`:
``deny_cues``, ``query_cues``, ``support_cues``: "fake", "not true", "stop spreading";
"is this true?", "source?"; "confirmed", "exactly"), then, when the cues are silent and
the reply's vector is given, the example reader (:mod:`tracker.claims.examples`) over the
lexicon's ``deny_examples``, ``query_examples``, ``support_examples`` and
``comment_examples``; otherwise the reply is a comment. Calibrated on RumourEval 2017's
labelled replies by leave-one-event-out (``bench/stance.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tracker.claims.examples import Encode, ExampleReader
from tracker.claims.extract import _URL, _lower, _WordList
from tracker.claims.lexicon import DEFAULT_LEXICON, Lexicon
from tracker.claims.literals import LiteralScan, Needed
from tracker.models import Stance

__all__ = ["STANCE_THRESHOLD", "StanceReader", "stance_examples"]

STANCE_THRESHOLD = 0.48
"""Cosine to the closest stance example from which the model's label is read, when no cue
speaks. Chosen by leave-one-event-out on RumourEval 2017's seven labelled events
(``bench/stance.py``): every fold, tuned on the six other events, chose 0.48."""

_LEAD = re.compile(r"^(?:[.\s]*@\w+[:,]?\s+)+")
_QUOTE = re.compile(r"^(?:rt\s+@\w+|[\"“]\s*@\w+\s*:|mt\s+@\w+)", re.I)


def stance_examples(lexicon: Lexicon = DEFAULT_LEXICON) -> dict[str, tuple[str, ...]]:
    """The lexicon's stance examples, by stance: ``{"deny": (...), ...}``."""
    return {
        Stance.DENY.value: lexicon.deny_examples,
        Stance.QUERY.value: lexicon.query_examples,
        Stance.SUPPORT.value: lexicon.support_examples,
        Stance.COMMENT.value: lexicon.comment_examples,
    }


class StanceReader:
    """Reads a reply's stance: cues, then (with a vector) the example reader.

    ``model`` is an :class:`ExampleReader` over stance examples (see
    :meth:`with_model`), or None for cues alone. ``question_is_query``: a reply holding a
    question mark and no other cue asks the poster something (query).
    """

    def __init__(
        self,
        lexicon: Lexicon = DEFAULT_LEXICON,
        model: ExampleReader | None = None,
        *,
        question_is_query: bool = True,
    ) -> None:
        lexicon.validate()
        self.lexicon = lexicon
        self.model = model
        self.question_is_query = question_is_query
        self._deny = _WordList(lexicon.deny_cues)
        self._query = _WordList(lexicon.query_cues)
        self._support = _WordList(lexicon.support_cues)
        self._questions = lexicon.question_marks
        # one scan says which cue lists may match at all (tracker.claims.literals)
        needs: list[Needed | None] = []
        for words in (self._deny, self._query, self._support):
            words.bind(needs)
        self._scan = LiteralScan(needs)

    @classmethod
    def with_model(
        cls,
        encode: Encode,
        lexicon: Lexicon = DEFAULT_LEXICON,
        threshold: float = STANCE_THRESHOLD,
        *,
        question_is_query: bool = True,
    ) -> StanceReader:
        """A reader whose model is the lexicon's stance examples, embedded by ``encode``."""
        model = ExampleReader(stance_examples(lexicon), encode, threshold)
        return cls(lexicon, model, question_is_query=question_is_query)

    def cue(self, text: str) -> Stance | None:
        """The stance the cues read in ``text``, None when they are silent. Deny wins over
        query, query over support; a quoted repost ("RT @x", "“@x: ...") supports."""
        body = text
        if "://" in body or ("." in body and "www." in body.lower()):  # what a link holds
            body = _URL.sub(" ", body)
        if "@" in body:  # what a leading addressee holds
            body = _LEAD.sub("", body)
        body = body.strip()
        low = _lower(body)
        hits = self._scan.hits(low)
        if self._deny.search(low, body, hits):
            return Stance.DENY
        if self._query.search(low, body, hits):
            return Stance.QUERY
        if self._support.search(low, body, hits) or _QUOTE.match(body) is not None:
            return Stance.SUPPORT
        if self.question_is_query and any(q in body for q in self._questions):
            return Stance.QUERY
        return None

    def read(self, text: str, vector: np.ndarray | None = None) -> Stance:
        """The stance of a reply: its cues, else the model on ``vector`` (the embedding of
        the reply's text) when both are there, else comment."""
        found = self.cue(text)
        if found is not None:
            return found
        if vector is not None and self.model is not None:
            return _stance(self.model.nearest(vector)[0])
        return Stance.COMMENT

    def read_all(self, replies: Sequence[tuple[str, np.ndarray | None]]) -> list[Stance]:
        """:meth:`read` of each (text, vector) pair, in order: the model reads every
        reply its cues leave silent in one matrix product
        (:meth:`~tracker.claims.examples.ExampleReader.nearest_labels`)."""
        out: list[Stance | None] = [self.cue(text) for text, _ in replies]
        model = self.model
        if model is not None:
            ask = [
                (n, vector) for n, (found, (_, vector)) in enumerate(zip(out, replies, strict=True))
                if found is None and vector is not None
            ]
            if ask:
                labels = model.nearest_labels(np.vstack([vector for _, vector in ask]))
                for (n, _), label in zip(ask, labels, strict=True):
                    out[n] = _stance(label)
        return [Stance.COMMENT if found is None else found for found in out]


def _stance(label: str | None) -> Stance:
    """The stance an example label names; comment for none or an unknown label."""
    if label is None:
        return Stance.COMMENT
    try:
        return Stance(label)
    except ValueError:
        return Stance.COMMENT
