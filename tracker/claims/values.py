"""The value one claim sentence gives to a question: how many died, how many were aboard,
how many attackers there were, where the suspect is, where the attacks took place.

Trusted newsrooms disagree ("142 on board" against "148 on board", "a lone gunman"
against "at least three separate shootings"); to see that, each claim's answer to the same
question is read as a :class:`Value` and two values are compared with
:meth:`Value.agrees`. What is read (word lists are the ``value_*`` fields of
:class:`~tracker.claims.lexicon.Lexicon`, so ``[claims.lexicon]`` can change them):

- *Numbers*: digits ("148", "1,200", "148passengers"), number words ("two", "a dozen"),
  ranges ("142-150", "142 to 150", "between 142 and 150" -> [142, 150]) and qualifiers:
  "at least N" -> [N, inf], "more than N" / "over N" -> [N+1, inf], "up to N" / "as many as
  N" -> [0, N], "nearly N" / "almost N" -> [0.9 N, N], "about N" / "around N" -> [0.9 N,
  1.1 N] (rounded to whole people: a round figure is not taken as a precise one).
- *A number counts only when tied to a cue of its question*: the nearest number before
  or after the cue with nothing but filler words between ("148 people feared dead",
  "killing 150", "death toll rises to 150"; "two babies and 16 children among 150 dead"
  -> 150). The nearer side wins; on a tie the number before the cue.
- *Not counts*: years (a plain 1800-2100 with no people noun after it), times ("09:40",
  "9.39 UTC"), flight and aircraft numbers ("4U9525", "A320", "flight 9525"), numbers with
  a unit ("38,000 feet", "30%", "$5", "16 hours", "24 March", "24th"), and whatever stands
  in URLs, @handles and #hashtags (removed before reading).
- *Aboard and passengers*: "148 people on board", "with 148 on board", "carrying 148
  people" -> aboard. "142 passengers on board" -> passengers only (passengers exclude
  crew). A list of passengers and crew adds up: "142 passengers and 6 crew" -> aboard 148
  and passengers 142; "142 passengers, two pilots and four flight attendants" -> aboard
  148; "148 passengers + crew" -> aboard 148. An explicit total wins over the sum.
- *No survivors* with a number aboard: dead is that number ("no survivors among the 150
  people aboard" -> dead 150, aboard 150); with passengers only: at least that many died.
- *Attackers*: a number before an attacker noun ("two gunmen" -> [2, 2], "more than one
  shooter" -> [2, inf]); one-attacker phrases ("lone gunman", "acted alone") -> [1, 1];
  several-attacker phrases ("a second gunman", "multiple gunmen", "separate shootings",
  "shots fired at three sites", "coordinated attacks") -> [2, inf]. A negation up to two
  words before turns a phrase over: "not a lone wolf" -> [2, inf], "no second gunman" ->
  [1, 1]. When several readings appear the last in the sentence is kept (later news in a
  headline usually corrects earlier).
- *Suspect*: "at large" ("still at large", "on the run", "manhunt"), "arrested"
  ("suspect arrested", "taken into custody", "man detained"), "dead" ("gunman shot dead",
  "attacker killed by police"). Negated phrases ("wasn't arrested") are skipped; of
  several, the last in the sentence is kept.
- *Places*: the named sites an attack is placed at, as a set ("shots fired at the Rideau
  Centre", "a shooting at Parliament Hill and the War Memorial"); only site-level
  prepositions (at, near, outside, inside, on: "in Ottawa" is the city every report
  shares), never in an all-capitals headline. Two sets agree when they share a site;
  disjoint sets disagree. Several real sites of one coordinated attack also disagree
  this way: an analyst reads such a conflict as "which sites are confirmed?".

Reading is cheap: a sentence holding none of the ``value_triggers`` (plain pieces of the
cue words) is answered by substring tests, a few microseconds; in one that holds some, a
cue pattern runs only when the text holds a string every match of it needs (one
:class:`~tracker.claims.literals.LiteralScan` for all of them).
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.claims.lexicon import Lexicon
from tracker.claims.literals import ALL, LiteralScan, finder, fold, needed
from tracker.errors import ConfigError
from tracker.models import ClaimKind, Value

__all__ = ["QUESTIONS", "QUESTION_KINDS", "Value", "ValueReader", "values_by_question"]

QUESTIONS: dict[str, str] = {
    "dead": "how many died",
    "injured": "how many were injured",
    "aboard": "how many people were on board",
    "passengers": "how many passengers were on board",
    "attackers": "how many attackers there were",
    "suspect": "where the suspect is",
    "places": "where the attacks took place",
}
"""Question id -> how an analyst reads it, in the order values are reported."""

QUESTION_KINDS: dict[str, ClaimKind] = {
    "dead": ClaimKind.CASUALTY,
    "injured": ClaimKind.CASUALTY,
    "aboard": ClaimKind.CASUALTY,
    "passengers": ClaimKind.CASUALTY,
    "attackers": ClaimKind.METHOD,
    "suspect": ClaimKind.OTHER,
    "places": ClaimKind.OTHER,
}
"""Question id -> the kind of claim that answers it."""

SUSPECT_STATES = ("at large", "arrested", "dead")

_MAX_GAP = 5  # filler words allowed between a number and its cue
_STRIP = re.compile(r"https?://\S+|www\.\S+|[@#][\w]+")


def _stripped(text: str) -> str:
    """``text`` without links, @handles and #hashtags (each a space); the pattern runs
    only where the text holds what one of them holds."""
    if "@" in text or "#" in text or "://" in text or "www." in text:
        return _STRIP.sub(" ", text)
    return text


_BREAK = re.compile(r"[.;:!?|()\[\]\"“”]|\s[-–—]\s")


@dataclass(frozen=True, slots=True)
class _Qty:
    """A number read from the sentence: its span and interval; ``passengers`` when it is
    a passengers-and-crew list (the passengers' part)."""

    start: int
    end: int
    low: float
    high: float
    composite: bool = False
    passengers: tuple[float, float] | None = None


class _Numbers:
    """A sentence's numbers, read when first asked for: most sentences that hold a
    number hold no cue it could answer. ``composites`` (passengers-and-crew lists) are
    read at once; ``plain`` numbers and ``everything`` (both, by start) on demand; none
    at all unless ``counted``."""

    __slots__ = ("_everything", "_plain", "_reader", "_text", "composites")

    def __init__(self, reader: ValueReader, text: str, hits: int, counted: bool) -> None:
        self._reader = reader
        self._text = text
        self.composites: list[_Qty] = reader._composites(text, hits) if counted else []
        self._plain: list[_Qty] | None = None if counted else []
        self._everything: list[_Qty] | None = None

    def plain(self) -> list[_Qty]:
        if self._plain is None:
            self._plain = self._reader._plain(self._text, self.composites)
        return self._plain

    def everything(self) -> list[_Qty]:
        if self._everything is None:
            self._everything = sorted(self.plain() + self.composites, key=lambda q: q.start)
        return self._everything


def _alt(fragments: Iterable[str]) -> str:
    ordered = sorted(dict.fromkeys(fragments), key=len, reverse=True)
    return "(?:" + "|".join(ordered) + ")" if ordered else "(?!)"


def _edged(fragments: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + _alt(fragments) + r"(?!\w)", re.I)


def values_by_question(data: Iterable[Mapping[str, Any]]) -> dict[str, Value]:
    """Stored value data (:meth:`Value.as_dict`) back as values, the first per question;
    an entry this reader cannot read (written by a newer one) is skipped."""
    out: dict[str, Value] = {}
    for item in data:
        try:
            value = Value.from_dict(item)
        except (KeyError, TypeError, ValueError):
            continue
        out.setdefault(value.question, value)
    return out


_DIGIT = re.compile(r"\d")
# capitalized words that open a sentence or a headline, not a place's name
_PLACE_STOP = frozenset({"the", "breaking", "update", "police", "a", "an", "this", "least"})


class ValueReader:
    """Reads :class:`Value` s from claim sentences with one lexicon's ``value_*`` lists
    (compiled once, here; a bad list raises :class:`ConfigError` naming the field).
    ``prefilter=False`` runs every cue pattern, with the same readings (the baseline of
    bench/claims.py)."""

    def __init__(self, lexicon: Lexicon, *, prefilter: bool = True) -> None:
        self._words: dict[str, float] = {}
        word_patterns: list[str] = []
        for entry in lexicon.value_number_words:
            pattern, sep, number = entry.rpartition("=")
            try:
                value = float(number)
            except ValueError:
                value = -1.0
            if not sep or not pattern or value < 0:
                raise ConfigError(
                    f"claims.lexicon.value_number_words: {entry!r} should read PATTERN=NUMBER,"
                    " e.g. \"two=2\""
                )
            word_patterns.append(pattern)
        self._word_list = [
            (re.compile(p.rpartition("=")[0] + r"\Z", re.I), float(p.rpartition("=")[2]))
            for p in lexicon.value_number_words
        ]
        digits = (
            r"(?<![\w#@$£€'’/])(?<!\d[.,:])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
            r"(?!\d|[.,:]\d)(?![^\W\d_]*\d)"
        )
        num = rf"(?:{digits}|(?<!\w){_alt(word_patterns)}(?!\w))"
        # a sentence with no digit and no number word has no quantity to read
        self._number_word = re.compile(rf"(?<!\w){_alt(word_patterns)}(?!\w)", re.I)
        qual = (
            f"(?:(?P<least>{_alt(lexicon.value_at_least)})|(?P<more>{_alt(lexicon.value_more_than)})"
            f"|(?P<upto>{_alt(lexicon.value_up_to)})|(?P<nearly>{_alt(lexicon.value_nearly)})"
            f"|(?P<about>{_alt(lexicon.value_about)}))"
        )
        qty = (
            rf"(?:(?<!\w){qual}\s+)?(?:(?<!\w)(?P<bw>between)\s+)?(?P<a>{num})"
            rf"(?:(?(bw)\s+and\s+|(?:\s*[-–]\s*|\s+to\s+))(?P<b>{num}))?"
        )
        anyqual = _alt(
            (*lexicon.value_at_least, *lexicon.value_more_than, *lexicon.value_up_to,
             *lexicon.value_nearly, *lexicon.value_about)
        )
        bare = (  # the same numbers, without named groups, to repeat in one pattern
            rf"(?:(?<!\w){anyqual}\s+)?(?:(?<!\w)between\s+{num}\s+and\s+{num}"
            rf"|{num}(?:(?:\s*[-–]\s*|\s+to\s+){num})?)"
        )
        self._qty = re.compile(qty, re.I)
        self._unit = re.compile(r"\s*-?\s*" + _alt(lexicon.value_units) + r"(?!\w)", re.I)
        self._not_after = re.compile(r"(?<!\w)" + _alt(lexicon.value_not_after) + r"\s*\Z", re.I)
        people = _alt(lexicon.value_people_nouns)
        pax = _alt(lexicon.value_passenger_nouns)
        crew = _alt(lexicon.value_crew_nouns)
        self._people_after = re.compile(rf"\s*(?:{people}|{pax}|{crew})(?!\w)", re.I)
        self._pax_after = re.compile(rf"\s*(?:{pax}|{crew})(?!\w)", re.I)
        # A passengers-and-crew list: "142 passengers, two pilots and four flight attendants".
        sep = r"\s*(?:,|&|\+|and|plus|[-–]|including|incl\.?|with)\s*"
        part = rf"(?:{bare}\s*(?:{pax}|{crew})(?!\w)|{crew}\s+of\s+{bare})"
        self._part = re.compile(
            rf"(?P<q>{bare})\s*(?P<noun>{pax}|{crew})(?!\w)|{crew}\s+of\s+(?P<q2>{bare})", re.I
        )
        self._composite = re.compile(
            rf"{bare}\s*{pax}(?!\w)(?:(?:{sep}{part})+|{sep}{crew}(?!\w))"
            rf"|{part}(?:{sep}{part})+",
            re.I,
        )
        self._pax_noun = re.compile(pax + r"\Z", re.I)
        name = r"(?-i:[A-Z][\w'’.-]*(?:\s+(?:of\s+|de\s+|la\s+)?[A-Z][\w'’.-]*){0,3})"
        self._place = re.compile(
            rf"(?<!\w)(?:{_alt(lexicon.value_place_events)})(?:\s+[\w'’-]+){{0,3}}?\s+"
            rf"(?:{_alt(lexicon.value_place_prepositions)})\s+(?:the\s+)?(?P<p1>{name})"
            rf"(?:\s+(?:and|&)\s+(?:(?:at|near|outside|inside|on)\s+)?(?:the\s+)?(?P<p2>{name}))?",
            re.I,
        )
        # the composite pattern is costly: tried only where a passenger or crew noun is
        self._pax_or_crew = re.compile(rf"(?<!\w)(?:{pax}|{crew})(?!\w)", re.I)
        # a list holds a passenger noun, or two crew nouns (two parts): where neither
        # is found anywhere, the composite pattern cannot match and is not run
        self._any_pax = re.compile(pax, re.I)
        self._crew_at = re.compile(rf"(?=(?:{crew}))", re.I)
        self._gap = re.compile(
            r"\s*(?:" + _alt(lexicon.value_fillers) + rf"(?!\w)\s*){{0,{_MAX_GAP}}}", re.I
        )
        self._dead = _edged(lexicon.value_dead_cues)
        self._injured = _edged(lexicon.value_injured_cues)
        self._aboard = _edged(lexicon.value_aboard_cues)
        # "148passengers": a digit may stand right before the noun.
        self._pax = re.compile(rf"(?<![^\W\d_]){pax}(?!\w)", re.I)
        self._attacker_nouns = _edged(lexicon.value_attacker_nouns)
        self._no_survivors = _edged(lexicon.value_no_survivors)
        self._one = _edged(lexicon.value_one_attacker)
        self._several = _edged(lexicon.value_several_attackers)
        self._negated = re.compile(
            r"(?<!\w)" + _alt(lexicon.value_negations) + r"(?:\s+[\w'-]+){0,2}\s*\Z", re.I
        )
        self._negation = _edged(lexicon.value_negations)
        self._states = (
            ("at large", _edged(lexicon.value_at_large)),
            ("arrested", _edged(lexicon.value_arrested)),
            ("dead", _edged(lexicon.value_suspect_dead)),
        )
        self._triggers = tuple(t.lower() for t in lexicon.value_triggers)
        # whether the lower-cased sentence holds a trigger, in one search for them all
        self._triggered = finder(self._triggers)
        # which cue patterns may match at all, from one scan (tracker.claims.literals)
        scanned = (
            self._number_word, self._pax_or_crew, self._dead, self._injured, self._aboard,
            self._pax, self._no_survivors, self._attacker_nouns, self._one, self._several,
            *(pattern for _, pattern in self._states),
        )
        self._scan = LiteralScan([needed(p) for p in scanned]) if prefilter else None
        # places are read on the sentence as written: their own check of needed strings
        self._place_needs = needed(self._place) if prefilter else None
        self._bit = {id(p): 1 << i for i, p in enumerate(scanned)}
        # the cues a number read from the text can answer: with none of them, no number
        # is read (one where the scan rules every one out)
        self._counted = 0
        for cue in (
            self._pax_or_crew, self._dead, self._injured, self._aboard, self._pax,
            self._attacker_nouns,
        ):
            self._counted |= self._bit[id(cue)]

    def _may(self, pattern: re.Pattern[str], hits: int) -> bool:
        """Whether ``pattern`` (one of the scanned) may match, by the scan's ``hits``."""
        return hits & self._bit[id(pattern)] != 0

    # -- numbers -------------------------------------------------------------------------

    def _number(self, token: str) -> float:
        token = token.strip()
        if token[:1].isdigit():
            return float(token.replace(",", ""))
        for pattern, value in self._word_list:
            if pattern.match(token):
                return value
        return math.nan

    def _interval(self, m: re.Match[str]) -> tuple[float, float]:
        a = self._number(m.group("a"))
        b = self._number(m.group("b")) if m.group("b") else None
        if b is not None:
            return (min(a, b), max(a, b))
        if m.group("least"):
            return (a, math.inf)
        if m.group("more"):
            return (a + 1 if a.is_integer() else a, math.inf)
        if m.group("upto"):
            return (0.0, a)
        if m.group("nearly"):
            return (float(round(a * 0.9)), a)
        if m.group("about"):
            return (float(round(a * 0.9)), float(round(a * 1.1)))
        return (a, a)

    def _is_count(self, text: str, m: re.Match[str]) -> bool:
        """Whether the number at ``m`` may count people: no unit after it, no flight or
        month before it, no bare year."""
        end = m.end()
        if self._unit.match(text, end):
            return False
        if self._not_after.search(text, max(0, m.start() - 24), m.start()):
            return False
        token = m.group("a")
        year = len(token) == 4 and token.isdigit() and 1800 <= int(token) <= 2100
        return not (year and not m.group("b") and not self._people_after.match(text, end))

    def _quantities(self, text: str, hits: int = ALL) -> tuple[list[_Qty], list[_Qty]]:
        """Plain numbers and passengers-and-crew lists, each in sentence order."""
        composites = self._composites(text, hits)
        return self._plain(text, composites), composites

    def _composites(self, text: str, hits: int = ALL) -> list[_Qty]:
        """Passengers-and-crew lists, in sentence order."""
        composites: list[_Qty] = []
        lists = (
            self._composite.finditer(text)
            if self._may(self._pax_or_crew, hits) and self._pax_or_crew.search(text)
            and (
                self._any_pax.search(text) is not None
                or len(list(itertools.islice(self._crew_at.finditer(text), 2))) == 2
            )
            else ()
        )
        for cm in lists:
            total = [0.0, 0.0]
            passengers: tuple[float, float] | None = None
            parts = 0
            for pm in self._part.finditer(text, cm.start(), cm.end()):
                qm = self._qty.fullmatch(text, *pm.span("q" if pm.group("q") else "q2"))
                if qm is None or (not self._is_count(text, qm) and pm.group("q2") is None):
                    continue
                low, high = self._interval(qm)
                total[0] += low
                total[1] += high
                parts += 1
                noun = pm.group("noun")
                if noun and self._pax_noun.match(noun) and passengers is None:
                    passengers = (low, high)
            if parts == 0:
                continue
            if parts == 1:
                passengers = None  # "148 passengers + crew": the number is everyone
            elif passengers is None:
                continue  # "2 pilots, 4 crew": crew only, no count of everyone aboard
            composites.append(
                _Qty(cm.start(), cm.end(), total[0], total[1], True, passengers)
            )
        return composites

    def _plain(self, text: str, composites: list[_Qty]) -> list[_Qty]:
        """Plain numbers outside the lists, in sentence order."""
        plain: list[_Qty] = []
        for m in self._qty.finditer(text):
            if any(c.start <= m.start() < c.end for c in composites):
                continue
            if not self._is_count(text, m):
                continue
            low, high = self._interval(m)
            if math.isnan(low) or math.isnan(high):
                continue
            plain.append(_Qty(m.start(), m.end(), low, high))
        return plain

    def _tied(
        self, text: str, cue: re.Match[str], quantities: list[_Qty], before_only: bool = False,
        max_gap: int | None = None,
    ) -> tuple[_Qty, int] | None:
        """The number tied to ``cue``: nearest before or after with only fillers between,
        with its distance in words."""
        best: tuple[_Qty, int] | None = None
        for q in reversed(quantities):
            if q.end <= cue.start():
                gap = text[q.end:cue.start()]
                if self._gap.fullmatch(gap):
                    words = len(gap.split())
                    if max_gap is None or words <= max_gap:
                        best = (q, words)
                break
        if before_only:
            return best
        for q in quantities:
            if q.start >= cue.end():
                gap = text[cue.end():q.start]
                if self._gap.fullmatch(gap):
                    words = len(gap.split())
                    if best is None or words < best[1]:
                        best = (q, words)
                break
        return best

    def _count(
        self, text: str, cues: re.Pattern[str], numbers: _Numbers, reject_pax: bool = False,
        hits: int = ALL,
    ) -> tuple[float, float] | None:
        """The interval tied to the first cue of ``cues`` that has one."""
        if not self._may(cues, hits):
            return None
        for cue in cues.finditer(text):
            found = self._tied(text, cue, numbers.everything())
            if found is None:
                continue
            q = found[0]
            if reject_pax and not q.composite and self._pax_after.match(text, q.end):
                continue
            return (q.low, q.high)
        return None

    # -- reading -------------------------------------------------------------------------

    def read(self, sentence: str) -> tuple[Value, ...]:
        """Every value ``sentence`` states, at most one per question, in
        :data:`QUESTIONS` order; () when none."""
        lowered = sentence.lower()
        if self._triggered.search(lowered) is None:
            return ()
        text = _stripped(html.unescape(lowered))
        # an entity may unescape to a capital ("&#65;"): the scan reads the text folded
        hits = self._scan.hits(fold(text)) if self._scan is not None else ALL
        counted = bool(hits & self._counted) and bool(
            _DIGIT.search(text)
            or (self._may(self._number_word, hits) and self._number_word.search(text))
        )
        numbers = _Numbers(self, text, hits, counted)
        composites = numbers.composites
        found: dict[str, Value] = {}
        for question, cues in (("dead", self._dead), ("injured", self._injured)):
            got = self._count(text, cues, numbers, hits=hits)
            if got is not None:
                found[question] = Value(question, *got)
        aboard = self._count(text, self._aboard, numbers, reject_pax=True, hits=hits)
        if aboard is None and composites:
            aboard = (composites[0].low, composites[0].high)
        if aboard is not None:
            found["aboard"] = Value("aboard", *aboard)
        passengers = next((c.passengers for c in composites if c.passengers), None)
        if passengers is None and self._may(self._pax, hits):
            for cue in self._pax.finditer(text):
                tied = self._tied(text, cue, numbers.plain(), before_only=True, max_gap=0)
                if tied is not None:
                    passengers = (tied[0].low, tied[0].high)
                    break
        if passengers is not None:
            found["passengers"] = Value("passengers", *passengers)
        if (
            "dead" not in found
            and self._may(self._no_survivors, hits)
            and self._no_survivors.search(text)
        ):
            if aboard is not None:
                found["dead"] = Value("dead", *aboard)
            elif passengers is not None:
                found["dead"] = Value("dead", passengers[0], math.inf)
        attackers = self._attackers(text, numbers, hits)
        if attackers is not None:
            found["attackers"] = attackers
        state = self._suspect(text, hits)
        if state is not None:
            found["suspect"] = Value("suspect", state=state)
        places = self._places(sentence)
        if places:
            found["places"] = Value("places", state=" | ".join(places))
        return tuple(found[q] for q in QUESTIONS if q in found)

    def _places(self, sentence: str) -> list[str]:
        """The named sites an attack is placed at, sorted ("Parliament Hill", "Rideau
        Centre"); none in a headline in capitals, where every word looks like a name."""
        if sentence.isupper():
            return []
        found: set[str] = set()
        text = _stripped(sentence)
        if self._place_needs is not None and self._place_needs.absent(fold(text)):
            return []
        for m in self._place.finditer(text):
            for name in (m.group("p1"), m.group("p2")):
                if name:
                    words = name.split()
                    while words and words[0].casefold() in _PLACE_STOP:
                        words.pop(0)
                    if words:
                        found.add(" ".join(words))
        return sorted(found)

    def _attackers(self, text: str, numbers: _Numbers, hits: int = ALL) -> Value | None:
        readings: list[tuple[int, float, float]] = []
        nouns = self._attacker_nouns.finditer(text) if self._may(self._attacker_nouns, hits) else ()
        for cue in nouns:
            for q in reversed(numbers.plain()):
                if q.end <= cue.start():
                    gap = text[q.end:cue.start()]
                    if len(gap.split()) <= 1 and not _BREAK.search(gap) and "," not in gap:
                        readings.append((q.start, q.low, q.high))
                    break
        for pattern, one in ((self._one, True), (self._several, False)):
            if not self._may(pattern, hits):
                continue
            for m in pattern.finditer(text):
                if any(start >= m.start() and start < m.end() for start, _, _ in readings):
                    continue  # "more than one shooter": the number inside decides
                negated = bool(self._negated.search(text, max(0, m.start() - 40), m.start()))
                if one != negated:
                    readings.append((m.start(), 1.0, 1.0))
                else:
                    readings.append((m.start(), 2.0, math.inf))
        if not readings:
            return None
        _, low, high = max(readings, key=lambda r: r[0])
        return Value("attackers", low, high)

    def _suspect(self, text: str, hits: int = ALL) -> str | None:
        last: tuple[int, str] | None = None
        for state, pattern in self._states:
            if not self._may(pattern, hits):
                continue
            for m in pattern.finditer(text):
                if self._negated.search(text, max(0, m.start() - 40), m.start()):
                    continue
                if self._negation.search(m.group()):
                    continue  # "suspect wasn't arrested"
                if last is None or m.start() >= last[0]:
                    last = (m.start(), state)
        return None if last is None else last[1]
