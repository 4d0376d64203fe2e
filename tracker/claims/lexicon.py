"""Word lists for claim analysis, and the known actors: data, never code.

Everything the claim analyzer (:mod:`tracker.claims.extract`) looks for in a sentence is listed
here as plain tuples of strings, so that a settings file can replace or extend them for
another language without touching code. :data:`DEFAULT_LEXICON` is English;
:data:`DEFAULT_ACTORS` is a realistic set for Pakistan's security landscape.

Two sorts of list (see :class:`Lexicon` for each field):

- *patterns*: Python regular-expression fragments, matched case-insensitively (on the
  lower-cased sentence) and on word edges: each list is compiled as
  ``(?<!\\w)(?:a|b|...)(?!\\w)``, longest fragment first, so ``likely`` does not fire
  inside ``unlikely``. A fragment holding ``(?-i:...)`` is matched on the sentence as
  written, so that part keeps its case (``(?-i:may)`` is the modal verb, not the month).
  Attribution patterns carry exactly one ``{actor}`` slot where the responsible party's
  name stands: ``{actor} claimed responsibility`` (active: the slot leads) or
  ``claimed by {actor}`` (passive and verb-object: the slot follows the cue).
- *words* (:data:`WORD_FIELDS`): plain words compared case-insensitively, whole.

Actors match by name and aliases, case-insensitively, as whole words: an alias is its
sequence of words, whatever separates them (``Tehrik-i-Taliban`` also matches ``Tehrik i
Taliban``; ``TTP`` matches ``#TTP`` and ``TTP's`` but not ``TTPX``). Aliases listed in
``exact`` match only as written, and not in all-capitals sentences: acronyms that are
also English words (``US``, ``RAW``, ``LeT``).

Mapping shapes (what a TOML file gives)::

    [claims.lexicon]                 # Lexicon.from_mapping: a key replaces that list
    hedges = ["reportedly", "sources\\s+say"]
    hedge_step = 0.4
    [claims.lexicon.extend]          # ... and "extend" adds to a list (after any replacing)
    hedges = ["مبینہ طور پر", "شاید"]

    [[actors]]                       # actors_from_config: one table per actor
    name = "TTP"                     # canonical: what claims and narratives report
    aliases = ["Tehrik-i-Taliban Pakistan", "Pakistani Taliban"]
    exact = []                       # optional: aliases matched only as written
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from tracker.errors import ConfigError

if TYPE_CHECKING:
    from tracker.config.settings import Settings

__all__ = [
    "ACTOR_SLOT",
    "DEFAULT_ACTORS",
    "DEFAULT_LEXICON",
    "EXAMPLE_FIELDS",
    "WORD_FIELDS",
    "Actor",
    "Lexicon",
    "actors_from",
    "actors_from_config",
    "lexicon_from",
]

ACTOR_SLOT = "{actor}"
"""Where the responsible party's name stands in an attribution pattern."""

WORD_FIELDS = frozenset(
    {
        "question_marks", "stop_names", "person_titles", "event_nouns", "generic_names",
        "source_nouns", "identity_words", "identity_aliases",
    }
)
"""Lexicon fields holding plain words (or marks), not patterns."""

EXAMPLE_FIELDS = frozenset(
    {
        "attribution_examples", "casualty_examples", "method_examples", "other_examples",
        "deny_examples", "query_examples", "support_examples", "comment_examples",
    }
)
"""Lexicon fields holding example sentences (plain text, not patterns), labelled by the
field's name: the example reader (:mod:`tracker.claims.examples`) reads by nearness to them."""

