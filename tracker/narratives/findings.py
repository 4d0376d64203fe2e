"""Findings and narrative status: what authorities established, and where each narrative
stands against it.

Status rules (DESIGN.md): ``report`` for a plain event report (a narrative that names no
one responsible and whose claims are mostly said unhedged by officials or trusted
newsrooms) that no finding decides;
``speculative`` when first seen before any finding of its kind (its question);
``unconfirmed`` when findings of its kind exist but none decides it; ``confirmed`` when a
finding agrees; ``contradicted`` when a finding disagrees or rules it out. For
attributions, agreement is about actors: a finding confirming exactly (or a superset of)
the narrative's actors confirms it, one naming only other actors or ruling these out
contradicts it. For other kinds, a finding decides a narrative whose centroid is close to
the finding's text, and a difference in the numbers they state is a contradiction. Later
findings override earlier ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from tracker.claims.values import Value, values_by_question
from tracker.models import Claim, ClaimKind, Finding, FindingStatus, Status

__all__ = ["NarrativeView", "automatic_finding", "is_plain_report", "status_of"]

_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
}


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a text states, digits or small number words."""
    found = {m.group().replace(",", "") for m in _NUMBER.finditer(text)}
    found |= {_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _WORDS}
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class NarrativeView:
    """What status needs of a narrative: (dim,) normalized centroid and label text."""

    kind: ClaimKind
    actors: frozenset[str]
    negated: bool
    first_seen: datetime
    centroid: np.ndarray
    label: str
    unsure_share: float = 0.0  # share of its claims hedged or said by untrusted accounts
    values: tuple[dict[str, Any], ...] = ()  # what its label claim answers (tracker.claims.values)

    @property
    def is_report(self) -> bool:
        return is_plain_report(self.kind, self.negated, self.actors, self.unsure_share)


def is_plain_report(
    kind: ClaimKind, negated: bool, actors: Collection[str], unsure_share: float
) -> bool:
    """A plain event report, mostly said unhedged by officials or trusted newsrooms
    (``unsure_share``: the share of its claims hedged or said by untrusted accounts below
    a half): on no open question (not an attribution), or saying no one has claimed it."""
    plain = kind is not ClaimKind.ATTRIBUTION or (negated and not actors)
    return plain and unsure_share < 0.5


def _attribution_verdict(n: NarrativeView, f: Finding) -> Status | None:
    named = frozenset(f.actors)
    if f.status is FindingStatus.CONFIRMED:
        if not named:
            return None
        if n.negated:
            return Status.CONTRADICTED if (not n.actors or n.actors & named) else None
        if n.actors and n.actors <= named:
            return Status.CONFIRMED
        if n.actors and not n.actors & named:
            return Status.CONTRADICTED
        return None
    if f.status is FindingStatus.RULED_OUT:
        hit = n.actors & named if named else n.actors
        if not hit:
            return None
        return Status.CONFIRMED if n.negated else Status.CONTRADICTED
    # pending: "no group has claimed responsibility" agrees with narratives saying so
    if n.negated and not n.actors and not named:
        return Status.CONFIRMED
    return None


def _content_verdict(
    n: NarrativeView, f: Finding, vector: np.ndarray | None, similarity: float
) -> Status | None:
    if f.status is FindingStatus.PENDING or vector is None:
        return None
    if float(n.centroid @ vector) < similarity:
        return None
    agrees = f.status is FindingStatus.CONFIRMED
    ours, theirs = numbers_in(n.label), numbers_in(f.text)
    if ours and theirs and not ours & theirs:
        agrees = not agrees
    return Status.CONFIRMED if agrees else Status.CONTRADICTED


def _value_verdict(ours: dict[str, Value], finding: Finding) -> Status | None:
    """A finding answering a question the narrative answers decides it by the values: the
    same answer confirms it, another contradicts it ("a single gunman" against "three
    separate shootings")."""
    theirs = values_by_question(finding.values)
    shared = sorted(set(ours) & set(theirs))
    if not shared or finding.status is FindingStatus.PENDING:
        return None
    agrees = all(ours[q].agrees(theirs[q]) for q in shared)
    if finding.status is FindingStatus.RULED_OUT:
        agrees = not agrees
    return Status.CONFIRMED if agrees else Status.CONTRADICTED


def status_of(
    narrative: NarrativeView,
    findings: Sequence[tuple[Finding, np.ndarray | None]],
    similarity: float,
) -> Status:
    """The status of one narrative given the incident's findings (time order), each with
    the (dim,) vector of its text (None when unknown). A finding giving a value to a
    question the narrative answers decides it by the values, whatever its kind."""
    ours = values_by_question(narrative.values)
    relevant = [
        (f, v) for f, v in findings
        if f.kind is narrative.kind or (ours and set(ours) & set(values_by_question(f.values)))
    ]
    if not relevant:
        return Status.REPORT if narrative.is_report else Status.SPECULATIVE
    verdict: Status | None = None
    for finding, vector in relevant:
        said = _value_verdict(ours, finding) if ours else None
        if said is not None:
            pass
        elif finding.kind is not narrative.kind:
            continue
        elif narrative.kind is ClaimKind.ATTRIBUTION:
            said = _attribution_verdict(narrative, finding)
        else:
            said = _content_verdict(narrative, finding, vector, similarity)
        if said is not None:
            verdict = said
    if verdict is not None:
        return verdict
    if narrative.is_report:
        return Status.REPORT
    first = min(f.at for f, _ in relevant)
    return Status.SPECULATIVE if narrative.first_seen < first else Status.UNCONFIRMED


def automatic_finding(
    claim: Claim, official: bool = False
) -> tuple[tuple[str, ...], FindingStatus] | None:
    """The finding a verified-reporting claim records, if any (an official's own post, or
    a trusted newsroom stating it on an official's word): an unhedged attribution naming
    actors confirms them; an unhedged denial naming actors rules them out; an unhedged
    "no group has claimed" is pending. An unhedged claim giving values to questions
    ("police confirm a single gunman", "the death toll is 150") confirms those values only
    in an ``official``'s own post: newsrooms quoting the police on different figures is
    exactly what conflicting reports are (:mod:`tracker.rules.conflicts`), not a settlement."""
    if claim.hedge > 0:
        return None
    if claim.kind is not ClaimKind.ATTRIBUTION:
        return ((), FindingStatus.CONFIRMED) if claim.values and official else None
    actors = tuple(sorted({*claim.actors, *claim.candidate_actors}))
    if claim.negated:
        return actors, FindingStatus.RULED_OUT if actors else FindingStatus.PENDING
    if actors:
        return actors, FindingStatus.CONFIRMED
    return None
