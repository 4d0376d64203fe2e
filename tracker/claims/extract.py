"""Claim extraction: from a post's normalized text to the sentences worth checking.

The seam is :class:`ClaimExtractor`. :class:`SentenceClaimExtractor` keeps every sentence
of at least ``min_words`` words; :class:`ClaimAnalyzer` keeps the check-worthy ones and
reads each: its kind (attribution, casualty, method, other), the actors it names, how
hedged it is, whether it denies an attribution, whether it speaks in an official voice.
It is pure text logic driven by a :class:`~tracker.claims.lexicon.Lexicon` (word lists) and
known :class:`~tracker.claims.lexicon.Actor` s, both data from config, so another language needs
no code. No model is involved; :mod:`tracker.claims.examples` is the second reader, by nearness to
example sentences, that refines what this one leaves as ``other``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from typing import Protocol

from tracker.claims.lexicon import ACTOR_SLOT, DEFAULT_ACTORS, DEFAULT_LEXICON, Actor, Lexicon
from tracker.claims.literals import ALL, LiteralScan, Needed, fold, needed, needed_in
from tracker.claims.values import ValueReader
from tracker.errors import ConfigError
from tracker.models import Claim, ClaimKind, Value

__all__ = [
    "ClaimAnalyzer",
    "ClaimExtractor",
    "ClaimKind",
    "SentenceClaimExtractor",
    "clean_sentence",
    "split_sentences",
    "word_count",
]


class ClaimExtractor(Protocol):
    """Turns one post's normalized text into its claims, in order."""

    def extract(self, text: str) -> list[Claim]: ...


