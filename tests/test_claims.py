"""Claim analysis as an analyst sees it: kinds, actors, hedges, negations, official voice.

Pure text logic, no model: these run in milliseconds (but for the one test of the kind
reader by meaning, which runs the real model).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DATA, GERMANWINGS

from tracker.claims.examples import ExampleReader
from tracker.claims.extract import (
    ClaimAnalyzer,
    ClaimExtractor,
    SentenceClaimExtractor,
    clean_sentence,
    split_sentences,
    word_count,
)
from tracker.claims.lexicon import (
    DEFAULT_ACTORS,
    DEFAULT_LEXICON,
    Actor,
    Lexicon,
    actors_from_config,
)
from tracker.claims.literals import CASE_TWISTS, needed
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import ConfigError, PostError
from tracker.ingest.files import PostFile
from tracker.models import Claim, ClaimKind

GROUP_A = Actor("Group A", ("group A", "GA"))
GROUP_B = Actor("Group B", ("group B",))


@pytest.fixture(scope="module")
def analyzer() -> ClaimAnalyzer:
    return ClaimAnalyzer(actors=(*DEFAULT_ACTORS, GROUP_A, GROUP_B))


def one(analyzer: ClaimAnalyzer, text: str) -> Claim:
    claims = analyzer.extract(text)
    assert len(claims) == 1, claims
    return claims[0]


def test_is_a_claim_extractor_and_old_constructor_still_works() -> None:
    extractor: ClaimExtractor = ClaimAnalyzer()
    assert extractor.extract("") == []
    plain = Claim("Police cordoned off the area")
    assert (plain.kind, plain.actors, plain.hedge, plain.negated) == (ClaimKind.OTHER, (), 0.0, False)
    assert SentenceClaimExtractor().extract("omg so sad")[0].text == "omg so sad"


def test_paraphrases_of_one_attribution_name_the_same_actor_and_are_hedged(
    analyzer: ClaimAnalyzer,
) -> None:
    active = one(analyzer, "sources say group A is behind the blast")
    passive = one(analyzer, "the blast was reportedly carried out by group A")
    other = one(analyzer, "the blast was reportedly carried out by group B")
    for claim in (active, passive):
        assert claim.kind is ClaimKind.ATTRIBUTION
        assert claim.actors == ("Group A",)
        assert claim.hedge > 0
        assert not claim.negated and not claim.official_voice
    assert other.actors == ("Group B",)


@pytest.mark.parametrize(
    "text",
    [
        "TTP claimed responsibility for the attack",
        "TTP has claimed the attack on the police station",
        "The attack was carried out by the TTP",
        "TTP is behind the Nushki blast",
        "Behind the attack was the TTP, officials believe",
        "Pakistan blamed TTP for the bombing",
        "The bombing was blamed on the TTP",
        "Investigators linked the blast to TTP",
        "This is the work of the TTP",
        "TTP-backed terrorists attacked the check post",
        "The attack was masterminded by TTP commanders",
        "Suspected TTP militants stormed the compound",
        "TTP militants attacked a police station in Bannu",
        "Responsibility was claimed by TTP in a statement",
    ],
)
def test_attribution_in_active_and_passive_voice(analyzer: ClaimAnalyzer, text: str) -> None:
    claim = one(analyzer, text)
    assert claim.kind is ClaimKind.ATTRIBUTION
    assert claim.actors == ("TTP",)
    assert claim.candidate_actors == ()


def test_state_actors_and_foreign_hand(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "The blast was the work of RAW-sponsored terrorists, the minister said")
    assert claim.actors == ("India",)
    assert one(analyzer, "Hostile agencies are behind this attack").actors == ("foreign hand",)
    assert one(analyzer, "ISPR said khwarij backed by India attacked the post").actors == (
        "India",
        "TTP",
    )


def test_official_assertion_is_told_apart_from_hedged_claim(analyzer: ClaimAnalyzer) -> None:
    official = one(analyzer, "Police confirmed TTP carried out the attack")
    hedged = one(analyzer, "TTP may have carried out the attack, unconfirmed reports say")
    assert official.official_voice and official.hedge == 0.0
    assert official.actors == hedged.actors == ("TTP",)
    assert not hedged.official_voice and hedged.hedge > 0
    assert one(analyzer, "CTD said the bomber was 17 years old").official_voice
    assert one(analyzer, "The ministry said the blast was caused by an IED").official_voice


def test_hedge_rises_with_hedges_and_is_capped(analyzer: ClaimAnalyzer) -> None:
    one_hedge = one(analyzer, "TTP reportedly carried out the attack").hedge
    more = one(analyzer, "Unconfirmed: sources say TTP allegedly, possibly carried out the attack")
    assert 0 < one_hedge < more.hedge <= 1.0
    assert more.hedge == 1.0


def test_a_question_is_hedged(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "Is RAW behind the Quetta blast?")
    assert claim.kind is ClaimKind.ATTRIBUTION
    assert claim.actors == ("India",)
    assert claim.hedge > 0


@pytest.mark.parametrize(
    "text",
    [
        "No group has claimed responsibility for the blast",
        "Nobody has yet claimed the attack on the convoy",
        "The attack has not been attributed to any group so far",
        "It is too early to say who was behind the attack",
        "Officials ruled out the involvement of militants",
    ],
)
def test_negated_attribution_has_no_actor(analyzer: ClaimAnalyzer, text: str) -> None:
    claim = one(analyzer, text)
    assert claim.kind is ClaimKind.ATTRIBUTION
    assert claim.negated
    assert claim.actors == () and claim.candidate_actors == ()


def test_denial_by_an_actor_is_a_negated_attribution_naming_it(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "TTP denied involvement in the Peshawar mosque blast")
    assert (claim.kind, claim.actors, claim.negated) == (ClaimKind.ATTRIBUTION, ("TTP",), True)


def test_double_negative_is_not_negated(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "Officials have not ruled out foreign involvement")
    assert claim.kind is ClaimKind.ATTRIBUTION and not claim.negated


def test_unknown_name_in_attribution_phrase_is_a_candidate(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "Jundallah claimed responsibility for the Nushki blast")
    assert claim.kind is ClaimKind.ATTRIBUTION
    assert claim.actors == ()
    assert claim.candidate_actors == ("Jundallah",)
    assert one(analyzer, "The attack was carried out by Tehreek-e-Nawaz").candidate_actors == (
        "Tehreek-e-Nawaz",
    )
    assert one(analyzer, "Sources say Group Zeta is behind it").candidate_actors == ("Group Zeta",)


def test_stop_words_and_people_are_not_candidates(analyzer: ClaimAnalyzer) -> None:
    for text in (
        "Police said the attack was carried out by militants",
        "Who is behind the attack on Friday?",
        "TTP spokesman Muhammad Khurasani denied the group's involvement",
    ):
        assert one(analyzer, text).candidate_actors == (), text


def test_aliases_map_to_the_canonical_name_on_word_edges(analyzer: ClaimAnalyzer) -> None:
    assert one(analyzer, "Tehrik-i-Taliban Pakistan claimed the attack").actors == ("TTP",)
    assert one(analyzer, "tehreek e taliban pakistan claimed the attack").actors == ("TTP",)
    assert one(analyzer, "The Balochistan Liberation Army claimed the attack").actors == ("BLA",)
    assert one(analyzer, "ISIS-K claimed the suicide bombing").actors == ("ISKP",)
    # "TTP" inside another word, or "raw"/"us" as ordinary words, name nobody.
    assert one(analyzer, "TTPX claimed responsibility for the blast").actors == ()
    assert one(analyzer, "Someone blamed us for the raw footage of the blast").actors == ()
    assert analyzer.canonical_actor("Fitna al-Khawarij") == "TTP"
    assert analyzer.canonical_actor("Jundallah") is None


def test_casualty_and_method_kinds(analyzer: ClaimAnalyzer) -> None:
    assert one(analyzer, "At least 12 people were killed in the blast").kind is ClaimKind.CASUALTY
    assert one(analyzer, "The death toll has risen to 25").kind is ClaimKind.CASUALTY
    method = one(analyzer, "The bomber used a motorcycle packed with explosives")
    assert method.kind is ClaimKind.METHOD
    assert one(analyzer, "A quadcopter dropped a grenade on the camp").kind is ClaimKind.METHOD
    # Attribution beats casualty beats method.
    both = one(analyzer, "TTP claimed the suicide bombing that killed 12 people")
    assert both.kind is ClaimKind.ATTRIBUTION
    assert one(analyzer, "A suicide bomber killed 12 people").kind is ClaimKind.CASUALTY
    assert one(analyzer, "Traffic was diverted near the Quetta station").kind is ClaimKind.OTHER


@pytest.mark.parametrize(
    "text",
    [
        "at least 12 killed in Paris attack",
        "Death toll rises to 12 in Charlie Hebdo shooting",
        "The death toll has risen",
        "No one was killed, police say",
        "Ten journalists killed at the magazine's offices",
        "Three police officers were among the dead",
        "All passengers and crew are feared dead",
        "Germanwings co-pilot crashed the plane killing all 150 on board",
        "There are no survivors",
        "Nobody on board survived",
        "The cartoonists Charb & Cabu are dead.",
        "Dozens of people were killed in the blast",
        "Hostage-taker and two hostages killed as police storm the cafe",
    ],
)
def test_a_casualty_claim_gives_a_count_or_a_toll(analyzer: ClaimAnalyzer, text: str) -> None:
    assert one(analyzer, text).kind is ClaimKind.CASUALTY


@pytest.mark.parametrize(
    "text",
    [
        "Michael Brown was shot dead by police on Saturday",
        "The officer who killed Michael Brown was named as Darren Wilson",
        "Mike Brown was killed at 18-year-old age, his family says",
        "Officer involved in fatal shooting of Michael Brown didn't know he was a suspect",
    ],
)
def test_a_death_told_without_a_count_is_no_casualty_claim(
    analyzer: ClaimAnalyzer, text: str
) -> None:
    # Kept (it names someone), but it answers "what happened", not "how many died".
    assert one(analyzer, text).kind is not ClaimKind.CASUALTY


@pytest.mark.parametrize(
    "text",
    [
        "In what world do you let a cop who killed someone leave town?",
        "so they killed him for stealing chips and juice gtfoh point is he was unarmed",
        "What's so frustrating is that now we are talking about a robbery and not the "
        "killing of an unarmed kid.",
    ],
)
def test_opinion_about_a_death_is_no_casualty_claim(analyzer: ClaimAnalyzer, text: str) -> None:
    # A reply like these asserts nothing of its own: engagement on what it answers.
    assert all(c.kind is ClaimKind.OTHER and not c.actors for c in analyzer.extract(text))


def test_the_kind_reader_by_meaning_keeps_opinion_about_a_death_other(
    analyzer: ClaimAnalyzer, embedder: SentenceTransformerEmbedder
) -> None:
    kinds = ExampleReader.for_kinds(embedder.encode)
    for text in (
        "Michael Brown was shot dead by police",
        "So they shot an unarmed kid for stealing cigars",
    ):
        claim = analyzer.analyze(text)
        assert claim.kind is ClaimKind.OTHER
        refined = kinds.refine_kind(claim, embedder.encode([text])[0])
        assert refined.kind is ClaimKind.OTHER, text
    # A casualty phrasing the word lists miss is still read by meaning.
    text = "The number of victims keeps climbing"
    claim = analyzer.analyze(text)
    assert claim.kind is ClaimKind.OTHER
    assert kinds.refine_kind(claim, embedder.encode([text])[0]).kind is ClaimKind.CASUALTY


def test_chatter_is_dropped_claims_are_kept(analyzer: ClaimAnalyzer) -> None:
    text = (
        "omg so sad. Praying for the victims. RIP. May Allah grant them jannah. "
        "Police say 12 were killed in the Nushki blast. Horrible news from Quetta today."
    )
    assert [c.text for c in analyzer.extract(text)] == [
        "Police say 12 were killed in the Nushki blast.",
        "Horrible news from Quetta today.",
    ]
    assert analyzer.extract("PRAY FOR PESHAWAR") == []
    assert analyzer.extract("is this confirmed?") == []


def test_shouting_names_no_acronym_that_is_also_a_word(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "WHO IS BEHIND THIS? LET US KNOW")
    assert claim.actors == () and claim.candidate_actors == ()


def test_custom_lexicon_and_actors_from_plain_data() -> None:
    lexicon = Lexicon.from_mapping(
        {
            "extend": {"hedges": ["مبینہ طور پر", "شاید"], "chatter": ["dua"]},
            "hedge_step": 0.5,
        }
    )
    assert lexicon.hedges[: len(DEFAULT_LEXICON.hedges)] == DEFAULT_LEXICON.hedges
    assert lexicon.negations == DEFAULT_LEXICON.negations
    actors = actors_from_config(
        [
            {"name": "Jundallah", "aliases": ["Jundullah", "جنداللہ"]},
            {"name": "TTP", "aliases": ["Tehrik-i-Taliban Pakistan", "ٹی ٹی پی"]},
        ],
        base=DEFAULT_ACTORS,
    )
    analyzer = ClaimAnalyzer(lexicon, actors)
    claim = one(analyzer, "Jundullah claimed responsibility for the Nushki blast")
    assert (claim.actors, claim.candidate_actors) == (("Jundallah",), ())
    urdu = one(analyzer, "دھماکہ مبینہ طور پر ٹی ٹی پی نے کیا")
    assert urdu.hedge == 0.5
    assert analyzer.canonical_actor("ٹی ٹی پی") == "TTP"
    assert analyzer.canonical_actor("Pakistani Taliban") is None  # replaced, not merged

    replaced = Lexicon.from_mapping({"hedges": ["shayad"]})
    assert replaced.hedges == ("shayad",)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"hedgez": ["x"]}, "did you mean 'hedges'"),
        ({"hedges": "reportedly"}, "expected a list of strings"),
        ({"hedges": ["(unclosed"]}, "not a valid regular expression"),
        ({"attribution_passive": ["blamed on"]}, "{actor}"),
        ({"hedge_step": 2}, "not in (0, 1]"),
        ({"extend": {"nope": ["x"]}}, "unknown key 'nope'"),
    ],
)
def test_bad_lexicon_config_names_the_key(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Lexicon.from_mapping(mapping)


def test_bad_actor_config_names_the_item() -> None:
    with pytest.raises(ConfigError, match=r"actors\[1\]\.name"):
        actors_from_config([{"name": "A"}, {"aliases": ["x"]}])
    with pytest.raises(ConfigError, match="unknown key 'alias'"):
        actors_from_config([{"name": "A", "alias": ["x"]}])
    with pytest.raises(ConfigError, match="belongs to both"):
        ClaimAnalyzer(actors=(Actor("A", ("same",)), Actor("B", ("Same",))))


# --- issue 10: hedge, authority, attribution anywhere, identities, findings, chatter ----


@pytest.mark.parametrize(
    ("text", "actors", "candidates"),
    [
        ("Everyone knows TTP did this", ("TTP",), ()),
        ("fingers point at the BLA", ("BLA",), ()),
        ("Everyone knows Jundallah did this", (), ("Jundallah",)),
        ("the attack bears the hallmarks of Jundallah", (), ("Jundallah",)),
        ("Gunman identified as Man Haron Monis", (), ("Man Haron Monis",)),
        ("the co-pilot was a convert to Islam", (), ("Islam",)),
        ("The co-pilot was a Muslim convert", (), ("Islam",)),
        ("If the #Germanwings copilot #Lubitz was Muslim, it would be terrorism", (), ("Islam",)),
        ("The co-pilot Andreas Lubitz was a Muslim convert", (), ("Islam",)),
        # who the perpetrator is, the faith left unsaid: a story of its own, no name
        ("Co-pilot was a fresh convert- http://t.co/paAKWfHdg3", (), ()),
        ("the shooter was a jihadist", (), ("Jihadist",)),
        ("Charlie Hebdo attackers linked to ISIS", ("ISKP",), ()),
        ("The gunman was a hero of Islamic State", ("ISKP",), ()),
        ("ISIS is lauding him", ("ISKP",), ()),
        ("Islamic State praises their hero", ("ISKP",), ()),
    ],
)
def test_attribution_by_cue_anywhere_and_by_identity(
    analyzer: ClaimAnalyzer, text: str, actors: tuple[str, ...], candidates: tuple[str, ...]
) -> None:
    claim = one(analyzer, text)
    assert claim.kind is ClaimKind.ATTRIBUTION, claim
    assert (claim.actors, claim.candidate_actors) == (actors, candidates)


def test_rival_identities_stay_apart(analyzer: ClaimAnalyzer) -> None:
    islam = one(analyzer, "the co-pilot was a convert to Islam")
    jihadist = one(analyzer, "the shooter was a jihadist")
    isis = one(analyzer, "The gunman was a hero of Islamic State")
    keys = {(c.actors, c.candidate_actors) for c in (islam, jihadist, isis)}
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("text", "authority", "candidates"),
    [
        ("CTD: preliminary investigation links the attack to the Zeta faction", "ctd", ("Zeta",)),
        ("Investigation links the attack to Jundallah, police said", "police", ("Jundallah",)),
        ("Jundallah identified as the attacker", None, ("Jundallah",)),
        ("Preliminary findings show Jundallah was behind the blast", None, ("Jundallah",)),
    ],
)
def test_official_findings_are_unhedged_attributions(
    analyzer: ClaimAnalyzer, text: str, authority: str | None, candidates: tuple[str, ...]
) -> None:
    claim = one(analyzer, text)
    assert claim.kind is ClaimKind.ATTRIBUTION
    assert claim.candidate_actors == candidates
    assert claim.hedge == 0.0 and not claim.negated
    assert claim.authority == authority
    assert claim.official_voice is (authority is not None)


@pytest.mark.parametrize(
    ("text", "authority"),
    [
        ("Police confirm one gunman", "police"),
        ("French President says no survivors expected", "president"),
        ("According to police, the gunman acted alone", "police"),
        ("Police: two hostages have escaped from the cafe", "police"),
        ("The interior ministry said the attackers were brothers", "interior ministry"),
        ("Marseille prosecutor says the co-pilot crashed the plane on purpose", "prosecutor"),
        ("The CTD said TTP was behind the attack", "ctd"),
    ],
)
def test_claims_on_an_authoritys_word_are_unhedged_with_that_authority(
    analyzer: ClaimAnalyzer, text: str, authority: str
) -> None:
    claim = one(analyzer, text)
    assert (claim.authority, claim.hedge) == (authority, 0.0)
    assert claim.official_voice


@pytest.mark.parametrize(
    "text",
    [
        "Reports of a second attacker at the scene",
        "Report: the gunman is still inside",
        "The co-pilot is believed to be responsible",
        "Unconfirmed: two gunmen at the station",
        "The pilot appears to have been locked out of the cockpit",
        "It seems the pilot is a recent convert",
        "The plane was losing altitude long before, it seems",
        "Second attacker feared to be at large",
        "Could be a second gunman",
        "Apparently the gunman was known to police",
        "A website claims the gunman was a refugee",
        "Rumours that the shooter was a Muslim",
        "The attacker was allegedly shouting",
        "A second attack is likely",
        "Possible explosion near the cafe",
        "Is the gunman still inside?",
        "The co-pilot suffered from depression, Bild newspaper reports",
        "German news website Spiegel Online says the pilot was locked out",
        "Friends say the co-pilot suffered from depression",
        "Germanwings co-pilot had serious depressive episode: Bild newspaper",
        "Gunman demands a flag, via @someone",
    ],
)
def test_hedged_and_non_authority_claims_are_hedged_without_authority(
    analyzer: ClaimAnalyzer, text: str
) -> None:
    claim = one(analyzer, text)
    assert claim.hedge > 0, claim
    assert claim.authority is None


def test_a_newsroom_reporting_reports_is_hedged_and_an_authority_confirming_is_not(
    analyzer: ClaimAnalyzer,
) -> None:
    reports = one(analyzer, "BREAKING: reports of a second attacker at the Paris kosher market")
    assert reports.hedge > 0 and reports.authority is None
    confirmed = one(analyzer, "Police confirm reports of a second attacker")
    assert (confirmed.authority, confirmed.hedge) == ("police", 0.0)
    sources = one(analyzer, "Police sources say the gunman was known to them")
    assert sources.hedge > 0 and sources.authority is None


@pytest.mark.parametrize(
    "text",
    [
        "RIP to the 150 people who died",
        "Thoughts with the families of the victims",
        "My prayers go out to the 150 victims of #Germanwings",
        "I'm horrified at what happened in Paris today",
        "You are all idiots",
        "Deepest sympathies to everyone in Sydney",
    ],
)
def test_chatter_asserting_nothing_is_dropped(analyzer: ClaimAnalyzer, text: str) -> None:
    assert analyzer.extract(text) == []


def test_chatter_words_do_not_drop_an_attribution(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "RIP to the victims, TTP claimed the attack")
    assert claim.kind is ClaimKind.ATTRIBUTION and claim.actors == ("TTP",)


def test_a_place_near_a_cue_is_no_candidate(analyzer: ClaimAnalyzer) -> None:
    claim = one(analyzer, "No group has claimed responsibility for the Nushki bus blast.")
    assert claim.negated and claim.candidate_actors == ()
    claim = one(analyzer, "Who is behind the Quetta bus attack?")
    assert claim.candidate_actors == ()
    claim = one(analyzer, "Everyone knows the Nushki market bombers did this")
    assert claim.candidate_actors == ()


# --- the literal prefilter: one scan decides which patterns run; readings never change ---


def _posts(path: Path) -> list[str]:
    post_file = PostFile(str(path))
    try:
        return [
            p.text for _, p in post_file.posts(default_source="t", max_text_chars=20000)
            if not isinstance(p, PostError)
        ]
    finally:
        post_file.close()


@pytest.mark.parametrize(
    "path",
    [GERMANWINGS, DATA / "pheme" / "rumoureval2017" / "charliehebdo.jsonl"],
    ids=["germanwings", "charliehebdo"],
)
def test_prefilter_never_changes_a_reading(path: Path) -> None:
    """Every sentence of real posts reads the same with the prefilter as with every
    pattern run: the same claims kept, each with the same kind, actors, candidates,
    hedge, negation, authority and values, and the same sentences dropped."""
    fast, slow = ClaimAnalyzer(), ClaimAnalyzer(prefilter=False)
    texts = _posts(path)
    assert len(texts) > 1000
    kept = 0
    for text in texts:
        claims = fast.extract(text)
        assert claims == slow.extract(text), text
        kept += len(claims)
        for raw in split_sentences(text):
            sentence = clean_sentence(raw)
            assert fast.is_check_worthy(sentence) == slow.is_check_worthy(sentence), sentence
    assert kept > 500
    # the posts hold every kind, so each pattern family was exercised both ways
    kinds = {c.kind for t in texts for c in fast.extract(t)}
    assert kinds == set(ClaimKind)


@pytest.mark.parametrize(
    "sentence",
    [
        # "ſ" matches a case-insensitive "s", "İ" a case-insensitive "i": no plain
        # lower-case string finds them, so the prefilter must let these through
        "Jundallah ſtormed the checkpoint in Nushki",
        "Police confirmed 12 people were KİLLED in the blast",
        "Police confirmed 12 people were kİlled in the blast",
        "The gunman was identified as a convert to İslam",
        "Reportedly 150 people were on board, no ſurvivors",
    ],
)
def test_prefilter_reads_case_twisted_letters_as_the_patterns_do(sentence: str) -> None:
    fast, slow = ClaimAnalyzer(), ClaimAnalyzer(prefilter=False)
    assert fast.analyze(sentence) == slow.analyze(sentence)
    assert fast.is_check_worthy(sentence) == slow.is_check_worthy(sentence)


def test_case_twists_are_every_letter_case_folding_twists_onto_ascii() -> None:
    """The characters a case-insensitive pattern matches to an ASCII letter though their
    own lower case is not that letter, over every code point."""
    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    twisted = {
        m.group()
        for letter in "abcdefghijklmnopqrstuvwxyz"
        for m in re.finditer(letter, everything, re.I)
        if m.group().lower() != letter
    }
    assert twisted == set(CASE_TWISTS)


def test_needed_strings_of_a_pattern() -> None:
    """What every match must hold, and what makes a pattern run anyway."""
    need = needed(re.compile(r"(?<!\w)(?:claimed|claims?)\s+(?:the\s+)?responsibility", re.I))
    assert need is not None and need.strings == ("responsibility",)
    assert need.absent("they said it was an accident")
    assert not need.absent("no one has claimed responsibility")
    assert not need.absent("no one has claimed reſponsibility")  # runs: "ſ" is an "s" here
    alternatives = needed(re.compile(r"gunm[ae]n|shooters?|co-?pilot"))
    assert alternatives is not None
    assert set(alternatives.strings) == {"gunman", "gunmen", "shooter", "copilot", "co-pilot"}
    assert needed(re.compile(r"[A-Z]\w+\s+\d+")) is None  # no fixed text at all
    assert needed(re.compile(r"(?:said|told)?\s*hello|\w+")) is None


def test_cleaning_drops_links_retweet_prefixes_and_addressees_in_any_case() -> None:
    assert clean_sentence("RT @bbc: Plane down in the Alps HTTPS://t.co/x") == (
        "Plane down in the Alps"
    )
    assert clean_sentence("@a @b\tPlane  down WWW.example.com/x now") == "Plane down now"
    assert clean_sentence("Plane down  in\tthe Alps") == "Plane down in the Alps"
    assert clean_sentence(".@cnn says 150 dead - ") == "says 150 dead"
    assert word_count("Ask @lufthansa about it") == 3  # a mention is no word
    assert word_count("Plane down in the Alps") == 5


def test_a_sentence_repeated_across_posts_reads_the_same_each_time(
    analyzer: ClaimAnalyzer,
) -> None:
    """Retweet copies repeat whole sentences: each copy gives the claim the first gave."""
    first = analyzer.extract("RT @x: Police say the co-pilot crashed the plane deliberately")
    again = analyzer.extract("Police say the co-pilot crashed the plane deliberately http://t.co/a")
    assert first == again and len(first) == 1
    assert first[0].authority == "police" and first[0].hedge == 0.0
    assert analyzer.analyze(first[0].text) == first[0]


def test_needed_strings_pass_over_common_words_and_see_through_repeats() -> None:
    """The prefilter looks for the rarest strings a match must hold: "run" rather than
    "the" in "on the run", "fu" rather than "f" in "f+u+c+k"."""
    run = needed(re.compile(r"(?<!\w)(?:on\s+the\s+run)(?!\w)", re.I))
    assert run is not None and run.strings == ("run",)
    swear = needed(re.compile(r"(?<!\w)(?:f+u+c+k\w*|stfu)(?!\w)", re.I))
    assert swear is not None and set(swear.strings) == {"fu"}
    assert swear.absent("a flight from barcelona") and not swear.absent("ffuuuck this")
    kilos = needed(re.compile(r"(?:kg|kilograms?)\s+of", re.I))
    assert kilos is not None and set(kilos.strings) == {"kg", "kilogram"}
