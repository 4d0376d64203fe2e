"""Necessary literals of a pattern: a cheap first check before an expensive regex.

:func:`needed` reads a compiled pattern's structure and returns a set of plain strings
such that *every* match of the pattern contains at least one of them, or None when no
such set can be told (a pattern that may match with no fixed text at all). The strings
are lower-case, to be looked for in the text lower-cased one character for one (as
:func:`fold` does). A sentence holding none of them cannot
match, so the pattern need not run; a sentence holding one may or may not match, and the
pattern decides. The check only ever skips work; what a pattern finds is unchanged.

:class:`LiteralScan` checks the strings of many patterns at once: one scan of the text
(a trie of every string, tried at each position) tells which patterns may match, as a
bit mask, for about the cost of running one of them.

Case-insensitive parts are handled exactly: a literal letter under ``re.I`` is looked
for lower-cased, which finds every text character it matches except the three that
Unicode case-folding twists onto ASCII letters (``İ``, ``ı``, ``ſ``: see
:data:`CASE_TWISTS`); a text holding one of those must run the pattern anyway
(:meth:`Needed.absent` says so). A pattern with a non-ASCII literal letter under
``re.I`` is given no literal for that part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from re import _parser  # type: ignore[attr-defined]
from typing import Any

__all__ = ["ALL", "CASE_TWISTS", "LiteralScan", "Needed", "finder", "fold", "needed", "needed_in"]

CASE_TWISTS = "İıſ"
"""The characters a case-insensitive pattern matches to an ASCII letter although their
own lower case is not that letter ("ſ" matches ``(?i)s``). tests/test_claims.py checks
this list against every code point."""

_TWISTED = re.compile(f"[{CASE_TWISTS}]")
_CAP = 64  # most strings an exact part may stand for before it is cut
_Info = tuple[frozenset[str] | None, frozenset[str] | None]  # (exact, needed)
_UNKNOWN: _Info = (None, None)
_EMPTY: _Info = (frozenset({""}), None)


def fold(text: str) -> str:
    """``text`` lower-cased, one character for one so that offsets still line up (a
    character whose lower case is longer, "İ", is kept as it is)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _char(code: int, icase: bool) -> str | None:
    """A literal character as it is looked for in the lower-cased text, None when it
    cannot be (a non-ASCII letter that case rules may change)."""
    char = chr(code)
    if not char.isascii():
        lowered = char.lower()
        if icase or len(lowered) != 1 or lowered != char or char.upper() != char:
            return None  # a cased non-ASCII letter: "Σ" lowers by context
        return char
    return char.lower()


def _need_of(info: _Info) -> frozenset[str] | None:
    exact, need = info
    if need is not None:
        return need
    if exact is not None and "" not in exact:
        return exact
    return None


_COMMON = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "he",
        "her", "his", "in", "is", "it", "its", "of", "on", "or", "she", "that", "the",
        "their", "they", "this", "to", "was", "we", "were", "with", "you",
    )
)
"""Words most English sentences hold: a set of needed strings holding one tells little,
so another set a match must meet is preferred (this only ever chooses which strings are
looked for; every choice is exact)."""


def _rank(strings: frozenset[str]) -> tuple[bool, int, int]:
    """How selective a set of needed strings is likely to be (higher: rarer in text):
    free of single characters and common words, then by its shortest string, then small."""
    weak = any(len(s) <= 1 or s in _COMMON for s in strings)
    return (not weak, min(map(len, strings)), -len(strings))


def _best(candidates: Iterable[frozenset[str]]) -> frozenset[str] | None:
    """The most selective of several sets each of which a match must meet (by
    :func:`_rank`; the first of equals)."""
    best: frozenset[str] | None = None
    for cand in candidates:
        if not cand or "" in cand:
            continue
        if best is None or _rank(cand) > _rank(best):
            best = cand
    return best


def _sequence(items: Sequence[tuple[Any, Any]], icase: bool) -> _Info:
    """A concatenation: exact strings while every part is exact, else the best needed set
    among its exact runs and its parts' own needed sets."""
    run: frozenset[str] = frozenset({""})
    broken = False
    candidates: list[frozenset[str]] = []
    for item in items:
        repeated = _repeated(item, icase)
        if repeated is not None:
            # X{n,} with X exact (n >= 1): the text before it runs into its first copy and
            # its last copy runs into the text after it ("f+u+c+k" holds "fu" and "ck")
            if len(run) * len(repeated) <= _CAP:
                candidates.append(frozenset(a + b for a in run for b in repeated))
            else:
                candidates.append(run)
            broken = True
            run = repeated
            continue
        exact, need = _node(item, icase)
        if exact is not None and len(run) * len(exact) <= _CAP:
            run = frozenset(a + b for a in run for b in exact)
            continue
        candidates.append(run)
        broken = True
        if exact is not None and len(exact) <= _CAP:
            run = exact
        else:
            run = frozenset({""})
            if need is not None:
                candidates.append(need)
            elif exact is not None and "" not in exact:
                candidates.append(exact)
    if not broken:
        return run, None
    candidates.append(run)
    return None, _best(candidates)


def _repeated(item: tuple[Any, Any], icase: bool) -> frozenset[str] | None:
    """For a repeat of an exact part at least once and possibly more (``X+``, ``X{2,5}``),
    the strings one copy of ``X`` stands for; None for anything else."""
    op, av = item
    if str(op) not in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return None
    low, high, pattern = av
    if low < 1 or high == low == 1:
        return None
    exact = _sequence(list(pattern), icase)[0]
    if exact is None or "" in exact or len(exact) > _CAP:
        return None
    return exact


