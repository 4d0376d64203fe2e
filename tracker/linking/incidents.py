"""Incidents and which posts belong to them.

A post belongs to an incident when it falls inside the incident's window and either
matches one of its terms or one of its claims is close in meaning to the incident's
description. Terms match case-insensitively on word boundaries; a hashtag matches its
word (``#Nushki``), and the words of a term may be written together, apart or hyphenated
(``Data Khel`` matches ``Datakhel``, ``data-khel`` and ``#DataKhel``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from tracker.config.settings import IncidentSettings
from tracker.errors import ConfigError, InputError
from tracker.ingest.records import parse_time
from tracker.models import Incident

__all__ = ["EVERY_POST", "IncidentLinker", "incident_from_settings", "split_tags", "term_pattern"]


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_HASHTAG = re.compile(r"#\w+")


def split_tags(text: str) -> str:
    """Hashtags with their camel-case words apart: ``#NushkiBlast`` -> ``#Nushki Blast``."""
    return _HASHTAG.sub(lambda m: _CAMEL.sub(" ", m.group()), text)


EVERY_POST = "*"  # the term that matches every post in the incident's window


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``terms`` (see module doc); None when there are none.
    The term ``*`` matches every post (an incident whose posts were collected for it,
    as in an evaluation data set)."""
    parts = []
    for term in terms:
        if term.strip() == EVERY_POST:
            return re.compile(r"(?s:.)?")
        words = re.findall(r"[^\W_]+", term.lstrip("#"))
        if words:
            parts.append(r"[\s\-_]*".join(re.escape(w) for w in words))
    if not parts:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(parts) + r")(?![^\W_])", re.I)


def incident_from_settings(item: IncidentSettings) -> Incident:
    try:
        started = parse_time(item.started_at, "started_at")
    except InputError as exc:
        raise ConfigError(f"[[incidents]] {item.id}: {exc}") from None
    return Incident(
        id=item.id, title=item.title, started_at=started, description=item.description,
        terms=tuple(item.terms), location=item.location or None,
        window_hours=item.window_hours, origin="config",
    )


class IncidentLinker:
    """Decides which incidents a post belongs to.

    ``vectors`` maps incident id to the (dim,) normalized embedding of its title and
    description; ``min_similarity`` is the cosine a claim needs to link by meaning.
    """

    def __init__(
        self,
        incidents: Sequence[Incident],
        vectors: dict[str, np.ndarray],
        min_similarity: float,
    ) -> None:
        self.incidents = list(incidents)
        self._patterns = {i.id: term_pattern(i.terms) for i in self.incidents}
        self._by_id = {i.id: i for i in self.incidents}
        self._vectors = vectors
        self.min_similarity = min_similarity

    def incident(self, incident_id: str) -> Incident | None:
        """One of this linker's incidents, by id."""
        return self._by_id.get(incident_id)

    def link(
        self, text: str, created_at: datetime, claim_vectors: np.ndarray | None
    ) -> list[tuple[str, str]]:
        """(incident id, how) for each incident the post belongs to; how is ``term`` or
        ``meaning``. ``claim_vectors`` is (n, dim), the post's claims, or None."""
        out: list[tuple[str, str]] = []
        for incident in self.incidents:
            if not incident.covers(created_at):
                continue
            pattern = self._patterns[incident.id]
            if pattern is not None and (
                pattern.search(text) or ("#" in text and pattern.search(split_tags(text)))
            ):  # (with no hashtag, split_tags changes nothing: no second search)
                out.append((incident.id, "term"))
                continue
            vector = self._vectors.get(incident.id)
            if vector is None or claim_vectors is None or len(claim_vectors) == 0:
                continue
            if float(np.max(claim_vectors @ vector)) >= self.min_similarity:
                out.append((incident.id, "meaning"))
        return out