_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_RT_PREFIX = re.compile(r"^RT\s+@\w+:?\s*", re.I)
_LEAD_MENTIONS = re.compile(r"^(?:\.?@\w+[:,]?\s+)+")
_SPACES = re.compile(r"[ \t]+")
# A sentence ends at . ! ? … (with closing quotes or brackets) followed by space and a
# character that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[#@]?[A-Z0-9À-ÖØ-Þ\u0600-\u06ff])")
_ENDS = ".!?…"
"""What a sentence ending inside a line follows (the lookbehind of ``_BOUNDARY``)."""
_ABBREV = frozenset(
    (
        "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "gen", "col", "lt", "sgt", "capt", "maj",
        "gov", "sen", "rep", "rev", "no", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "est",
        "approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
        "dec", "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m",
    )
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
        if not any(mark in line for mark in _ENDS):
            sentences.append(line)  # no sentence ends inside it
            continue
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
    # each pattern runs only where the text holds what every match of it holds: a link
    # "://" or "www." (any case), a prefix "@" after "RT", a folded space two blanks or a tab
    if "://" in sentence or ("." in sentence and "www." in sentence.lower()):
        sentence = _URL.sub("", sentence)
    if "@" in sentence:
        sentence = _RT_PREFIX.sub("", sentence)
        sentence = _LEAD_MENTIONS.sub("", sentence)
    if "  " in sentence or "\t" in sentence:
        sentence = _SPACES.sub(" ", sentence)
    return sentence.strip(" -|:")


_AT_WORD = re.compile(r"@(?=[^\W_])")
"""Where a word starts right after "@": an @mention (no word runs across an "@")."""


def word_count(sentence: str) -> int:
    """Words in a sentence, not counting @mentions."""
    words = len(_WORD.findall(sentence))
    return words - len(_AT_WORD.findall(sentence)) if "@" in sentence else words


def _has_words(sentence: str, least: int) -> bool:
    """``word_count(sentence) >= least``, counting only as far as it needs to."""
    if "@" in sentence:
        least += len(_AT_WORD.findall(sentence))
    if least <= 0:
        return True
    return next(itertools.islice(_WORD.finditer(sentence), least - 1, None), None) is not None


class SentenceClaimExtractor:
    """Every sentence with at least ``min_words`` words is a claim."""

    def __init__(self, min_words: int = 3) -> None:
        self.min_words = min_words

    def extract(self, text: str) -> list[Claim]:
        out: list[Claim] = []
        for raw in split_sentences(text):
            sentence = clean_sentence(raw)
            if sentence and word_count(sentence) >= self.min_words:
                out.append(Claim(sentence))
        return out


# --- analysis ---------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")
_CAPITALIZED = re.compile(r"(?<![^\W_])[A-Z][^\W_]*")
"""In ASCII text, the tokens of ``_TOKEN`` that start with an upper-case letter."""
_DIGIT = re.compile(r"\d")
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"[{_UPPER}][\w'’]*(?:-[\w'’]+)*"
_CONNECTOR = r"(?:al|ul|e|i|of|the|bin|ibn|de|ud|us|wal|el)"
# One to four capitalized words, lower-case connectors allowed between them: "Jundallah",
# "Tehreek-e-Nawaz", "Group Zeta", "Army of the Righteous", "Jaish al-Adl". Always
# case-sensitive.
_NAME = (
    rf"(?-i:#?{_NAME_WORD}(?:[ \t]+(?:{_CONNECTOR}[ \t]+){{0,2}}(?:{_CONNECTOR}-)?{_NAME_WORD})"
    r"{0,3})"
)
_LAST_WORD = re.compile(r"([^\W\d_]+)[\s,:]*$")
_FIRST_WORD = re.compile(r"\s*([^\W\d_]+)")
_POSSESSIVE = re.compile(r"'s$")
_MASK = "\x00"
_COUNTED = frozenset({"dead", "injured", "aboard", "passengers"})
"""Value questions whose answer is a count of casualties or of people at risk."""
_NEVER = re.compile(r"(?!)")


@functools.lru_cache(maxsize=4096)
def _compiled_ci(pattern: str) -> re.Pattern[str]:
    """``re.compile(pattern, re.I)``, kept for the process: every analyzer built from the
    same lexicon (one per Runtime: a replay per event, a test per scenario) reduces to the
    same few hundred patterns, and re's own cache (512 entries) is flushed by the
    thousands an analyzer compiles when it is built. Compiling one costs ~2.5 ms."""
    return re.compile(pattern, re.I)


def _alternation(fragments: Iterable[str], flags: int = re.I) -> re.Pattern[str]:
    """One pattern matching any fragment on word edges, longest fragment first."""
    ordered = sorted(dict.fromkeys(fragments), key=len, reverse=True)
    if not ordered:
        return _NEVER
    return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", flags)


def _lower_pattern(fragment: str) -> str:
    """``fragment`` with its literal letters lower-cased (escapes such as ``\\W`` kept), so
    it can run without ``re.I`` on lower-cased text: about twice as fast."""
    out: list[str] = []
    escaped = False
    for char in fragment:
        out.append(char if escaped else char.lower())
        escaped = char == "\\" and not escaped
    return "".join(out)


_lower = fold
"""``text`` lower-cased, one character for one so that offsets still line up."""


class _WordList:
    """One word list of the lexicon, compiled. Fragments are matched on the lower-cased
    sentence; those with a case-sensitive part, ``(?-i:...)``, on the sentence itself.

    ``hits`` (every method): a :class:`~tracker.claims.literals.LiteralScan` mask of the
    sentence, after :meth:`bind`; a part whose bit is clear cannot match and is not run."""

    __slots__ = ("cased", "cased_bit", "folded", "folded_bit")

    def __init__(self, fragments: Iterable[str]) -> None:
        fragments = tuple(fragments)
        self.folded = _alternation((_lower_pattern(f) for f in fragments if "(?-i:" not in f), 0)
        self.cased = _alternation(f for f in fragments if "(?-i:" in f)
        self.folded_bit = self.cased_bit = ALL

    def bind(self, needs: list[Needed | None]) -> None:
        """Add this list's two parts to the needs of a scan (their bits, in order)."""
        self.folded_bit = _register(needs, self.folded)
        self.cased_bit = _register(needs, self.cased)

    def search(self, low: str, text: str, hits: int = ALL) -> bool:
        return (hits & self.folded_bit != 0 and self.folded.search(low) is not None) or (
            hits & self.cased_bit != 0 and self.cased.search(text) is not None
        )

    def _spans(self, low: str, text: str, hits: int) -> list[tuple[int, int]]:
        spans = (
            [m.span() for m in self.folded.finditer(low)] if hits & self.folded_bit else []
        )
        if self.cased is not _NEVER and hits & self.cased_bit:
            spans = sorted(spans + [m.span() for m in self.cased.finditer(text)])
        return spans

    def spans(self, low: str, text: str, hits: int = ALL) -> list[tuple[int, int]]:
        """Every match, (start, end), left to right."""
        return self._spans(low, text, hits)

    def starts(self, low: str, text: str, hits: int = ALL) -> list[int]:
        """Where the list matches, left to right (matches overlapping earlier ones dropped)."""
        spans = self._spans(low, text, hits)
        out: list[int] = []
        end = -1
        for start, stop in spans:
            if start >= end:
                out.append(start)
                end = stop
        return out


def _register(needs: list[Needed | None], pattern: re.Pattern[str]) -> int:
    """Add ``pattern``'s needed strings to a scan's list; its bit in the scan's mask (0,
    never set, for a pattern that matches nothing: an empty list's part)."""
    if pattern is _NEVER:
        return 0
    needs.append(needed(pattern))
    return 1 << (len(needs) - 1)


def _plain_needs(pieces: Iterable[str]) -> Needed | None:
    """Plain lower-case pieces looked for in ``sentence.lower()`` (value triggers) as
    needed strings of the probe (curly apostrophes straightened); None when a piece has
    one or is empty."""
    pieces = tuple(pieces)
    if not pieces or any(not p or "’" in p for p in pieces):
        return None
    return Needed(pieces, ignore_case=True)  # "İ" lowers to two characters: read it all


def _slot(i: int, identity: str) -> str:
    """An actor slot: a masked known actor (``\\x00<index>\\x00``), an identity word (in
    any case, not starting a longer capitalized name) or a capitalized name."""
    return (
        rf"(?:(?:the|a|an)\s+)?(?:{_MASK}(?P<k{i}>\d+){_MASK}"
        rf"|(?P<w{i}>{identity})(?![\w-])(?!\s+(?-i:[{_UPPER}]))|(?P<n{i}>{_NAME}))"
    )


def _identity_pattern(words: Iterable[str]) -> str:
    """Identity words as a pattern: each escaped, spaces loose, an optional plural "s"."""
    alts = sorted(
        (re.escape(w).replace(r"\ ", r"\s+") for w in dict.fromkeys(words) if w.strip()),
        key=len,
        reverse=True,
    )
    return "(?:" + "|".join(alts) + ")s?" if alts else "(?!)"


def _slotted(
    patterns: tuple[str, ...], identity: str = "(?!)"
) -> tuple[re.Pattern[str], tuple[tuple[str, str, str], ...]]:
    """All attribution patterns as one regex, and the names of their slot groups (known
    actor, identity word, capitalized name).

    Patterns that open with the slot share one slot (``SLOT(?:rest|rest|...)``): one
    attempt at a name per position instead of one per pattern, a third of the cost."""
    leading = [p[len(ACTOR_SLOT) :] for p in patterns if p.startswith(ACTOR_SLOT)]
    others = [p for p in patterns if not p.startswith(ACTOR_SLOT)]
    branches: list[str] = []
    if leading:
        branches.append(_slot(0, identity) + "(?:" + "|".join(leading) + ")")
    branches += [
        p.replace(ACTOR_SLOT, _slot(i, identity)) for i, p in enumerate(others, start=1)
    ]
    if not branches:
        return _NEVER, ()
    names = tuple((f"k{i}", f"w{i}", f"n{i}") for i in range(len(others) + 1) if i or leading)
    return re.compile(r"(?<!\w)(?:" + "|".join(branches) + r")(?!\w)", re.I), names


class _SlotFamily:
    """One family of attribution patterns (active or passive): ``full``, all of them as
    one regex with its slot groups (:func:`_slotted`), and :meth:`reduced`, the same
    regex without the patterns whose needed strings a scan did not find. A pattern that
    cannot match anywhere in a text changes no match the others make there (an
    alternative that fails leaves nothing behind), so the reduced regex finds exactly
    what ``full`` finds, at the cost of the few patterns that may match."""

    __slots__ = ("_leading", "_other_bits", "_others", "_rest_bits", "_slot0", "bits",
                 "full", "groups", "reduced")

    def __init__(self, patterns: tuple[str, ...], identity: str) -> None:
        self.full, self.groups = _slotted(patterns, identity)
        self._leading = [p[len(ACTOR_SLOT) :] for p in patterns if p.startswith(ACTOR_SLOT)]
        others = [p for p in patterns if not p.startswith(ACTOR_SLOT)]
        self._slot0 = _slot(0, identity)
        self._others = [
            (i, p, p.replace(ACTOR_SLOT, _slot(i, identity)))
            for i, p in enumerate(others, start=1)
        ]
        self._rest_bits: tuple[int, ...] = ()
        self._other_bits: tuple[int, ...] = ()
        self.bits = 0
        self.reduced: Callable[[int], tuple[re.Pattern[str], tuple[tuple[str, str, str], ...]]]
        self.reduced = functools.lru_cache(maxsize=512)(self._reduce)

    def bind(self, needs: list[Needed | None]) -> None:
        """Add each pattern's needed strings to a scan's list (a bit each; ``bits``: all)."""
        self._rest_bits = tuple(_register_fragment(needs, rest) for rest in self._leading)
        self._other_bits = tuple(
            _register_fragment(needs, raw.replace(ACTOR_SLOT, "(?:.+)"))
            for _, raw, _ in self._others
        )
        self.bits = 0
        for bit in (*self._rest_bits, *self._other_bits):
            self.bits |= bit

    def _reduce(self, mask: int) -> tuple[re.Pattern[str], tuple[tuple[str, str, str], ...]]:
        rests = [r for r, bit in zip(self._leading, self._rest_bits, strict=True) if mask & bit]
        others = [
            (i, slotted)
            for (i, _, slotted), bit in zip(self._others, self._other_bits, strict=True)
            if mask & bit
        ]
        if len(rests) == len(self._leading) and len(others) == len(self._others):
            return self.full, self.groups
        branches = [self._slot0 + "(?:" + "|".join(rests) + ")"] if rests else []
        branches += [slotted for _, slotted in others]
        if not branches:
            return _NEVER, ()
        names = ((("k0", "w0", "n0"),) if rests else ()) + tuple(
            (f"k{i}", f"w{i}", f"n{i}") for i, _ in others
        )
        try:
            return _compiled_ci(r"(?<!\w)(?:" + "|".join(branches) + r")(?!\w)"), names
        except re.error:  # (a pattern leaning on another one's group): all of them
            return self.full, self.groups


def _register_fragment(needs: list[Needed | None], fragment: str) -> int:
    """:func:`_register` for one lexicon fragment, case-insensitive (a bit set always
    when it does not parse alone)."""
    needs.append(needed_in("(?:" + fragment + ")", re.I))
    return 1 << (len(needs) - 1)


_READINGS = 8192
"""How many sentence readings a :class:`ClaimAnalyzer` keeps (most recently used)."""

_NEAR = 60
"""How far (characters) from a responsibility cue a name may stand to be its actor."""
_PLACE_PREPOSITIONS = frozenset({"in", "from", "near", "across", "outside", "inside", "over", "on"})


def _authority_pattern(authorities: Iterable[str], verbs: Iterable[str]) -> re.Pattern[str]:
    """One pattern, run on the lower-cased sentence, for an authority speaking ("police
    confirmed", group ``a``), cited ("according to police", ``b``) or heading the sentence
    ("Police: ...", ``c``)."""
    names = sorted((_lower_pattern(a) for a in dict.fromkeys(authorities)), key=len, reverse=True)
    acts = [_lower_pattern(v) for v in dict.fromkeys(verbs)]
    if not names:
        return _NEVER
    auth = "(?:" + "|".join(names) + ")"
    act = "(?:" + "|".join(acts) + ")" if acts else "(?!)"
    between = r"(?:\s+(?!sources?\b)[\w'’.-]+){0,3}?"
    try:
        return re.compile(
            rf"(?<!\w)(?P<a>{auth}){between}\s+{act}(?!\w)"
            rf"|(?<!\w)(?:according\s+to|confirmed\s+by|said\s+by|per|citing)\s+(?:the\s+)?"
            rf"(?:[\w'’-]+\s+){{0,2}}?(?P<b>{auth})(?!\w)(?!\s+sources?\b)"
            rf"|^(?:[\w'’-]+\s+){{0,2}}?(?P<c>{auth})\s*:"
        )
    except re.error as exc:
        raise ConfigError(f"claims.lexicon: authority patterns do not compile: {exc}") from exc


def _authority_name(raw: str) -> str:
    """An authority as claims report it: lower-case, single-spaced, "the" and "public"
    dropped, a plural in -ors made singular ("prosecutors" -> "prosecutor")."""
    words = raw.split()
    while words and words[0] in ("the", "public"):
        words.pop(0)
    if words and words[-1].endswith("ors"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t.casefold() for t in _TOKEN.findall(text))


class ClaimAnalyzer:
    """Check-worthy sentences and what they assert, from word lists and known actors.

    Implements :class:`ClaimExtractor`. Per sentence (of at least ``min_words`` words):

    - *kind*: ``attribution`` when an attribution pattern names a known actor or a
      candidate, an attribution cue or a negation is found; else ``casualty``, else
      ``method``, else ``other``.
    - *actors*: on attribution claims, every known actor named in the sentence (sorted
      canonical names); *candidate_actors*: unknown capitalized names standing in an
      attribution pattern's ``{actor}`` slot, trimmed of stop words.
    - *hedge*: ``hedge_step`` per hedge found (a question counts one), capped at 1.0.
    - *negated*: a negation not undone by a reverser ("have not ruled out").
      A responsibility cue with no slot filled takes a capitalized name within a few
      words of it ("Everyone knows Jundallah did this"); identities of the perpetrator
      are attributions ("a convert to Islam" -> "Islam", "the shooter was a jihadist" ->
      "Jihadist").
    - *authority*: the authority the claim is stated on the word of, lower-case: speaking
      ("police confirm", "French President says" -> "president"), cited ("according to
      police") or heading it ("CTD: ..." -> "ctd"); None for a newspaper, friends, a
      website (those are hedges).
    - *official_voice*: an authority, or an official-voice pattern ("police confirmed",
      "CTD said", "in a statement").
    - *check-worthy*: kept when it is an attribution or official; otherwise dropped when
      it is chatter ("praying for the victims", "RIP to the 150", an insult); otherwise
      kept when it has another kind, a known actor or a digit, or is hedged or names
      something (a capitalized word past the first, a hashtag). In doubt it keeps:
      clustering tolerates noise.

    All patterns are compiled once, here, with the strings each needs to match
    (:mod:`tracker.claims.literals`): one scan of a sentence for all those strings tells
    which patterns may match, and only those run (``prefilter=False`` runs every pattern
    on every sentence, for the same readings at about twice the cost). A tweet-length
    post takes about 0.08 ms. Raises :class:`ConfigError` when a lexicon pattern does
    not compile or two actors share an alias.
    """

    def __init__(
        self,
        lexicon: Lexicon = DEFAULT_LEXICON,
        actors: Iterable[Actor] = DEFAULT_ACTORS,
        min_words: int = 3,
        *,
        prefilter: bool = True,
    ) -> None:
        lexicon.validate()
        self.lexicon = lexicon
        self.actors = tuple(actors)
        self.min_words = min_words
        identity = _identity_pattern(lexicon.identity_words)
        try:
            self._slots = (
                _SlotFamily(lexicon.attribution_active, identity),
                _SlotFamily(lexicon.attribution_passive, identity),
            )
        except re.error as exc:  # a valid fragment can still clash with the slot it gets
            raise ConfigError(
                f"claims.lexicon: attribution patterns do not compile: {exc}"
            ) from exc
        self._cues = _WordList(lexicon.attribution_cues)
        self._negations = _WordList(lexicon.negations)
        reversers = "|".join(_lower_pattern(f) for f in lexicon.negation_reversers) or "(?!)"
        self._reversed = re.compile(rf"(?<!\w)(?:{reversers})\s+(?:\w+\s+)?$")
        self._hedges = _WordList(lexicon.hedges)
        self._official = _WordList(lexicon.official_voice)
        self._casualty = _WordList(lexicon.casualty_cues)
        self._casualty_counts = (
            _WordList(lexicon.casualty_counts) if lexicon.casualty_counts else None
        )
        self._method = _WordList(lexicon.method_cues)
        self._chatter = _WordList(lexicon.chatter)
        self._values = ValueReader(lexicon, prefilter=prefilter)
        self._authority = _authority_pattern(lexicon.authorities, lexicon.authority_verbs)
        # One scan of the lower-cased sentence for the strings each pattern needs tells
        # which patterns may match at all; the others are not run (tracker.claims.literals).
        needs: list[Needed | None] = []
        for family in self._slots:
            family.bind(needs)
        for words in (
            self._cues, self._negations, self._hedges, self._official, self._casualty,
            self._casualty_counts, self._method, self._chatter,
        ):
            if words is not None:
                words.bind(needs)
        self._authority_bit = _register(needs, self._authority)
        needs.append(_plain_needs(lexicon.value_triggers))
        self._values_bit = 1 << (len(needs) - 1)
        self._scan = LiteralScan(needs) if prefilter else None
        self._name = re.compile(rf"(?<![\w@]){_NAME}")
        self._sources = frozenset(w.casefold() for w in lexicon.source_nouns)
        self._questions = lexicon.question_marks
        self._stop = frozenset(w.casefold() for w in lexicon.stop_names)
        self._titles = frozenset(w.casefold() for w in lexicon.person_titles)
        self._events = frozenset(w.casefold() for w in lexicon.event_nouns)
        self._generic = self._stop | {w.casefold() for w in lexicon.generic_names}
        self._identity_alias = {
            a.split("=", 1)[0].strip().casefold(): a.split("=", 1)[1].strip()
            for a in lexicon.identity_aliases if "=" in a
        }
        self._identity_words = frozenset(
            " ".join(w.casefold().split()) for w in lexicon.identity_words
        )
        # Aliases as token sequences, indexed by their first token: "Tehrik-i-Taliban
        # Pakistan" is ("tehrik", "i", "taliban", "pakistan") and matches whatever
        # separates those words. Longest alias first, so it wins over its prefixes.
        self._loose: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._exact: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        owner: dict[tuple[bool, tuple[str, ...]], str] = {}
        for actor in self.actors:
            exact = set(actor.exact)
            for alias in actor.names():
                is_exact = alias in exact
                toks = tuple(_TOKEN.findall(alias)) if is_exact else _tokens(alias)
                if not toks:
                    continue
                seen = owner.setdefault((is_exact, toks), actor.name)
                if seen != actor.name:
                    raise ConfigError(
                        f"actors: alias {alias!r} belongs to both {seen!r} and {actor.name!r}; "
                        "keep it under one actor"
                    )
                index = self._exact if is_exact else self._loose
                index.setdefault(toks[0], []).append((toks[1:], actor.name))
        for index in (self._loose, self._exact):
            for entries in index.values():
                entries.sort(key=lambda e: len(e[0]), reverse=True)
        # a sentence read once is not read again: retweet copies and repeated headlines
        # repeat whole sentences (germanwings: 6,410 sentences, 5,781 distinct). A reading
        # is frozen data, so one object can serve every copy; lru_cache is thread-safe.
        self._reading: Callable[[str], tuple[Claim, bool]] = functools.lru_cache(
            maxsize=_READINGS
        )(self._read)

    # -- the ClaimExtractor protocol ----------------------------------------------------

    def extract(self, text: str) -> list[Claim]:
        """The check-worthy claims of one post's normalized text, in order."""
        out: list[Claim] = []
        for raw in split_sentences(text):
            sentence = clean_sentence(raw)
            if not sentence or not _has_words(sentence, self.min_words):
                continue
            claim, worthy = self._reading(sentence)
            if worthy:
                out.append(claim)
        return out

    # -- single sentences ---------------------------------------------------------------

    def analyze(self, sentence: str) -> Claim:
        """Read one sentence as it is (no splitting, cleaning or check-worthiness test):
        useful for a finding's text."""
        return self._reading(sentence)[0]

    def is_check_worthy(self, sentence: str) -> bool:
        """Whether :meth:`extract` would keep this (cleaned) sentence."""
        return _has_words(sentence, self.min_words) and self._reading(sentence)[1]

    def canonical_actor(self, name: str) -> str | None:
        """The canonical name of the known actor ``name`` is a name or alias of, else None:
        ``canonical_actor("Tehrik-i-Taliban Pakistan") == "TTP"``."""
        words = list(_TOKEN.finditer(name))
        found = self._mentions(name, name.isupper())
        if words and len(found) == 1:
            start, end, canonical = found[0]
            if start == words[0].start() and end == words[-1].end():
                return canonical
        return None

    # -- internals ----------------------------------------------------------------------

    def _mentions(self, text: str, shouting: bool) -> list[tuple[int, int, str]]:
        """Known actors in ``text``: (start, end, canonical name), left to right."""
        words = _TOKEN.findall(text)
        exact = self._exact if self._exact and not shouting else None
        if self._loose.keys().isdisjoint(map(str.casefold, words)) and (
            exact is None or exact.keys().isdisjoint(words)
        ):
            return []
        folded = [w.casefold() for w in words]
        found = list(_TOKEN.finditer(text))
        out: list[tuple[int, int, str]] = []
        i = 0
        while i < len(words):
            hit = self._match(self._loose, folded, i)
            if hit is None and exact is not None:
                hit = self._match(exact, words, i)
            if hit is None:
                i += 1
                continue
            length, name = hit
            out.append((found[i].start(), found[i + length - 1].end(), name))
            i += length
        return out

    @staticmethod
    def _match(
        index: dict[str, list[tuple[tuple[str, ...], str]]], toks: list[str], i: int
    ) -> tuple[int, str] | None:
        """The longest alias starting at token ``i``: (tokens it spans, canonical name)."""
        entries = index.get(toks[i])
        if entries is None:
            return None
        for rest, name in entries:
            if not rest or tuple(toks[i + 1 : i + 1 + len(rest)]) == rest:
                return len(rest) + 1, name
        return None

    def _read(self, sentence: str) -> tuple[Claim, bool]:
        probe = sentence.replace("’", "'")
        shouting = probe.isupper()
        mentions = self._mentions(probe, shouting)
        masked = probe
        if mentions:
            pieces: list[str] = []
            last = 0
            for n, (start, end, _) in enumerate(mentions):
                pieces += [probe[last:start], f"{_MASK}{n}{_MASK}"]
                last = end
            masked = "".join(pieces) + probe[last:]

        slotted = False
        candidates: set[str] = set()
        low = _lower(probe)
        hits = self._scan.hits(low) if self._scan is not None else ALL
        for family in self._slots:
            if mentions:  # (masks are not what the scan read: every pattern runs)
                pattern, groups = family.full, family.groups
            elif hits & family.bits:  # the masked text is the probe: the scan spoke for it
                pattern, groups = family.reduced(hits & family.bits)
            else:
                continue
            for m in pattern.finditer(masked):
                for known, word, group in groups:
                    if m.group(known) is not None:
                        slotted = True
                    identity = m.group(word)
                    if identity is not None:
                        candidates.add(self._identity(identity))
                    raw = m.group(group)
                    if raw is not None and not shouting:
                        start, end = m.span(group)
                        name = self._candidate(
                            raw, masked[max(0, start - 40) : start], masked[end : end + 40]
                        )
                        if name is not None:
                            candidates.add(name)
        # A slot filled by a stop word ("A suicide bomber killed") attributes nothing.
        slotted = slotted or bool(candidates)

        negated = any(
            self._reversed.search(low, 0, start) is None
            for start in self._negations.starts(low, probe, hits)
        )
        hedges = len(self._hedges.starts(low, probe, hits))
        question = any(q in probe for q in self._questions)
        authority = self._authority_of(low) if hits & self._authority_bit else None
        official = authority is not None or self._official.search(low, probe, hits)

        cues = self._cues.spans(low, probe, hits) if not slotted else []
        if cues and not mentions and not shouting and not negated:
            # A responsibility cue with no slot filled: a name near it may be the actor
            # ("Everyone knows Jundallah did this", "fingers point at Jundallah"); a
            # negation names nobody this way ("No group has claimed the Nushki attack").
            candidates |= self._near_cue(masked, cues)
        if candidates:
            candidates = {self._as_identity(name) for name in candidates}
        values = self._values.read(sentence) if hits & self._values_bit else ()
        if slotted or negated or cues:
            kind = ClaimKind.ATTRIBUTION
        elif self._casualty.search(low, probe, hits) and self._counts(low, probe, values, hits):
            kind = ClaimKind.CASUALTY
        elif self._method.search(low, probe, hits):
            kind = ClaimKind.METHOD
        else:
            kind = ClaimKind.OTHER
        attribution = kind is ClaimKind.ATTRIBUTION
        claim = Claim(
            text=sentence,
            kind=kind,
            actors=tuple(sorted({name for _, _, name in mentions})) if attribution else (),
            candidate_actors=tuple(sorted(candidates)) if attribution else (),
            hedge=min(1.0, (hedges + question) * self.lexicon.hedge_step),
            negated=negated,
            official_voice=official,
            authority=authority,
            values=values,
        )
        # Check-worthy: an attribution or an official's word keeps it; otherwise chatter
        # ("praying for the victims", "RIP", an insult) drops it, whatever numbers it
        # repeats; otherwise another kind, a known actor or a digit keeps it; otherwise a
        # hedge or a name does.
        if attribution or official:
            return claim, True
        if self._chatter.search(low, probe, hits):
            return claim, False
        if kind is not ClaimKind.OTHER or mentions or _DIGIT.search(probe) is not None:
            return claim, True
        return claim, hedges > 0 or self._has_name(probe, shouting)

    def _counts(self, low: str, text: str, values: tuple[Value, ...], hits: int = ALL) -> bool:
        """Whether a sentence with a casualty cue gives a count or a toll: a dead,
        injured or aboard value read, or a ``casualty_counts`` pattern ("12 killed",
        "death toll rises", "no one was killed"); "a cop who killed someone" gives none."""
        if self._casualty_counts is None:
            return True
        if any(v.question in _COUNTED for v in values):
            return True
        return self._casualty_counts.search(low, text, hits)

    def _authority_of(self, low: str) -> str | None:
        """The authority the (lower-cased) sentence is stated on the word of, if any."""
        m = self._authority.search(low)
        if m is None:
            return None
        raw = m.group("a") or m.group("b") or m.group("c") or ""
        return _authority_name(raw)

    def _as_identity(self, name: str) -> str:
        """A name holding an identity word is that identity: a headline's "Airbus Co-Pilot
        Was MUSLIM" or "MUSLIM CONVERT" is the candidate "Islam", as "a convert to Islam"
        is, so one story told in other words stays one narrative."""
        for token in _TOKEN.findall(name):
            folded = self._singular(token.casefold())
            if folded in self._identity_words:
                return self._identity(folded)
        return name

    def _singular(self, folded: str) -> str:
        """A case-folded word without its plural "s" when the rest is an identity word."""
        if folded.endswith("s") and folded[:-1] in self._identity_words:
            return folded[:-1]
        return folded

    def _identity(self, word: str) -> str:
        """An identity word from a slot, as a candidate: "jihadists" -> "Jihadist"."""
        word = " ".join(word.split())
        folded = word.casefold()
        if self._singular(folded) != folded:
            word = word[:-1]
        word = self._identity_alias.get(word.casefold(), word)
        return word[0].upper() + word[1:].lower()

    def _near_cue(self, masked: str, cues: list[tuple[int, int]]) -> set[str]:
        """Capitalized names within a few words of a responsibility cue that can be actors:
        not a person, event, source or place, not a headline label ("Paris:")."""
        out: set[str] = set()
        for m in self._name.finditer(masked):
            start, end = m.span()
            near = any(
                (cs - _NEAR <= end <= cs) or (ce <= start <= ce + _NEAR) or (cs <= start < ce)
                for cs, ce in cues
            )
            if not near:
                continue
            after = masked[end : end + 40]
            if after[:1] == ":" or (start == 0 and not any(0 <= cs - end <= 25 for cs, _ in cues)):
                continue
            if start == 0 and after[:1] == "," and " " not in m.group():
                continue  # "Exactly, they did it again": an interjection, not a name
            # "Nushki bus blast", "Bild newspaper": an event, a source or a place.
            following = [w.casefold() for w in _TOKEN.findall(after)[:2]]
            if any(w in self._sources or w in self._events for w in following):
                continue
            before = masked[max(0, start - 40) : start]
            previous = _LAST_WORD.search(before)
            if previous is not None and previous.group(1).casefold() in _PLACE_PREPOSITIONS:
                continue
            name = self._candidate(m.group(), before, after)
            if name is not None and name.casefold() not in self._sources:
                out.add(name)
        return out

    def _candidate(self, raw: str, before: str, after: str) -> str | None:
        """A name from an attribution slot, trimmed of stop words, if it can be an actor:
        not after a person's title ("spokesman X"), not naming an event ("X blast")."""
        title = _LAST_WORD.search(before)
        if title is not None and title.group(1).casefold() in self._titles:
            return None
        words = raw.lstrip("#").split()
        words[-1] = _POSSESSIVE.sub("", words[-1])
        following = _FIRST_WORD.match(after)
        if words[-1].casefold() in self._events or (
            following is not None and following.group(1).casefold() in self._events
        ):
            return None
        while words and words[0].casefold() in self._stop:
            words.pop(0)
        while words and words[-1].casefold() in self._stop:
            words.pop()
        if not words or all(w.casefold() in self._generic for w in words):
            return None
        if len(words) == 1 and words[0].casefold() in self._titles:
            return None
        name = " ".join(words)
        return name if name[0].isupper() else None

    def _has_name(self, sentence: str, shouting: bool) -> bool:
        """Whether a capitalized word other than the first (or a hashtag) looks like a name."""
        if shouting or sentence.islower():  # (no upper-case letter at all)
            return False
        if sentence.isascii():  # the capitalized words alone, by one pattern
            first = _TOKEN.search(sentence)
            for m in _CAPITALIZED.finditer(sentence):
                before = sentence[m.start() - 1 : m.start()]
                if before == "@" or m.group().casefold() in self._stop:
                    continue
                if first is None or m.start() > first.start() or before == "#":
                    return True
            return False
        for n, m in enumerate(_TOKEN.finditer(sentence)):
            word = m.group()
            before = sentence[m.start() - 1 : m.start()]
            if before == "@" or not word[0].isupper() or word.casefold() in self._stop:
                continue
            if n > 0 or before == "#":
                return True
        return False