def _node(item: tuple[Any, Any], icase: bool) -> _Info:
    op, av = item
    name = str(op)
    if name == "LITERAL":
        char = _char(av, icase)
        return (frozenset({char}), None) if char is not None else _UNKNOWN
    if name == "IN":
        chars: set[str] = set()
        for sub_op, sub_av in av:
            char = _char(sub_av, icase) if str(sub_op) == "LITERAL" else None
            if char is None:
                return _UNKNOWN
            chars.add(char)
        return frozenset(chars), None
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return _EMPTY  # zero-width: consumes nothing
    if name == "SUBPATTERN":
        _group, add, remove, pattern = av
        inner = (icase or bool(add & re.I)) and not remove & re.I
        return _sequence(list(pattern), inner)
    if name == "ATOMIC_GROUP":
        return _sequence(list(av), icase)
    if name == "BRANCH":
        infos = [_sequence(list(alt), icase) for alt in av[1]]
        exacts = [e for e, _ in infos]
        exact: frozenset[str] | None = None
        if all(e is not None for e in exacts):
            union = frozenset().union(*(e for e in exacts if e is not None))
            exact = union if len(union) <= _CAP else None
        needs = [_need_of(i) for i in infos]
        if exact is not None:
            return exact, None
        if all(n is not None for n in needs):
            return None, frozenset().union(*(n for n in needs if n is not None))
        return _UNKNOWN
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, pattern = av
        inner_info = _sequence(list(pattern), icase)
        if low == 0:
            if high == 1 and inner_info[0] is not None:
                return inner_info[0] | {""}, None
            return _EMPTY if high == 0 else _UNKNOWN
        if low == high == 1:
            return inner_info
        return None, _need_of(inner_info)
    return _UNKNOWN



def _minimal(strings: Iterable[str]) -> tuple[str, ...]:
    """The strings none of the others is part of ("claim" makes "claimed" redundant),
    shortest first."""
    out: list[str] = []
    for s in sorted(set(strings), key=lambda s: (len(s), s)):
        if not any(o in s for o in out):
            out.append(s)
    return tuple(out)


class Needed:
    """The strings one of which any match of a pattern holds (see :func:`needed`)."""

    __slots__ = ("_any", "ignore_case", "strings")

    def __init__(self, strings: Iterable[str], ignore_case: bool) -> None:
        self.strings = _minimal(strings)
        self.ignore_case = ignore_case
        self._any = finder(self.strings)

    def absent(self, low: str) -> bool:
        """Whether the pattern surely cannot match the text ``low`` is the lower-cased
        form of (one character for one)."""
        if self._any.search(low) is not None:
            return False
        return not (self.ignore_case and _TWISTED.search(low) is not None)


def needed(pattern: re.Pattern[str]) -> Needed | None:
    """The strings one of which every match of ``pattern`` holds, None when unknown."""
    return needed_in(pattern.pattern, pattern.flags)


def needed_in(source: str, flags: int = 0) -> Needed | None:
    """:func:`needed` of the pattern ``source`` compiled with ``flags``, read without
    compiling it (None as well when it does not parse)."""
    icase = bool(flags & re.I)
    try:
        parsed = _parser.parse(source, flags)
    except re.error:
        return None
    need = _need_of(_sequence(list(parsed), icase))
    if not need:
        return None
    # case-insensitive anywhere inside: the twisted characters must run the pattern
    return Needed(need, ignore_case=icase or "(?i" in source)


ALL = -1
"""A hit mask with every bit set: run every pattern (no scan made)."""


def _trie(strings: Iterable[str]) -> str:
    """A pattern matching the longest of ``strings`` that starts where it is tried."""
    root: dict[str, Any] = {}
    for string in strings:
        node = root
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        alts = [re.escape(c) + render(sub) for c, sub in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(root)


def finder(strings: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose ``search`` finds any of ``strings`` (plain text, as written): one
    trie of them, tried at each position, about twice as fast as ``any(s in text ...)``
    over a hundred strings; it never matches when there is no string."""
    strings = sorted(set(strings))
    if not strings:
        return re.compile("(?!)")
    return re.compile(_trie(strings))


class LiteralScan:
    """Which of several patterns may match a text, from one scan for all their strings.

    ``needs[i]`` is pattern ``i``'s :class:`Needed` (None: it always runs); bit ``1 << i``
    of :meth:`hits` is set unless pattern ``i`` surely cannot match."""

    __slots__ = ("_always", "_bits", "_find", "_twisted")

    def __init__(self, needs: Sequence[Needed | None]) -> None:
        self._always = 0
        self._twisted = 0
        owners: list[tuple[str, int]] = []
        for i, need in enumerate(needs):
            bit = 1 << i
            if need is None:
                self._always |= bit
                continue
            if need.ignore_case:
                self._twisted |= bit
            owners += [(s, bit) for s in need.strings]
        strings = sorted({s for s, _ in owners})
        # a string found stands for every string it starts with: the scan reports only
        # the longest string at each position
        self._bits = {
            x: _or(bit for s, bit in owners if x.startswith(s)) for x in strings
        }
        self._find = re.compile(f"(?=({_trie(strings)}))") if strings else None

    def hits(self, low: str) -> int:
        """The bit mask of the patterns that may match the text ``low`` is the lower-cased
        form of (one character for one)."""
        mask = self._always
        if self._find is not None:
            bits = self._bits
            for found in self._find.findall(low):
                mask |= bits[found]
        if self._twisted and _TWISTED.search(low) is not None:
            mask |= self._twisted
        return mask


def _or(bits: Iterable[int]) -> int:
    out = 0
    for bit in bits:
        out |= bit
    return out