# Shared pieces of the default English patterns.
_INCIDENT = (
    r"(?:attacks?|blasts?|bombings?|explosions?|assaults?|killings?|massacres?|incidents?"
    r"|strikes?|ambush(?:es)?|carnage|atrocity|tragedy|violence)"
)
_DET = r"(?:the|this|these|that|today'?s|yesterday'?s|last night'?s|friday'?s|sunday'?s)"
_BE = r"(?:is|are|was|were|be|been|being|'s|'re)"
# Words that may stand between an actor and "behind"/"responsible":
# "TTP is most likely behind", "BLA may have been responsible".
_FILLER = (
    r"(?:\s+(?:is|are|was|were|be|been|may|might|could|must|would|have|has|had|likely|most"
    r"|reportedly|allegedly|probably|possibly|apparently|clearly|definitely|surely|said|to"
    r"|believed|suspected|thought|seen|the|ones?|one|also|again|not|who|say|says|said|they"
    r"|it|claim|claims|claimed|admit|admits|admitted|themselves|itself)){0,4}"
)
_MILITANTS = (
    r"(?:militants?|terrorists?|fighters?|insurgents?|operatives?|suicide\s+bombers?|bombers?"
    r"|gunmen|attackers?|hit\s*men|proxies|proxy|agents?|sleeper\s+cells?|khwarij|khawarij)"
)
# Who did it, in words for the perpetrator.
_PERPETRATOR = (
    r"(?:gunm[ae]n|shooters?|attackers?|assailants?|bombers?|killers?|perpetrators?|suspects?"
    r"|hostage[\s-]?takers?|terrorists?|culprits?|hijackers?|co-?pilot|pilot)"
)
# Who a "where is the suspect" claim is about (tracker.claims.values).
_SUSPECT = (
    r"(?:gunm[ae]n|shooters?|attackers?|assailants?|suspects?|hostage[\s-]?takers?|killers?"
    r"|bombers?|perpetrators?|terrorists?)"
)
_DETAINED = rf"(?:{_SUSPECT}|(?:one\s+|a\s+|the\s+)?(?:man|woman))"
# A count of people, for casualty_counts: digits (not an age, "18-year-old", nor a time),
# number words, and quantity words ("dozens", "all", "no one").
_COUNT = (
    r"(?:\d[\d,]*(?![\d,]*(?:[\w:.-]|\s*(?:years?|yrs?|am|pm|a\.m|p\.m|%|per\s*cent)\b))"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|(?:a\s+|one\s+)?hundred|(?:a\s+)?dozen|dozens|scores|hundreds|thousands"
    r"|several|many|multiple|numerous|both|all|no\s+one|nobody|none|a\s+number\s+of)"
)
# What a count is a count of, when it stands next to it: "12 killed", "killing 12".
_HARMED = (
    r"(?:killed|killing|kills|dead|died|dies|deaths?|injured|injuring|injuries|wounded"
    r"|wounding|hurt|hospitali[sz]ed|martyred|perished|survived|survivors?|casualt(?:y|ies)"
    r"|fatalit(?:y|ies)|lost\s+(?:their|his|her)\s+lives?|lives)"
)
# Qualifiers before a count: "killing at least 12", "toll rises to over 100".
_ABOUT = (
    r"(?:(?:at\s+least|more\s+than|over|nearly|almost|about|around|some|up\s+to|as\s+many"
    r"\s+as|an\s+estimated|approximately|roughly|close\s+to|another|a\s+further)\s+)?"
)
# What militants do when the sentence names them as the ones who did it.
_STRUCK = (
    r"(?:have\s+|had\s+|has\s+)?(?:attacked|stormed|struck|ambushed|opened\s+fire"
    r"|targeted|killed|bombed|blew\s+up|detonated|carried\s+out|launched|raided|abducted"
    r"|kidnapped|were\s+behind|are\s+behind)"
)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The word lists one claim analyzer uses; all tuples of strings but ``hedge_step``.

    Patterns: ``attribution_active`` and ``attribution_passive`` (with an ``{actor}``
    slot; a match makes an attribution and its slot names the actor),
    ``attribution_cues`` (an attribution without a named slot: "claimed responsibility",
    "who is behind"), ``negations`` (no or denied attribution: "no group has claimed",
    "denied involvement"), ``negation_reversers`` (words just before a negation that undo
    it: "have *not* ruled out"), ``hedges`` (each one found adds ``hedge_step`` to the
    hedge score, capped at 1), ``official_voice`` ("police confirmed"),
    ``casualty_cues`` (with ``casualty_counts``: a count or a toll), ``method_cues``,
    ``chatter`` (marks a sentence with no stronger signal as not check-worthy: "praying
    for the victims").

    Words: ``question_marks`` (a sentence holding one counts one hedge), ``stop_names``
    (trimmed off a name in an actor slot), ``person_titles`` (a name after one is a
    person), ``event_nouns`` (a name before one is an event), ``generic_names`` (a name
    made only of these and stop names is no actor), ``source_nouns`` (a name before one is
    a source or place, for names found away from an attribution slot), ``identity_words``
    (identities an attribution slot takes in lower case too: "a jihadist").

    Authority: ``authorities`` (who a claim can be on the word of) and ``authority_verbs``
    (what they do: "confirmed", "said"); see ``authorities``.

    Stance of a reply (patterns): ``deny_cues``, ``query_cues``, ``support_cues``.

    Examples (:data:`EXAMPLE_FIELDS`, plain sentences, not patterns): ``*_examples``,
    labelled by the field name's first word, for the example reader (claim kinds:
    attribution, casualty, method, and other: talk that a claim nearest to it stays
    ``other`` for; stance: deny, query, support, comment).

    Values a claim gives to a question (:mod:`tracker.claims.values`; patterns unless said):
    ``value_triggers`` (plain lower-case word pieces: a sentence with none is not read),
    ``value_number_words`` (``PATTERN=NUMBER``: "two=2", "hundred=100"), the
    qualifiers ``value_at_least``, ``value_more_than``, ``value_up_to``, ``value_nearly``,
    ``value_about``, what makes a number no count (``value_units`` after it,
    ``value_not_after`` before it), ``value_fillers`` (words allowed between a number and
    its cue), ``value_people_nouns``, the cues ``value_dead_cues``, ``value_injured_cues``,
    ``value_aboard_cues``, ``value_passenger_nouns``, ``value_crew_nouns``,
    ``value_no_survivors``, ``value_attacker_nouns``, ``value_one_attacker``,
    ``value_several_attackers``, ``value_negations``, and the suspect's state:
    ``value_at_large``, ``value_arrested``, ``value_suspect_dead``; where attacks took
    place: ``value_place_events`` and ``value_place_prepositions``.
    """

    attribution_active: tuple[str, ...] = (
        # One pattern for every verb after "X (is most likely / say they / ...)": one
        # filler to try per name is several times faster than one per verb.
        rf"{{actor}}{_FILLER}\s+(?:(?:claimed|claims|claim|claiming)"
        rf"(?:\s+(?:the\s+)?(?:responsibility|credit|{_INCIDENT}))?"
        r"|(?:owned|owns|accepted|accepts|took|takes|taken|assumed)\s+(?:the\s+)?responsibility"
        r"|behind|responsible|involved|(?:carried|carries|carry|carrying)\s+out"
        r"|attacked|struck|bombed|targeted|stormed|ambushed|executed|perpetrated|orchestrated"
        r"|masterminded|plotted|denied|denies|deny|rejected|rejects|distanced)",
        r"{actor}\s*-\s*(?:backed|sponsored|funded|supported|trained|affiliated|linked"
        r"|allied|inspired|aligned|based)",
        rf"{{actor}}\s+{_MILITANTS}\s+{_STRUCK}",
        # "Jundallah, a little-known group, said it carried out the attack"
        rf"{{actor}}\s*,[^,;]{{1,60}},{_FILLER}\s+(?:claimed|claims|denied|denies|carried\s+out"
        r"|(?:said|says|claimed)\s+(?:it|they)\s+(?:had\s+|has\s+|have\s+)?(?:carried\s+out"
        r"|was\s+behind|were\s+behind|conducted))",
        r"{actor}\s+(?:say|says|said|claim|claims|claimed|admit|admits|admitted)\s+(?:that\s+)?"
        r"(?:its|their)\s+\w+\s+(?:had\s+|have\s+|has\s+)?(?:carried\s+out|conducted"
        r"|attacked|struck|bombed|targeted)",
        # Who the perpetrator is: "Muslim convert", "X identified as the attacker", "ISIS
        # is lauding him", "Everyone knows X did this".
        r"{actor}\s+converts?",
        r"{actor}\s+(?:(?:has|have|had)\s+been\s+|was\s+|were\s+|is\s+|are\s+)?(?:named|identified)"
        rf"\s+as\s+(?:the\s+|an?\s+|one\s+of\s+the\s+)?(?:[\w-]+\s+)?{_PERPETRATOR}",
        r"{actor}\s+(?:is\s+|are\s+|has\s+been\s+|have\s+been\s+)?(?:lauding|lauded|praising"
        r"|praised|praises|praise|hails|hail|hailing|hailed|celebrating|celebrated|glorifying"
        r"|glorified)\s+(?:him|her|them|(?:their|its|a|as\s+a)\s+(?:hero|martyr|soldier)"
        rf"|the\s+(?:attacks?|{_PERPETRATOR}))",
        r"{actor}\s+(?:did|done|do)\s+(?:this|it|that)",
    )
    attribution_passive: tuple[str, ...] = (
        r"(?:carried\s+out|conducted|committed|perpetrated|executed|orchestrated|masterminded"
        r"|planned|plotted|engineered|sponsored|backed|funded|financed|claimed"
        r"|directed|organi[sz]ed|attacked|targeted|killed|ambushed|bombed)\s+by\s+{actor}",
        rf"(?:an?\s+)?{_INCIDENT}\s+by\s+{{actor}}",
        r"responsibility\s+(?:for\s+[^,;.]{1,60}?\s+)?(?:was|has\s+been|had\s+been|is)"
        r"\s+(?:claimed|owned|accepted)\s+by\s+{actor}",
        rf"behind\s+{_DET}(?:\s+\w+)?\s+{_INCIDENT}\s+{_BE}\s+{{actor}}",
        r"(?:blamed|blames|blame|blaming)\s+(?:on\s+)?{actor}",
        r"(?:linked|links|link|tied|ties|traced|traces|connected|connects)"
        r"\s+(?:[^,;.]{1,40}?\s+)?(?:to|with)\s+{actor}",
        r"(?:the\s+)?(?:work|handiwork|hand|doing)\s+of\s+{actor}",
        r"(?:suspected|suspects?|suspecting|accused|accuses|accusing)\s+{actor}",
        rf"suspected\s+{{actor}}\s+{_MILITANTS}",
        r"(?:attributed|attributes|attributing)\s+(?:[^,;.]{1,40}?\s+)?to\s+{actor}",
        r"(?:responsibility|credit)\s+(?:for\s+[^,;.]{1,60}?\s+)?(?:lies|rests)\s+with\s+{actor}",
        r"hallmarks?\s+of\s+{actor}",
        r"(?:fingers?|blame)\s+(?:is\s+|are\s+)?(?:point|points|pointed|pointing)\s+(?:at|to)\s+{actor}",
        # Who the perpetrator is, what they are affiliated with.
        rf"{_PERPETRATOR}\s+(?:(?:has|have|had)\s+been\s+|was\s+|is\s+)?(?:named|identified)\s+as"
        r"\s+{actor}",
        r"(?:convert|converted|converts|conversion)\s+to\s+{actor}",
        r"(?:hero|martyr|soldier|soldiers|member|members|supporter|supporters|sympathi[sz]ers?"
        r"|followers?|fighters?|operatives?|agents?|affiliates?)\s+of\s+{actor}",
        r"(?:pledged|pledging|pledges|swore|sworn)\s+(?:his\s+|her\s+|their\s+)?(?:allegiance"
        r"|loyalty)\s+to\s+{actor}",
        r"(?:hailed|praised|lauded|celebrated|glorified)\s+(?:[\w-]+\s+){0,3}?by\s+{actor}",
        r"(?:inspired|radicali[sz]ed|recruited|trained|directed|sent|dispatched)\s+by\s+{actor}",
        # ... with the perpetrator's name between: "copilot #Lubitz was Muslim"
        rf"{_PERPETRATOR}(?:\s+#?(?-i:[A-Z])[\w-]+){{0,2}}\s+(?:was|is|had\s+been|has\s+been)"
        r"\s+(?:an?\s+|the\s+)?(?:(?:known|"
        r"self-styled|self-proclaimed|radical|radicali[sz]ed|devout|suspected|committed"
        r"|practicing|practising)\s+)?{actor}",
        # Official findings: "preliminary findings show X was behind it".
        r"(?:findings|investigation|inquiry|probe|evidence|investigators)\s+(?:\w+\s+)?(?:shows?"
        r"|showed|shown|suggests?|suggested|indicates?|indicated|reveals?|revealed|points?\s+to"
        r"|pointed\s+to|found|finds|confirms?|confirmed|establishe[sd])\s+(?:that\s+)?{actor}",
    )
    attribution_cues: tuple[str, ...] = (
        r"(?:claimed|claims|claim|claiming|owned|accepted|took|takes)\s+(?:the\s+)?"
        r"(?:responsibility|credit)",
        r"responsibility\s+for",
        rf"(?:claimed|claims|claiming)\s+{_DET}\s+{_INCIDENT}",
        r"hallmarks?\s+of",
        r"(?:soil|territory)\s+(?:is\s+|was\s+|being\s+|has\s+been\s+|had\s+been\s+)*used",
        r"(?:could|may|might|must|is|are|was|were)\s+(?:be\s+|have\s+been\s+|been\s+)?involved",
        rf"(?:they|we|who)\s+(?:had\s+|have\s+|has\s+)?(?:carried|carries|carry)\s+out\s+{_DET}"
        rf"(?:\s+[\w-]+){{0,3}}?\s+{_INCIDENT}",
        r"(?:said|says|say|claimed|claims|admitted)\s+(?:that\s+)?(?:it|they)\s+(?:had\s+|has\s+"
        rf"|have\s+)?(?:(?:carried\s+out|conducted)\s+{_DET}(?:\s+[\w-]+){{0,3}}?\s+{_INCIDENT}"
        r"|was\s+behind|were\s+behind)",
        rf"(?:{_BE}|held)\s+responsible",
        rf"who(?:'s|\s+{_BE}|\s+could\s+be|\s+might\s+be|\s+may\s+be)?\s+behind",
        rf"behind\s+{_DET}(?:\s+\w+)?\s+{_INCIDENT}",
        r"blam(?:e|ed|es|ing)",
        r"carried\s+out\s+by",
        r"claimed\s+by",
        r"perpetrat\w*",
        r"orchestrat\w*",
        r"mastermind\w*",
        r"(?:state|foreign|externally)[\s-]*(?:sponsored|backed|funded)",
        r"[^\W\d_]+-(?:backed|sponsored|funded)",
        r"(?:backed|sponsored|funded|financed)\s+by",
        r"involvement",
        r"(?:foreign|external|hidden|enemy|invisible)\s+hands?",
        r"nexus",
        r"prox(?:y|ies)",
        r"(?:linked|tied)\s+(?:to|with)\s+(?:the\s+)?(?:group|outfit|organi[sz]ation|network)",
        r"the\s+(?:work|handiwork)\s+of",
        r"attribut(?:ed|es|ing|ion)",
        r"culprits?",
        r"did\s+(?:this|it|that)",
        r"(?:fingers?|blame)\s+(?:is\s+|are\s+)?(?:point|points|pointed|pointing)",
        r"point(?:s|ed|ing)?\s+(?:the\s+)?fingers?",
        rf"{_BE}\s+(?:\w+\s+)?behind\s+(?:it|this|that|the)",
        r"convert(?:ed|s)?\s+to\s+islam",
        # "co-pilot was a fresh convert": who the perpetrator is, the faith left unsaid
        rf"{_PERPETRATOR}(?:\s+#?(?-i:[A-Z])[\w-]+){{0,2}}\s+(?:was|is|had\s+been|has\s+been)"
        r"\s+an?\s+(?:[\w-]+\s+)?convert\b",
        r"pledged\s+(?:allegiance|loyalty)",
        rf"(?:identity|identities)\s+of\s+(?:the\s+)?{_PERPETRATOR}",
        r"(?:preliminary\s+)?(?:findings|investigation|inquiry|probe)\s+(?:\w+\s+)?(?:links?|linked"
        r"|ties|tied|traces|traced)",
    )
    negations: tuple[str, ...] = (
        r"no\s+(?:group|one|organi[sz]ation|outfit|faction|militant\s+group|party|body)"
        r"(?:\s+(?:has|have|had|yet|so\s+far|immediately))*\s+(?:yet\s+)?claimed",
        r"nobody\s+(?:has\s+|had\s+)?(?:yet\s+)?claimed",
        r"no\s+(?:immediate\s+)?(?:claim|claims)\s+of\s+responsibility",
        r"(?:not|\w*n't)\s+(?:yet\s+)?(?:been\s+)?claimed",
        r"(?:not|\w*n't)\s+(?:yet\s+)?(?:been\s+)?attributed",
        r"(?:not|\w*n't)\s+(?:yet\s+)?(?:been\s+)?(?:established|determined|identified)\s+who",
        r"unclaimed",
        r"(?:too\s+early|premature|too\s+soon)\s+to\s+(?:say|tell|determine|blame|attribute"
        r"|speculate|point\s+fingers)",
        r"ruled\s+out",
        r"rules?\s+out",
        r"den(?:y|ies|ied|ying)\s+(?:any\s+)?(?:involvement|role|responsibility|hand|links?"
        r"|connection|part)",
        r"(?:not|never)\s+(?:been\s+)?involved",
        rf"{_BE}\s+not\s+(?:behind|responsible)",
        r"(?:isn't|wasn't|aren't|weren't)\s+(?:behind|responsible)",
        r"(?:had|has|have)\s+nothing\s+to\s+do\s+with",
        r"distanced\s+(?:itself|themselves|himself)",
        r"(?:rejected|rejects|dismissed|dismisses)\s+(?:the\s+)?(?:claims?|allegations?"
        r"|accusations?|reports?)",
        r"baseless\s+(?:allegations?|claims?|accusations?)",
    )
    negation_reversers: tuple[str, ...] = (
        r"not",
        r"never",
        r"cannot",
        r"yet\s+to",
        r"\w+n't",
        r"(?:can|don|won|didn|hasn|haven|hadn|isn|wasn|aren|weren|couldn|shouldn|wouldn)t",
    )
    """Words that, one or two words before a negation, undo it: "have not ruled out"."""
    hedges: tuple[str, ...] = (
        r"reportedly",
        r"(?:unconfirmed|unverified)(?:\s+reports?)?",
        r"(?:according\s+to|per)\s+(?:unnamed|unidentified|anonymous|some)\s+\w+",
        r"(?:unnamed|unidentified|anonymous)\s+(?:sources?|officials?|people)",
        r"on\s+(?:the\s+)?condition\s+of\s+anonymity",
        r"sources?\s+(?:say|said|says|claim|claimed|told|suggest|suggested|indicate|close)",
        r"(?:media\s+)?reports?\s+(?:say|said|suggest|suggested|claim|indicate)",
        r"according\s+to\s+(?:media\s+)?reports",
        r"(?:it\s+is|it's|it\s+was)\s+(?:believed|thought|feared|suspected|understood|said)",
        r"(?:is|are|was|were)\s+(?:believed|thought|said|feared|understood)\s+to",
        r"(?:yet\s+to\s+be|not\s+yet|could\s+not\s+be|cannot\s+be|can't\s+be)\s+"
        r"(?:independently\s+)?(?:confirmed|verified)",
        r"allegedly",
        r"alleged",
        r"suspected",
        r"(?:most\s+)?likely",
        r"probably",
        r"possibly",
        r"perhaps",
        r"maybe",
        r"apparently",
        r"seemingly",
        r"(?-i:may|might|could)(?:\s+have)?",
        r"rumou?r(?:s|ed)?",
        r"speculat(?:ion|ions|ed|ing|e)",
        r"(?:we\s+are|i\s+am|i'm|we're)\s+hearing",
        r"hearing\s+that",
        r"word\s+is",
        r"(?:some|people)\s+(?:are\s+)?say(?:ing)?",
        r"i\s+(?:think|guess|suspect|believe)",
        r"if\s+true",
        r"unclear",
        r"not\s+(?:been\s+)?(?:officially\s+)?confirmed",
        r"looks?\s+like",
        r"(?:i'm|i\s+am)\s+thinking",
        r"i\s+would\s+(?:think|guess|say)",
        r"seems?\s+(?:to|like)",
        r"(?:it|that)\s+seems",
        r"appears?\s+to",
        # Hedged reporting: "reports of a second gunman", "Report: ...", "believed to be".
        r"(?<!confirm\s)(?<!confirms\s)(?<!confirmed\s)(?<!deny\s)(?<!denied\s)reports?\s+of",
        r"reports?\s*:",
        # Another outlet cited after a colon: "... had a depressive episode: Bild newspaper".
        r"(?<=[:\u2013-])\s*(?:the\s+)?(?:\S+\s+){0,2}(?:newspaper|tabloid|magazine)\s*[.!]?\s*$",
        r"claims?\s*:",
        r"unconfirmed",
        r"unverified",
        r"believed",
        r"appears?",
        r"appeared\s+to",
        r"feared",
        r"fears?\s+(?:of|that)",
        r"(?-i:Could|Might)(?:\s+have)?",
        r"possible",
        r"presumably",
        r"supposedly",
        r"purportedly",
        r"(?:are|is|were|was)\s+said\s+to",
        r"(?:believes?|suspects?|thinks?|fears?)\s+(?:that\s+)?(?:the|he|she|it|they|a|an|this)\s",
        # Claims by someone who is no authority: "a website claims", "friends say", "via @x".
        r"(?:website|site|newspaper|paper|tabloid|magazine|report|reports|media|outlet|witness"
        r"|witnesses|people|users?|someone|he|she|they|it|account|video|footage|group)\s+"
        r"(?:claims?|claimed|claiming)(?!\s+(?:the\s+)?(?:responsibility|credit))",
        r"claims?\s+(?:that|to\s+have|to\s+be)",
        r"(?:newspaper|tabloid|website|web\s*site|magazine|daily|outlet|broadcaster|news\s+site"
        r"|news\s+agency|tv|channel)(?:\s+[\w'’.-]+){0,3}?\s+(?:says?|said|reports?|reported"
        r"|claims?|claimed|writes|wrote|quoted|quotes|cites|cited)",
        r"according\s+to\s+(?:the\s+|a\s+|an\s+)?(?:[\w'’.-]+\s+){0,3}?(?:newspaper|tabloid|paper"
        r"|website|site|magazine|daily|media|outlet|friends?|neighbou?rs?|relatives|family|witness"
        r"|witnesses|eyewitness(?:es)?|reports?|sources?|tweets?|posts?|rumou?rs?)",
        r"(?:friends?|neighbou?rs?|relatives|family\s+members?|family|witness|witnesses"
        r"|eyewitness(?:es)?|classmates?|acquaintances?|locals|residents|colleagues|passengers?)"
        r"\s+(?:say|says|said|told|claim|claims|claimed|described|recall|recalled)",
        r"via\s+@\w+",
    )
    question_marks: tuple[str, ...] = ("?", "؟")
    """Plain strings, not patterns: a sentence containing one is a question, one hedge."""
    hedge_step: float = 0.4
    """Hedge score added per hedge found, capped at 1.0."""
    official_voice: tuple[str, ...] = (
        r"(?:the\s+)?(?:police|CTD|ISPR|officials?|authorities|(?:interior|foreign|home"
        r"|information)\s+minist(?:er|ry)|ministry|spokes(?:person|man|woman)|military|army"
        r"|government|(?:deputy\s+)?commissioner|DPO|SSP|DIG|IGP|inspector\s+general"
        r"|Rescue\s*1122|rescue\s+officials|hospital\s+officials|Frontier\s+Corps"
        r"|bomb\s+disposal\s+squad|BDS|prime\s+minister|chief\s+minister|foreign\s+office|FO)"
        r"(?:\s+[\w'’.-]+){0,3}?\s+(?:has\s+|have\s+|had\s+)?(?:confirmed|confirms|said|says"
        r"|stated|states|announced|announces|told|added|clarified|declared|identified"
        r"|reported|maintained|informed)",
        r"(?:according\s+to|confirmed\s+by|said\s+by)\s+(?:the\s+)?(?:police|CTD|ISPR"
        r"|officials|authorities|(?:interior|foreign)\s+ministry|ministry|military|army"
        r"|government|(?:deputy\s+)?commissioner|rescue\s+officials|hospital\s+officials"
        r"|foreign\s+office)",
        r"(?:ISPR|CTD|police|ministry|government|military|official)\s+(?:statement|press"
        r"\s+release|spokes(?:person|man))",
        r"in\s+an?\s+(?:official\s+)?statement",
    )
    authorities: tuple[str, ...] = (
        r"police",
        r"(?:public\s+)?prosecutors?",
        r"prosecutor'?s\s+office",
        r"CTD",
        r"ISPR",
        r"(?:interior|foreign|home|information|defen[cs]e|transport)\s+minist(?:ry|er)",
        r"ministry",
        r"(?:prime\s+)?minister",
        r"president",
        r"chief\s+minister",
        r"officials",
        r"authorities",
        r"government",
        r"military",
        r"army",
        r"spokes(?:person|man|woman)",
        r"investigators",
        r"(?:deputy\s+)?commissioner",
        r"(?:DPO|SSP|DIG|IGP|FBI|DHS|BEA|NTSB|interpol|europol)",
        r"inspector\s+general",
        r"rescue\s*1122",
        r"(?:rescue|hospital)\s+officials",
        r"frontier\s+corps",
        r"bomb\s+disposal\s+squad",
        r"foreign\s+office",
        r"mayor",
        r"sheriff",
        r"police\s+(?:commissioner|chief)",
        r"coroner",
    )
    """Authorities a claim can be stated on the word of: the matched words, lower-cased,
    become the claim's ``authority`` ("police", "interior ministry", "ctd"). One counts
    when it speaks (``authority_verbs`` within a few words after it: "police confirm",
    "French President says"), is cited ("according to police", "confirmed by the CTD")
    or heads the sentence ("Police: ...", "CTD: ...")."""
    authority_verbs: tuple[str, ...] = (
        r"(?:has\s+|have\s+|had\s+)?(?:confirm|confirms|confirmed|confirming|say|says|said"
        r"|stated|states|announce|announces|announced|told|tell|tells|added|clarified|declared"
        r"|identified|identify|identifies|named|revealed|reveal|reveals|reported|maintained"
        r"|informed|insist|insists|insisted|establish|established|found|verified|link|links"
        r"|linked|blame|blamed|blames)",
    )
    """What an authority does when a claim is on its word (see ``authorities``)."""
    casualty_cues: tuple[str, ...] = (
        r"killed",
        r"killing",
        r"kills",
        r"dead",
        r"deaths?",
        r"death\s+toll",
        r"toll",
        r"died",
        r"dies",
        r"injured",
        r"injuries",
        r"wounded",
        r"hurt",
        r"martyred",
        r"martyrdom",
        r"shaheed",
        r"embraced\s+shahadat",
        r"casualt(?:y|ies)",
        r"fatalit(?:y|ies)",
        r"bodies",
        r"lost\s+(?:their|his|her)\s+lives",
        r"(?:claimed|took|claiming|taking)\s+(?:at\s+least\s+|over\s+|more\s+than\s+)?"
        r"[\w-]+\s+lives",
        r"survivors?",
        r"survived",
        r"hospitali[sz]ed",
        r"(?:dozens|scores|hundreds)\s+(?:of\s+)?(?:people|civilians|soldiers|policemen)?",
    )
    casualty_counts: tuple[str, ...] = (
        # A count next to a casualty cue: "12 killed", "three police officers were
        # among the dead", "killing all 150", "no one was killed", "dozens dead".
        rf"{_COUNT}(?:\s+(?!who\b|that\b|which\b)[\w'’-]+){{0,5}}?\s+{_HARMED}",
        rf"(?:killed|killing|kills|kill|killed\s+off|injuring|wounding|claimed|claiming|took"
        rf"|taking|left|leaving)\s+{_ABOUT}{_COUNT}(?!\s+(?:of\s+)?(?:them|us|you|times))",
        rf"(?:dead|killed|injured|wounded|deaths|casualties|fatalities|victims)\s*:\s*{_ABOUT}"
        rf"{_COUNT}",
        # A plural of victims is a count: "Charb & Cabu are dead", "hostages were killed".
        r"(?:are|were|'re|have\s+been)\s+(?:(?:all|both|now|reportedly|confirmed|feared"
        r"|believed|thought|presumed|among\s+those)\s+)?(?:dead|killed|injured|wounded|hurt"
        r"|murdered|shot\s+dead)",
        # A toll, with or without its figure: "death toll rises", "no survivors".
        r"(?:death|casualty|body)\s+(?:toll|count)",
        r"toll\s+(?:\w+\s+){0,3}?(?:rises|rose|risen|climbs|climbed|stands|stood|reaches"
        r"|reached|hits|jumps|jumped|increases|increased|is|at|of|now)",
        r"(?:no|zero|any|heavy|mass|multiple|several|many|civilian|further)\s+(?:deaths"
        r"|casualties|fatalities|injuries|survivors|dead)",
        r"casualties", r"fatalities", r"no\s+survivors?", r"(?:none|nobody|no\s+one)\s+"
        r"(?:(?:on\s+board|aboard)\s+)?(?:has\s+|had\s+)?survived",
        r"among\s+the\s+(?:dead|killed|injured|wounded|victims|casualties)",
        r"bodies", r"(?:lives|people)\s+(?:were\s+|have\s+been\s+)?lost",
        r"lost\s+their\s+lives", r"mass\s+(?:killing|murder|shooting|casualty)",
    )
    """A casualty cue makes a sentence a casualty claim (how many died or were hurt) only
    with one of these in it, or with a dead, injured or aboard count the value reader
    reads: "so they killed him", "a cop who killed someone", "the killing of an unarmed
    teen" describe a death or judge it and are kind ``other`` (``method`` with a method
    cue). An empty list asks for no count."""
    method_cues: tuple[str, ...] = (
        r"suicide\s+(?:bomb(?:er|ers|ing|ings)?|attack(?:er|ers|s)?|vest|blast|squad)",
        r"suicide",
        r"IEDs?",
        r"VBIEDs?",
        r"improvised\s+explosive(?:\s+devices?)?",
        r"explosives?",
        r"(?:car|truck|motorcycle|bicycle|vehicle|roadside)\s+bomb(?:s|ing)?",
        r"vehicle[\s-]borne",
        r"bomb(?:s|ing|ings|ed)?",
        r"remote[\s-]control(?:led)?",
        r"timed\s+device",
        r"detonat(?:e|ed|es|ing|ion|or|ors)",
        r"drones?",
        r"quadcopters?",
        r"rockets?",
        r"mortars?",
        r"(?:hand\s+)?grenades?",
        r"RPGs?",
        r"missiles?",
        r"air\s*strikes?",
        r"shelling",
        r"gun(?:men|man|fire|shots?|point)",
        r"shooting",
        r"firing",
        r"sniper",
        r"ambush(?:ed)?",
        r"landmines?",
        r"mines?",
        r"stabb(?:ed|ing)",
        r"hostages?",
        r"hijack(?:ed|ing|ers?)?",
        r"(?:ball\s+)?bearings",
        r"(?:kg|kilograms?)\s+of",
    )
    chatter: tuple[str, ...] = (
        r"pray(?:ing|ers|s)?\s+for",
        r"(?:thoughts|hearts?|prayers)\s+(?:and\s+prayers\s+)?(?:are\s+|go\s+out\s+)?(?:with|to)",
        r"RIP",
        r"R\.I\.P",
        r"rest\s+in\s+peace",
        r"omg",
        r"oh\s+my\s+god",
        r"so\s+sad",
        r"very\s+sad",
        r"heart\s*breaking",
        r"heart\s*broken",
        r"condolences",
        r"may\s+(?:allah|god)",
        r"inna\s+lillahi",
        r"ameen",
        r"amen",
        r"stay\s+safe",
        r"(?:lol|lmao|wtf|smh)",
        r"shame\s+on",
        r"sad\s+(?:day|news)",
        r"(?:thoughts|prayers|sympathies|hearts?)\s+(?:\w+\s+){0,3}?(?:with|to)\s+(?:the|all|those"
        r"|everyone|his|her|their|families|family|victims|loved)",
        r"sympathies",
        r"#?prayfor\w*",
        r"#?jesuis\w*",
        r"(?:i'm|i\s+am|we're|we\s+are|i\s+was|so|absolutely|truly|deeply|just|utterly|feeling)"
        r"\s+(?:horrified|shocked|saddened|appalled|devastated|sickened|gutted|heartbroken"
        r"|speechless|disgusted|numb|sad|sorry)",
        r"(?:horrified|saddened|appalled|sickened|shocked)\s+(?:at|by|to\s+(?:hear|learn|see))",
        r"(?:idiots?|morons?|stupid|scum|bastards?|pathetic|disgusting|disgrace(?:ful)?|shut\s+up"
        r"|f+u+c+k\w*|wtf|stfu|clowns?|retard\w*|shameful|go\s+to\s+hell)",
        r"god\s+bless",
        r"(?:so\s+)?(?:sad|terrible|awful|tragic)\s*[.!]*$",
    )
    stop_names: tuple[str, ...] = (
        # Plain words, compared case-insensitively, trimmed from the edges of a name found
        # in an attribution slot: "The Jundallah" -> "Jundallah", "Police" -> nothing.
        "a", "an", "the", "this", "that", "these", "those", "it", "its", "he", "she", "they",
        "them", "we", "us", "i", "you", "who", "what", "which", "whom", "whose", "why", "how",
        "when", "where", "some", "many", "most", "several", "all", "any", "no", "none", "nobody",
        "someone", "everyone", "everybody", "and", "or", "but", "if", "so", "not", "is", "are",
        "was", "were", "be", "been", "has", "have", "had", "did", "does", "do", "to", "of", "in",
        "on", "at", "for", "by", "with", "from", "as", "also", "just", "now", "new", "say", "says",
        "said", "saying", "confirm", "confirms", "confirmed", "report", "reports", "reported",
        "claim", "claims", "claimed", "suspect", "suspects", "suspected", "believe", "believed",
        "blame", "blamed", "police", "policeman", "policemen", "official", "officials", "source",
        "sources", "authorities", "authority", "government", "govt", "ministry", "minister",
        "spokesman", "spokesperson", "ctd", "ispr", "pm", "president", "chief", "breaking",
        "update", "updates", "news", "media", "reuters", "ap", "afp", "bbc", "cnn", "dawn", "geo",
        "express", "tribune", "alert", "watch", "video", "photos", "live", "attack", "attacks",
        "blast", "blasts", "bombing", "bombings", "explosion", "explosions", "incident", "god",
        "allah", "lord", "mr", "mrs", "ms", "dr", "sir", "monday", "tuesday", "wednesday",
        "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tonight", "january",
        "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "dec", "responsibility", "credit", "anyone", "anybody", "somebody",
        "witnesses", "eyewitnesses", "residents", "locals", "investigators", "investigation",
        "experts", "analysts", "observers", "critics", "journalists", "others", "everybody",
        "initial", "preliminary", "earlier", "later", "meanwhile", "however", "parliament",
        "congress", "senate", "public", "crew", "staff", "everyone", "knows", "maybe", "probably",
        "fingers", "report", "reportedly", "unconfirmed", "rumours", "rumors", "via", "rt", "mt",
        "omg", "wow", "yes", "no", "please", "why", "lol", "wtf",
    )
    person_titles: tuple[str, ...] = (
        # Plain words, compared case-insensitively: a capitalized name right after one of
        # these is a person ("spokesman Muhammad Khurasani denied"), not a candidate actor.
        "spokesman", "spokesperson", "spokeswoman", "commander", "chief", "leader", "head",
        "minister", "officer", "official", "mr", "mrs", "ms", "dr", "maulana", "mufti", "mullah",
        "emir", "amir", "general", "gen", "colonel", "col", "major", "maj", "captain", "capt",
        "president", "premier", "senator", "journalist", "reporter", "analyst",
    )
    event_nouns: tuple[str, ...] = (
        # Plain words, compared case-insensitively: a name followed by (or ending in) one
        # of these names an event, not an actor ("linked to the Nushki blast").
        "attack", "attacks", "blast", "blasts", "bombing", "bombings", "explosion",
        "explosions", "incident", "massacre", "carnage", "tragedy", "assault", "ambush",
        "strike", "strikes", "shooting", "killings", "operation", "case", "probe",
        "crash", "siege", "shootings", "hostage", "raid", "plane", "flight",
    )
    source_nouns: tuple[str, ...] = (
        # Plain words, compared case-insensitively: a name right before one of these is a
        # source or a place, not an actor ("Bild newspaper", "Sydney cafe"). Used for names
        # found anywhere in a sentence with a responsibility cue.
        "newspaper", "paper", "website", "site", "tabloid", "magazine", "daily", "news", "tv",
        "radio", "channel", "agency", "reports", "report", "police", "prosecutor", "prosecutors",
        "airport", "airline", "airlines", "station", "city", "street", "square", "cafe", "café",
        "mosque", "church", "school", "university", "hospital", "market", "bazaar", "road",
        "times", "post", "online", "says", "said", "reported", "officials", "authorities",
        "ministry", "government", "minister", "president", "media", "flight", "crash",
    )
    identity_words: tuple[str, ...] = (
        # Plain words, compared case-insensitively: an identity that a sentence may give the
        # perpetrator in an attribution slot even in lower case ("the shooter was a
        # jihadist"); read as the candidate, capitalized ("Jihadist"). A plural "s" is
        # allowed after each.
        "jihadist", "islamist", "salafist", "muslim", "islam", "extremist", "neo-nazi",
        "white supremacist", "separatist", "anarchist",
    )
    identity_aliases: tuple[str, ...] = (
        # "word=identity": identity words that name the same identity as another, so
        # that "a Muslim convert" and "a convert to Islam" are one story.
        "muslim=islam",
    )
    # -- a reply's stance toward what it answers (tracker.claims.stance) ---------------------
    deny_cues: tuple[str, ...] = (
        r"fake",
        r"(?:not|isn't|wasn't|aren't|weren't|ain't)\s+(?:\w+\s+)?(?:true|real|correct|accurate|the\s+case)",
        r"untrue",
        r"false(?:ly|hood)?",
        r"hoax(?:es)?",
        r"debunk(?:ed|s|ing)?",
        r"lie|lies|lying|liars?|lied",
        r"no\s*,?\s+(?:he|she|they|it|that|this|there)\s+(?:wasn't|isn't|didn't|weren't|aren't"
        r"|was\s+not|is\s+not|did\s+not|were\s+not|are\s+not|hasn't|haven't)",
        r"stop\s+(?:spreading|sharing|posting|tweeting|reporting)",
        r"(?:wrong|incorrect|inaccurate|misleading|misinformation|disinformation|bullshit|bs|nonsense"
        r"|rubbish)",
        r"not\s+(?:an?\s+)?(?:isis|is|jihad\w*)\s+flags?",
        r"(?:never|didn't|did\s+not|doesn't|does\s+not)\s+(?:happen(?:ed)?|say|said|exist)",
        r"(?:no|zero)\s+(?:evidence|proof)",
        r"(?:been\s+)?(?:denied|retracted|corrected)",
        r"get\s+(?:your|ur)\s+facts",
        r"check\s+(?:your|ur)\s+facts",
        r"(?:that|this|it)'?s?\s+(?:is\s+)?not\s+what\s+happened",
        r"not\s+confirmed",
        r"unconfirmed",
        r"(?:jumping|jump)\s+to\s+conclusions",
        r"irresponsible",
        r"made\s+up",
        r"fabricat(?:ed|ion|ions|ing)",
        r"(?:did\s+not|didn't|never)\s+(?:occur|take\s+place)",
        r"(?:garbage|rubbish|trash)\s+(?:reporting|journalism|story|news)",
    )
    """A reply saying that what it answers is false ("fake", "not true", "stop spreading")."""
    query_cues: tuple[str, ...] = (
        r"(?:is|was|are|were)\s+(?:this|that|it|these|he|she|they)\s+(?:\w+\s+)?(?:true|real"
        r"|confirmed|correct|accurate|verified|legit)",
        r"(?:source|sources|proof|evidence|link|citation)\s*\?",
        r"(?:confirmed|really|true|sure|seriously|verified|legit|official)\s*\?",
        r"(?:any|what(?:'s|\s+is)\s+(?:your|the))\s+(?:source|sources|proof|evidence|confirmation)",
        r"(?:where|how)\s+(?:did\s+)?(?:you|u)\s+(?:get|hear|read|see|find)",
        r"(?:can|could)\s+(?:you|u|anyone|someone)\s+(?:confirm|verify|prove|back|source|explain)",
        r"(?:who|which)\s+(?:says?|said|confirmed|reported)",
        r"(?:has|have)\s+(?:this|that|it|they|police|anyone)\s+(?:\w+\s+)?(?:been\s+)?"
        r"(?:confirmed|verified|proven)",
        r"(?:do|does|did)\s+(?:you|we|they|anyone)\s+know\s+(?:if|whether|who|why|what|how)",
        r"(?:is\s+)?(?:there|it)\s+(?:any|a)\s+(?:confirmation|proof|evidence)",
        r"what\s+(?:happened|is\s+going\s+on)",
        r"(?:why|how|what|who|when|where)\s+(?:did|does|do|is|are|was|were|would|has|have|can)"
        r"\s+[^.!?]{0,60}\?",
        r"(?:wait|hold\s+on)\s*,?\s*(?:what|so|is)",
        r"i\s+thought\s+[^.!?]{0,60}\?",
        r"(?:able\s+to|can\s+anyone|anyone)\s+(?:verify|confirm)",
        r"who\s+told\s+(?:you|u)",
        r"(?:i\s+)?wonder\s+(?:if|whether)",
    )
    """A reply asking whether it is true, or for evidence ("is this true?", "source?")."""
    support_cues: tuple[str, ...] = (
        r"(?:yes|yep|yeah|indeed|exactly|absolutely|correct|true|right|agreed|agree)\s*[.!,]*$",
        r"^(?:yes|yep|yeah|indeed|exactly|absolutely|correct|agreed|true|so\s+true|very\s+true)",
        r"(?:it'?s|this\s+is|that'?s|is)\s+(?:been\s+)?(?:confirmed|true|official|verified|correct|right)",
        r"(?:now\s+)?confirmed\s+by",
        r"(?:police|officials|authorities|reuters|ap|bbc)\s+(?:have\s+|has\s+)?(?:now\s+)?confirm(?:ed|s)?",
        r"i\s+(?:can\s+)?confirm",
        r"can\s+confirm",
        r"(?:i|we)\s+(?:saw|heard|see|hear)\s+(?:it|this|that|them|him)",
        r"(?:i'm|i\s+am)\s+(?:here|there|nearby|at\s+the\s+scene)",
        r"(?:as|like)\s+(?:i|we)\s+(?:said|thought|suspected)",
        r"knew\s+it",
        r"of\s+course",
        r"(?:no|without\s+a)\s+doubt",
        r"(?:here'?s|here\s+is)\s+(?:the\s+)?(?:proof|evidence|link|video|photo)",
    )
    """A reply agreeing or adding evidence ("confirmed", "yes", "exactly")."""
    # -- example sentences for the example reader (tracker.claims.examples) ---------------------
    attribution_examples: tuple[str, ...] = (
        "The group claimed responsibility for the attack",
        "Militants are behind the bombing",
        "The attack was carried out by a terrorist organisation",
        "The gunman was a supporter of the Islamic State",
        "The attacker had pledged allegiance to a jihadist group",
        "Investigators linked the bombing to a banned outfit",
        "He was radicalised and inspired by extremists",
        "The suspect was a member of a militant network",
        "They say a foreign intelligence agency orchestrated the blast",
        "The killer was a convert to radical Islam",
        "The hostage-taker is an Islamist extremist",
        "This has all the marks of a terrorist group",
        "An extremist organisation is celebrating the attack online",
        "The shooter had links to terrorists abroad",
        "Everyone knows who is responsible for this",
        "The perpetrators were trained in camps across the border",
    )
    casualty_examples: tuple[str, ...] = (
        "Dozens of people were killed in the blast",
        "The death toll has risen",
        "Several people were wounded and taken to hospital",
        "Nobody on board survived",
        "All passengers and crew are feared dead",
        "Two hostages lost their lives",
        "Many civilians were injured",
        "There are no survivors",
        "The number of victims keeps climbing",
        "Bodies were recovered from the site",
        "Three police officers were among the dead",
        "Two men were shot dead by officers",
    )
    method_examples: tuple[str, ...] = (
        "The bomber used a vehicle packed with explosives",
        "A suicide bomber blew himself up",
        "The gunmen opened fire with automatic rifles",
        "The device was detonated remotely",
        "He drove a truck into the crowd",
        "The attacker stabbed people with a knife",
        "A drone dropped explosives on the compound",
        "They took people hostage inside the building",
        "The attackers used assault rifles and grenades",
        "The car bomb went off outside the police station",
        "A roadside bomb hit the convoy",
        "The officer fired several shots at him",
    )
    other_examples: tuple[str, ...] = (
        # Talk about a death that counts nobody: opinion, outrage, a description. Nearest
        # to one of these, an ``other`` claim stays ``other``.
        "In what world do you let a cop who killed someone walk free",
        "So they killed him for nothing",
        "We should be talking about the killing of an unarmed man",
        "Police shot and killed an unarmed teenager",
        "He was shot dead by police",
        "The officer who shot him should be arrested",
        "Killing people is never the answer",
        "Nobody deserves to die like that",
        "Why is no one talking about the man who was killed",
        "Good thing we have strict gun laws",
        "The media is not covering the shooting at all",
    )
    deny_examples: tuple[str, ...] = (
        "This is fake news",
        "That is not true at all",
        "Stop spreading false rumours",
        "This is a hoax, it never happened",
        "No, he was not involved",
        "That has been debunked already",
        "You are lying, that is not what happened",
        "Wrong, get your facts straight",
        "That is not the flag you claim it is",
        "There is no evidence of that",
        "This report is completely false",
        "Misinformation, please delete this",
    )
    query_examples: tuple[str, ...] = (
        "Is this true?",
        "Has this been confirmed?",
        "What is your source for this?",
        "Where did you hear that?",
        "Can anyone confirm this?",
        "Is there any proof?",
        "Really? Who said so?",
        "Are you sure about that?",
        "Is this confirmed by the police?",
        "How do you know that?",
        "What happened exactly?",
        "Wait, is that real?",
    )
    support_examples: tuple[str, ...] = (
        "Yes, this is confirmed",
        "Exactly, that is what happened",
        "Police have now confirmed it",
        "True, I saw it with my own eyes",
        "I can confirm this, I am nearby",
        "Agreed, that is right",
        "It is official now",
        "Here is the video that proves it",
        "This is correct, the reports are accurate",
        "Knew it, as I said before",
    )
    comment_examples: tuple[str, ...] = (
        "So sad, praying for the families",
        "This is horrible",
        "My thoughts are with everyone there",
        "What a terrible day",
        "I hope everyone is safe",
        "Unbelievable",
        "Thanks for the update",
        "The media is a joke",
        "This is why we need better security",
        "God bless them all",
    )
    generic_names: tuple[str, ...] = (
        # Plain words, compared case-insensitively, that may stand inside a name ("Group
        # Zeta", "Baloch Liberation Tigers") but do not make one on their own or with stop
        # names only ("Pakistan Army", "Unknown Militants").
        "group", "groups", "outfit", "outfits", "organisation", "organization", "faction",
        "network", "movement", "front", "brigade", "army", "forces", "force", "militia", "wing",
        "party", "unknown", "unidentified", "armed", "local", "foreign", "banned", "proscribed",
        "outlawed", "militant", "militants", "terrorist", "terrorists", "terror", "insurgents",
        "insurgent", "attackers", "attacker", "gunmen", "gunman", "bombers", "bomber", "fighters",
        "men", "man", "people", "security", "agency", "agencies", "intelligence", "state",
        "co-pilot", "copilot", "pilot", "captain", "shooter", "suspect", "killer", "assailant",
        "federal", "provincial", "pakistan", "pakistani", "pakistanis", "islamabad", "islamist",
        "islamists", "jihadist", "jihadists", "baloch", "balochistan", "pashtun", "punjabi",
        "sindhi", "afghan", "kp", "khyber", "waziristan", "quetta", "peshawar", "karachi", "lahore",
    )

    # Values a claim gives to a question (tracker.claims.values): patterns like the ones above,
    # matched on the lower-cased sentence with URLs, @handles and #hashtags taken out.
    value_number_words: tuple[str, ...] = (
        # "PATTERN=NUMBER": a number written in words and its value.
        "one=1", "two=2", "three=3", "four=4", "five=5", "six=6", "seven=7", "eight=8",
        "nine=9", "ten=10", "eleven=11", "twelve=12", "thirteen=13", "fourteen=14",
        "fifteen=15", "sixteen=16", "seventeen=17", "eighteen=18", "nineteen=19", "twenty=20",
        "thirty=30", "forty=40", "fifty=50", "sixty=60", "seventy=70", "eighty=80",
        "ninety=90", r"(?:a\s+|one\s+)?hundred=100", r"(?:a\s+|one\s+)?dozen=12",
        r"a\s+single=1", r"a\s+lone=1",
    )
    value_triggers: tuple[str, ...] = (
        # Plain lower-case pieces of words, not patterns: a sentence holding none of them
        # states no value and is not read further (the cheap first check). A cue added
        # to a value_* list must contain one of these, or be added here too.
        "dead", "kill", "die", "death", "toll", "fatal", "bodies", "perish", "lives", "injur",
        "wound", "hurt", "hospital", "board", "carr", "plane", "flight", "jet", "aircraft",
        "airliner", "passeng", "pax", "travel", "crew", "pilot", "attendant", "steward", "staff",
        "surviv", "gunm", "shoot", "attack", "assail", "suspect", "terror", "taker", "killer",
        "bomber", "perpetrat", "lone", "single", "alone", "own", "second", "multiple", "several",
        "many", "other", "accomplice", "separate", "sites", "locations", "places", "venues",
        "coordinated", "team", "large", "run", "hunt", "loose", "unaccounted", "evaded", "arrest",
        "detain", "captur", "apprehend", "custody", "surrender", "handed", "turned", "neutrali",
        "taken out", "shot", "fire", "blast", "explos", "bomb", "stab", "siege", "hostage",
    )
    value_at_least: tuple[str, ...] = (
        r"at\s+least", r"no\s+(?:fewer|less)\s+than", r"a\s+minimum\s+of", r"minimum\s+of",
    )
    """Before a number N: [N, inf)."""
    value_more_than: tuple[str, ...] = (
        r"more\s+than", r"over", r"upwards\s+of", r"in\s+excess\s+of", r"greater\s+than",
        r"above",
    )
    """Before a number N: [N+1, inf)."""
    value_up_to: tuple[str, ...] = (
        r"up\s+to", r"as\s+many\s+as", r"at\s+most", r"no\s+more\s+than", r"a\s+maximum\s+of",
    )
    """Before a number N: [0, N]."""
    value_nearly: tuple[str, ...] = (
        r"nearly", r"almost", r"close\s+to", r"just\s+under", r"just\s+short\s+of",
    )
    """Before a number N: [0.9 N rounded, N]."""
    value_about: tuple[str, ...] = (
        r"about", r"around", r"some", r"roughly", r"approximately", r"approx\.?",
        r"an\s+estimated", r"estimated", r"circa", r"an\s+estimate\s+of",
    )
    """Before a number N: [0.9 N, 1.1 N], rounded."""
    value_units: tuple[str, ...] = (
        # After a number: it is no count of people (altitudes, times, money, dates, ages).
        r"feet", r"foot", r"ft", r"metres?", r"meters?", r"m", r"km", r"kms", r"kilomet(?:er|re)s?",
        r"miles?", r"mph", r"km/h", r"kph", r"knots?", r"kg", r"kilos?", r"kilograms?", r"tons?",
        r"tonnes?", r"lbs?", r"pounds?", r"%", r"per\s*cent", r"percent", r"dollars?", r"euros?",
        r"usd", r"eur", r"gbp", r"million", r"billion", r"bn", r"mn", r"k", r"seconds?",
        r"secs?", r"minutes?", r"mins?", r"hours?", r"hrs?", r"days?", r"weeks?", r"months?",
        r"years?", r"yrs?", r"year-old", r"years?-old", r"am", r"a\.m\.?", r"pm", r"p\.m\.?",
        r"utc", r"gmt", r"cet", r"local\s+time", r"h", r"jan(?:uary)?", r"feb(?:ruary)?",
        r"mar(?:ch)?", r"apr(?:il)?", r"june?", r"july?", r"aug(?:ust)?",
        r"sept?(?:ember)?", r"oct(?:ober)?", r"nov(?:ember)?", r"dec(?:ember)?", r"st", r"nd",
        r"rd", r"th", r"times", r"x",
    )
    value_not_after: tuple[str, ...] = (
        # Before a number: it is no count (flight numbers, dates, times, money).
        r"flights?", r"flight\s+(?:no\.?|number)", r"no\.", r"number", r"route", r"gate",
        r"jan(?:uary)?", r"feb(?:ruary)?", r"march", r"apr(?:il)?", r"june?", r"july?",
        r"aug(?:ust)?", r"sept?(?:ember)?", r"oct(?:ober)?", r"nov(?:ember)?", r"dec(?:ember)?",
        r"[$£€¥]", r"us\$", r"rs\.?", r"page", r"section", r"article", r"chapter", r"channel",
        r"since", r"year", r"no",
    )
    """Before a number: it is no count. (A plain four-digit number from 1800 to 2100 is a
    year unless a people or passenger noun follows it: "2000 people".)"""
    value_fillers: tuple[str, ...] = (
        # Words that may stand between a number and its cue: "148 people feared dead",
        # "death toll rises to 150", "2 people have died", "all 148 on board are feared dead".
        r"people", r"persons?", r"others", r"more", r"civilians", r"children", r"adults",
        r"men", r"women", r"passengers", r"pax", r"crew", r"members", r"officers", r"policemen",
        r"police\s+officers", r"soldiers", r"hostages", r"victims", r"now", r"have", r"has",
        r"had", r"been", r"are", r"were", r"is", r"was", r"be", r"being", r"reportedly",
        r"reported", r"confirmed", r"feared", r"believed", r"thought", r"said", r"presumed",
        r"likely", r"all", r"so\s+far", r"already", r"on\s*board", r"aboard", r"shot",
        r"seriously", r"critically", r"badly", r"slightly", r"rises", r"rose", r"risen",
        r"climbs", r"climbed", r"reaches", r"reached", r"stands", r"stood", r"at", r"to", r"hits",
        r"jumps", r"jumped", r"increases", r"increased", r"of", r"the",
    )
    value_people_nouns: tuple[str, ...] = (
        r"people", r"persons?", r"souls", r"others", r"individuals",
    )
    """Nouns for people in general: "148 people on board" counts everyone aboard."""
    value_dead_cues: tuple[str, ...] = (
        r"dead", r"killed", r"killing", r"kills", r"died", r"dies", r"deaths?",
        r"death\s+toll", r"toll", r"fatalit(?:y|ies)", r"bodies", r"perished", r"lives",
        r"lost\s+their\s+lives", r"lost\s+lives",
    )
    value_injured_cues: tuple[str, ...] = (
        r"injured", r"injuring", r"injures", r"injuries", r"wounded", r"wounding",
        r"wounds", r"hurt", r"hospitali[sz]ed", r"casualties\s+injured",
    )
    value_aboard_cues: tuple[str, ...] = (
        r"on\s*-?\s*board", r"aboard", r"carrying", r"was\s+carrying", r"carried",
        r"on\s+the\s+(?:plane|flight|jet|aircraft|airliner)",
    )
    value_passenger_nouns: tuple[str, ...] = (
        r"passengers?", r"pax", r"travell?ers",
    )
    value_crew_nouns: tuple[str, ...] = (
        r"(?:cabin\s+|flight\s+)?crew(?:\s*members?)?", r"crewmembers?", r"pilots?",
        r"co-?pilots?", r"flight\s+attendants?", r"cabin\s+attendants?", r"stewards?",
        r"stewardess(?:es)?", r"staff",
    )
    value_no_survivors: tuple[str, ...] = (
        r"no\s+survivors?", r"none\s+(?:[\w'-]+\s+){0,10}?survived", r"no\s*one\s+survived",
        r"nobody\s+survived", r"no\s+(?:one|body)\s+(?:has\s+|had\s+)?survived",
    )
    """With a number aboard: everyone aboard died ("no survivors among the 150 aboard")."""
    value_attacker_nouns: tuple[str, ...] = (
        r"gunm[ae]n", r"shooters?", r"attackers?", r"assailants?", r"suspects?", r"terrorists?",
        r"hostage[\s-]?takers?", r"killers?", r"bombers?", r"perpetrators?",
    )
    """A number just before one of these (one word may stand between) counts attackers:
    "two gunmen", "three masked attackers", "more than one shooter"."""
    value_one_attacker: tuple[str, ...] = (
        r"lone\s+(?:gunm[ae]n|shooters?|attackers?|assailants?|wol(?:f|ves)|actors?|terrorists?"
        r"|suspects?|hostage[\s-]?takers?)",
        r"lone[\s-]wolf", r"single\s+(?:gunman|shooter|attacker|assailant|suspect)",
        r"acted\s+alone", r"acting\s+alone", r"worked\s+alone", r"on\s+his\s+own",
        r"only\s+one\s+(?:gunman|shooter|attacker|assailant|suspect)",
    )
    value_several_attackers: tuple[str, ...] = (
        r"(?:a\s+|the\s+)?second\s+(?:[\w-]+\s+)?(?:gunman|shooter|attacker|assailant|suspect)",
        r"(?:multiple|several|many|other)\s+(?:gunmen|shooters|attackers|assailants|suspects"
        r"|terrorists)",
        r"more\s+than\s+one\s+(?:gunman|shooter|attacker|assailant|suspect|person)",
        r"accomplices?",
        r"(?:at\s+least\s+)?(?:\w+\s+)?separate\s+(?:shootings|attacks|incidents|locations"
        r"|sites)",
        r"(?:shots?\s+fired|shootings?|attacks?|gunfire)\s+(?:reported\s+)?(?:at|in)"
        r"\s+(?:\w+\s+)?(?:several|multiple|two|three|four|five|different|various|other)"
        r"\s+(?:sites|locations|places|venues)",
        r"coordinated\s+(?:terror\s+)?(?:attacks?|assaults?|shootings?)",
        r"terror\s+cell", r"(?:a\s+)?team\s+of\s+(?:gunmen|attackers|shooters)",
    )
    value_negations: tuple[str, ...] = (
        r"not", r"no", r"never", r"isn't", r"wasn't", r"aren't", r"weren't", r"without",
        r"\w+n't", r"(?:isn|wasn|aren|weren|didn|doesn)t", r"denied", r"rule[sd]?\s+out",
        r"no\s+evidence\s+of", r"no\s+sign\s+of",
    )
    """Up to two words before an attacker or suspect phrase, one of these turns it over:
    "not a lone wolf" (several), "no second gunman" (one), "wasn't arrested" (skipped)."""
    value_at_large: tuple[str, ...] = (
        r"(?:still\s+|remains?\s+|remain\s+)?at\s+large", r"on\s+the\s+run",
        r"man\s*hunt", r"on\s+the\s+loose", r"unaccounted\s+for", r"(?:being\s+)?hunted",
        r"evaded\s+(?:capture|police)",
    )
    value_arrested: tuple[str, ...] = (
        rf"{_DETAINED}(?:\s+(?!who\b|that\b|which\b)[\w'-]+){{0,4}}?\s+(?:arrested|detained"
        r"|captured|apprehended|in\s+(?:police\s+)?custody|surrendered|handed\s+(?:himself"
        r"|herself|themselves)\s+(?:in|over)|turned\s+(?:himself|herself|themselves)\s+in)",
        rf"(?:arrested|detained|captured|apprehended|arrest\s+of)\s+(?:a|an|the|one|two|three"
        rf"|\w+)?\s*{_DETAINED}",
        r"taken\s+into\s+(?:police\s+)?custody", r"under\s+arrest",
    )
    value_suspect_dead: tuple[str, ...] = (
        rf"{_SUSPECT}(?:\s+(?!who\b|that\b|which\b)[\w'-]+){{0,4}}?\s+['\"‘’“”]?(?:shot\s+dead"
        r"|killed|dead|neutrali[sz]ed|shot\s+and\s+killed|died|taken\s+out)['\"‘’“”]?"
        r"(?!\s+(?:\d|a\b|an\b|the\b|his\b|her\b|their\b|at\s+least|more|over|up\s+to|one\b"
        r"|two\b|three\b|four\b|five\b|six\b|seven\b|eight\b|nine\b|ten\b|dozens|scores"
        r"|hundreds|people|[\w-]+\s+people))",
        rf"(?:police|officers|snipers|commandos|troops|forces)\s+(?:have\s+|had\s+)?(?:shot\s+dead"
        rf"|killed|neutrali[sz]ed|shot\s+and\s+killed)\s+(?:the\s+|a\s+|both\s+|two\s+)?{_SUSPECT}",
    )

    value_place_events: tuple[str, ...] = (
        # What happens at a place ("shots fired at the Rideau Centre"); the place is the
        # capitalized name after one of value_place_prepositions (case-sensitive part).
        r"shootings?", r"shots?\s+(?:were\s+)?(?:fired|heard)", r"gunfire", r"gunshots?",
        r"explosions?", r"blasts?", r"bombings?", r"attacks?", r"stabbings?", r"siege",
        r"hostages?(?:\s+(?:situation|taken|held))?", r"gunm[ae]n", r"shooters?",
        r"(?:opened|open)\s+fire",
    )
    value_place_prepositions: tuple[str, ...] = (
        # Site-level only: "in Ottawa" names the city every report shares, not a site.
        r"at", r"near", r"outside", r"inside", r"on",
    )

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any],
        base: Lexicon | None = None,
        where: str = "claims.lexicon",
    ) -> Lexicon:
        """A lexicon from plain data (what a TOML table gives), merged over ``base``
        (default: :data:`DEFAULT_LEXICON`): a key replaces that list, lists not named keep
        their defaults, and the optional ``extend`` table adds to lists (after any
        replacing). Unknown keys, wrong types and patterns that do not compile raise
        :class:`ConfigError` naming the key (under ``where``, the settings section)."""
        current = base if base is not None else DEFAULT_LEXICON
        names = {f.name for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in mapping.items():
            if key == "extend":
                continue
            if key not in names:
                raise ConfigError(_unknown(key, names, where))
            if key == "hedge_step":
                changes[key] = _hedge_step(value, f"{where}.{key}")
            else:
                changes[key] = _strings(f"{where}.{key}", value)
        extend = mapping.get("extend", {})
        if not isinstance(extend, Mapping):
            raise ConfigError(f"{where}.extend: expected a table of lists, e.g. hedges = [...]")
        for key, value in extend.items():
            if key not in names or key == "hedge_step":
                raise ConfigError(_unknown(key, names - {"hedge_step"}, f"{where}.extend"))
            before = changes.get(key, getattr(current, key))
            changes[key] = (*before, *_strings(f"{where}.extend.{key}", value))
        lexicon = replace(current, **changes)
        lexicon.validate(where)
        return lexicon

    def validate(self, where: str = "claims.lexicon") -> None:
        """Raise :class:`ConfigError` when a pattern does not compile, an attribution
        pattern lacks its single ``{actor}`` slot or ``hedge_step`` is not in (0, 1]."""
        for f in fields(self):
            if f.name == "hedge_step" or f.name in WORD_FIELDS or f.name in EXAMPLE_FIELDS:
                continue
            patterns: tuple[str, ...] = getattr(self, f.name)
            slotted = f.name in ("attribution_active", "attribution_passive")
            for pattern in patterns:
                if slotted:
                    if pattern.count(ACTOR_SLOT) != 1:
                        raise ConfigError(
                            f"{where}.{f.name}: {pattern!r} needs exactly one "
                            f"{ACTOR_SLOT} slot where the actor's name stands"
                        )
                    pattern = pattern.replace(ACTOR_SLOT, "X")
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(
                        f"{where}.{f.name}: {pattern!r} is not a valid regular expression "
                        f"({exc}); escape literal characters such as . ? ( with a backslash"
                    ) from exc
        if not 0.0 < self.hedge_step <= 1.0:
            raise ConfigError(f"{where}.hedge_step: {self.hedge_step} is not in (0, 1]")


@dataclass(frozen=True, slots=True)
class Actor:
    """A group, agency or state a claim may name as responsible. ``name`` is canonical
    (what claims and narratives report); ``aliases`` match case-insensitively; ``exact``
    aliases match only as written (acronyms that are also English words)."""

    name: str
    aliases: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], where: str = "actors") -> Actor:
        """An actor from one ``[[actors]]`` table: ``name``, optional ``aliases``, ``exact``."""
        unknown = set(mapping) - {"name", "aliases", "exact"}
        if unknown:
            raise ConfigError(_unknown(sorted(unknown)[0], {"name", "aliases", "exact"}, where))
        name = mapping.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}.name: expected a non-empty string, e.g. name = \"TTP\"")
        return cls(
            name.strip(),
            _strings(f"{where}.aliases", mapping.get("aliases", [])),
            _strings(f"{where}.exact", mapping.get("exact", [])),
        )

    def names(self) -> tuple[str, ...]:
        """The canonical name and every alias, exact ones included."""
        return (self.name, *self.aliases, *self.exact)


def actors_from_config(
    items: Sequence[Mapping[str, Any]], base: Iterable[Actor] = ()
) -> tuple[Actor, ...]:
    """Actors from a list of ``[[actors]]`` tables, after ``base`` (pass
    :data:`DEFAULT_ACTORS` to extend the defaults; an item whose name is already there
    replaces it). Raises :class:`ConfigError` naming the item at fault."""
    out: dict[str, Actor] = {a.name.casefold(): a for a in base}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError(f"actors[{i}]: expected a table with name and aliases")
        actor = Actor.from_mapping(item, where=f"actors[{i}]")
        out[actor.name.casefold()] = actor
    return tuple(out.values())


def lexicon_from(settings: Settings) -> Lexicon:
    """The word lists claims are read with: :data:`DEFAULT_LEXICON`, changed by
    ``[claims.lexicon]``. Raises :class:`ConfigError` naming the key at fault."""
    return Lexicon.from_mapping(settings.claims.lexicon)


def actors_from(settings: Settings) -> tuple[Actor, ...]:
    """Known actors: the built-in set (unless ``[claims] builtin_actors = false``) and
    ``[[actors]]``. Raises :class:`ConfigError` naming the item at fault."""
    base = DEFAULT_ACTORS if settings.claims.builtin_actors else ()
    return actors_from_config([a.model_dump() for a in settings.actors], base=base)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{key}: expected a list of strings, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{key}: expected non-empty strings, got {item!r}")
    return tuple(value)


def _hedge_step(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number in (0, 1], got {value!r}")
    return float(value)


def _unknown(key: str, known: Iterable[str], where: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
    return f"{where}: unknown key {key!r}{hint}"


DEFAULT_LEXICON = Lexicon()
"""English word lists."""

DEFAULT_ACTORS: tuple[Actor, ...] = (
    # Militant groups.
    Actor(
        "TTP",
        (
            "Tehrik-i-Taliban Pakistan", "Tehrik-e-Taliban Pakistan",
            "Tehreek-e-Taliban Pakistan", "Tehreek-i-Taliban Pakistan", "Tehrik-i-Taliban",
            "Tehrik-e-Taliban", "Tehreek-e-Taliban", "Tehreek-i-Taliban", "TTP",
            "Pakistani Taliban", "Pakistan Taliban", "Fitna al-Khawarij", "Fitna-tul-Khawarij",
            "Fitna al-Khwarij", "Khawarij", "Khwarij", "Khariji", "Kharijis",
        ),
    ),
    Actor("JuA", ("Jamaat-ul-Ahrar", "Jamat-ul-Ahrar", "Jamaatul Ahrar", "Jamaat ul Ahrar",
                  "JuA")),
    Actor("Hafiz Gul Bahadur group", ("Hafiz Gul Bahadur", "Gul Bahadur group", "Gul Bahadur",
                                      "HGB")),
    Actor("BLA", ("Balochistan Liberation Army", "Baluchistan Liberation Army", "BLA",
                  "Majeed Brigade", "Majid Brigade")),
    Actor("BLF", ("Balochistan Liberation Front", "Baluchistan Liberation Front", "BLF")),
    Actor("BRAS", ("Baloch Raji Aajoi Sangar", "Baloch Raaji Aajoi Sangar",
                   "Baloch Raji Ajoi Sangar", "BRAS")),
    Actor(
        "ISKP",
        (
            "Islamic State Khorasan Province", "Islamic State Khorasan", "Islamic State-Khorasan",
            "Islamic State in Khorasan", "Islamic State Pakistan Province", "Islamic State",
            "ISKP", "IS-K", "IS-KP", "ISIS-K", "ISIS-KP", "ISPP", "ISIS", "ISIL", "Daesh", "Daish",
        ),
    ),
    Actor("LeJ", ("Lashkar-e-Jhangvi", "Lashkar-i-Jhangvi", "Lashkar-e-Jhangvi al-Alami",
                  "LeJ", "LeJ-A")),
    Actor("Lashkar-e-Islam", ("Lashkar-i-Islam",), exact=("LeI",)),
    Actor("Al-Qaeda", ("Al-Qaida", "Al-Qaeda in the Indian Subcontinent",
                       "Al-Qaida in the Indian Subcontinent", "AQIS")),
    Actor("JeM", ("Jaish-e-Mohammed", "Jaish-e-Muhammad", "Jaish-e-Mohammad",
                  "Jaish-i-Mohammed", "JeM")),
    Actor("LeT", ("Lashkar-e-Taiba", "Lashkar-e-Tayyiba", "Lashkar-e-Toiba", "Lashkar-i-Taiba",
                  "Jamaat-ud-Dawa"), exact=("LeT", "JuD")),
    Actor("IMP", ("Ittehad-ul-Mujahideen Pakistan", "Ittehad-ul-Mujahideen",
                  "Ittehadul Mujahideen Pakistan"), exact=("IMP",)),
    # States and agencies commonly blamed.
    Actor(
        "India",
        (
            "India", "Indian", "Indians", "New Delhi", "Research and Analysis Wing",
            "Fitna al-Hindustan", "Fitna-al-Hindustan", "Fitna-tul-Hindustan", "Modi",
        ),
        exact=("RAW",),
    ),
    Actor(
        "Afghanistan",
        (
            "Afghanistan", "Afghan Taliban", "Taliban regime", "Afghan Taliban regime",
            "Afghan interim government", "Afghan government", "Afghan regime", "Kabul",
            "Islamic Emirate", "Islamic Emirate of Afghanistan", "Afghan soil", "Afghan-based",
            "NDS",
        ),
        exact=("IEA",),
    ),
    Actor("United States", ("United States", "U.S.", "America", "CIA"), exact=("US", "USA")),
    Actor("Israel", ("Israel", "Israeli", "Mossad", "Zionist", "Zionists")),
    Actor("Iran", ("Iran", "Iranian", "Tehran", "IRGC")),
    Actor(
        "foreign hand",
        (
            "foreign hand", "foreign hands", "foreign-backed", "foreign-sponsored",
            "foreign-funded", "foreign elements", "foreign agencies", "foreign powers",
            "foreign conspiracy", "hostile agencies", "hostile intelligence agencies",
            "hostile elements", "hostile forces", "enemy agencies", "external forces",
            "external elements", "external hand", "enemies of Pakistan", "anti-Pakistan forces",
            "anti-Pakistan elements",
        ),
    ),
)
"""Known actors for Pakistan's security landscape: militant groups, the states and agencies
commonly blamed, and generic "foreign hand" phrasings."""
