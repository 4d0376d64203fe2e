"""Conflicting reports: trusted sources giving answers to one question of an incident that
cannot both be true.

Most false rumours in breaking news are not speculation by strangers but trusted sources
saying different things at once: newsrooms quoting 142, 148 and 150 people on board, or
"three separate shootings" against "a lone gunman". Each is verified reporting by the
speculation rule's measure, so that rule rightly stays quiet; a verification desk still
needs to hear "trusted sources disagree on how many people were on board: don't report
either figure as fact yet".

What is compared (:func:`find_conflicts`): the claims posted in a window that give a value
to a question (:mod:`tracker.claims.values`: how many died, were injured or were on board, how
many attackers, where the suspect is), and unnegated attributions naming who did it (the
``identity`` question: answers disagree when they name no actor in common). Posts are
grouped by the answer they give; a **side** is an answer that official or trusted
newsroom accounts (tier ``official`` or ``verified``) give in at least ``min_posts`` posts
from at least ``min_authors`` of them, hedged or not (a newsroom saying "148 feared dead"
is saying 148). A conflict is at least ``min_sides`` sides each disagreeing with another.
A side's posts and rate count every post carrying its answer (relays by anyone too):
that is how far each version reaches. A finding giving a value to the question (or, for
``identity``, confirming actors) settles it (:func:`settling_finding`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.claims.values import QUESTION_KINDS, QUESTIONS, Value, values_by_question
from tracker.models import (
    ClaimKind,
    Conflict,
    ConflictSide,
    Finding,
    FindingStatus,
    Tier,
)
from tracker.store import ValuePost

__all__ = [
    "IDENTITY",
    "PLACES",
    "conflict_kind",
    "conflict_label",
    "conflict_reason",
    "find_conflicts",
    "question_text",
    "settling_finding",
]

IDENTITY = "identity"
"""The question of who did it: answered by attributions naming actors."""

PLACES = "places"
"""The question of where the attacks took place: each named site is an answer."""

_TRUSTED = (Tier.OFFICIAL, Tier.VERIFIED)


def question_text(question: str) -> str:
    """How an analyst reads a question id ("how many people were on board")."""
    if question == IDENTITY:
        return "who did it"
    return QUESTIONS.get(question, question)


def conflict_kind(question: str) -> ClaimKind:
    """The claim kind a question belongs to (the alert's ``kind``)."""
    if question == IDENTITY:
        return ClaimKind.ATTRIBUTION
    return QUESTION_KINDS.get(question, ClaimKind.OTHER)


@dataclass(frozen=True, slots=True)
class _Answer:
    """One answer to a question: a value, or (identity) the actors named."""

    label: str
    value: Value | None
    actors: frozenset[str]

    def agrees(self, other: _Answer) -> bool:
        if self.value is not None and other.value is not None:
            return self.value.agrees(other.value)
        return bool(self.actors & other.actors)


def _answers(post: ValuePost) -> dict[str, list[_Answer]]:
    """Question -> the answers one claim gives (its first value per question; a set of
    sites is one answer per site, so a post naming two sites backs both)."""
    out: dict[str, list[_Answer]] = {}
    for value in values_by_question(post.values).values():
        if value.question == PLACES and value.state:
            out[PLACES] = [
                _Answer(site, Value(PLACES, state=site), frozenset())
                for site in value.state.split(" | ")
            ]
        else:
            out[value.question] = [_Answer(value.label, value, frozenset())]
    if post.actors:
        out[IDENTITY] = [_Answer(", ".join(post.actors), None, frozenset(post.actors))]
    return out


@dataclass(slots=True)
class _Side:
    answer: _Answer
    posts: list[ValuePost]

    def trusted(self) -> list[ValuePost]:
        return [p for p in self.posts if p.tier in _TRUSTED]


def find_conflicts(
    posts: Sequence[ValuePost], window_minutes: float, *, min_posts: int, min_authors: int,
    min_sides: int,
) -> dict[str, Conflict]:
    """The conflicts among one incident's value posts of one window, by question. Sides
    come most posts first (then earliest); a post counts once per question."""
    by_question: dict[str, dict[str, _Side]] = {}
    seen: set[tuple[str, str, str]] = set()
    for post in posts:
        for question, answers in _answers(post).items():
            key = (question, post.source, post.ext_id)
            if key in seen:
                continue
            seen.add(key)
            sides = by_question.setdefault(question, {})
            for answer in answers:
                side = sides.get(answer.label)
                if side is None:
                    sides[answer.label] = side = _Side(answer, [])
                side.posts.append(post)
    out: dict[str, Conflict] = {}
    for question, sides in by_question.items():
        _fold_ranges(sides)
        backed = [
            s for s in sides.values()
            if len(s.trusted()) >= min_posts
            and len({p.author for p in s.trusted()}) >= min_authors
        ]
        disputed = [s for s in backed if any(_against(s, o) for o in backed if o is not s)]
        if len(disputed) < max(2, min_sides):
            continue
        disputed.sort(key=lambda s: (-len(s.posts), s.posts[0].at, s.answer.label))
        out[question] = Conflict(
            question=question, asks=question_text(question),
            sides=tuple(_side(s, window_minutes) for s in disputed),
        )
    return out


def _against(a: _Side, b: _Side) -> bool:
    """Two answers in conflict: they cannot both be true, and no post gives both (one
    report naming two sites says both, it does not contradict itself)."""
    if a.answer.agrees(b.answer):
        return False
    mine = {(p.source, p.ext_id) for p in a.posts}
    return not any((p.source, p.ext_id) in mine for p in b.posts)


def _fold_ranges(sides: dict[str, _Side]) -> None:
    """A range that agrees with exactly one exact answer backs it ("at least 148" backs
    "148" against "142"); one that agrees with several ("up to 150") takes no side and
    stays on its own."""
    exact = [s for s in sides.values() if s.answer.value is None or s.answer.value.exact]
    for label in [k for k, s in sides.items() if s not in exact]:
        side = sides[label]
        agreeing = [e for e in exact if e.answer.agrees(side.answer)]
        if len(agreeing) == 1:
            agreeing[0].posts.extend(side.posts)
            agreeing[0].posts.sort(key=lambda p: (p.at, p.claim_id))
            del sides[label]


def _side(side: _Side, window_minutes: float) -> ConflictSide:
    trusted = side.trusted()
    sources = tuple(dict.fromkeys(p.author or "?" for p in trusted))
    narratives: dict[int, int] = {}
    for p in side.posts:
        narratives[p.narrative_id] = narratives.get(p.narrative_id, 0) + 1
    return ConflictSide(
        value=side.answer.label, sources=sources, posts=len(side.posts),
        trusted_posts=len(trusted), first_post=min(p.at for p in side.posts),
        latest_post=max(p.at for p in side.posts),
        spread_rate=len(side.posts) / window_minutes,
        narratives=tuple(sorted(narratives, key=lambda n: (-narratives[n], n))),
        post_refs=tuple(dict.fromkeys((p.source, p.ext_id) for p in side.posts)),
    )


def settling_finding(
    question: str, findings: Sequence[Finding], at: datetime
) -> Finding | None:
    """The latest finding up to ``at`` that answers ``question``: one giving it a value,
    or, for ``identity``, one confirming named actors."""
    chosen: Finding | None = None
    for finding in findings:
        if finding.at > at:
            continue
        if question == IDENTITY:
            if finding.status is FindingStatus.CONFIRMED and finding.actors:
                chosen = finding
        elif any(v.get("question") == question for v in finding.values):
            chosen = finding
    return chosen


def conflict_label(conflict: Conflict) -> str:
    """The alert's label: "Trusted sources disagree on how many people were on board:
    148 / 142"."""
    return f"Trusted sources disagree on {conflict.asks}: {' / '.join(conflict.values)}"


def conflict_reason(conflict: Conflict, window_minutes: float) -> str:
    """Why a conflict rule holds, in one sentence with each side's figures."""
    parts = []
    for side in conflict.sides:
        shown = ", ".join(side.sources[:3]) + (
            f" and {len(side.sources) - 3} more" if len(side.sources) > 3 else ""
        )
        parts.append(
            f"{side.value} ({shown}; {side.posts} post{'s' * (side.posts != 1)}, "
            f"first {side.first_post:%H:%M}, latest {side.latest_post:%H:%M} UTC)"
        )
    return (
        f"trusted sources disagree on {conflict.asks} within {window_minutes:g} minutes: "
        f"{'; '.join(parts)}; do not report any of these as fact until an authority "
        "settles it"
    )
