"""Values a claim gives to a question, as an analyst reads them: counts of dead, injured,
people and passengers aboard, attackers, and where the suspect is.

Pure text logic, no model; sentences are real-looking headlines (most from PHEME).
"""

from __future__ import annotations

import json
import math
import timeit

import pytest

from tracker.claims.lexicon import DEFAULT_LEXICON, Lexicon
from tracker.claims.values import QUESTION_KINDS, QUESTIONS, Value, ValueReader
from tracker.errors import ConfigError
from tracker.models import ClaimKind

INF = math.inf


@pytest.fixture(scope="module")
def reader() -> ValueReader:
    return ValueReader(DEFAULT_LEXICON)


def _read(reader: ValueReader, sentence: str) -> dict[str, tuple[float | None, float | None]
                                                       | str]:
    out: dict[str, tuple[float | None, float | None] | str] = {}
    for v in reader.read(sentence):
        out[v.question] = v.state if v.state is not None else (v.low, v.high)
    return out


CASES: list[tuple[str, dict[str, tuple[float | None, float | None] | str]]] = [
    # dead
    ("148 people feared dead after Germanwings Airbus crash in France", {"dead": (148, 148)}),
    ("One pilot was locked out of cockpit before flight crashed, killing 150",
     {"dead": (150, 150)}),
    ("150 feared dead in #Germanwings Airbus crash", {"dead": (150, 150)}),
    ("Death toll rises to 150 in French Alps crash", {"dead": (150, 150)}),
    ("Two babies and 16 children among 150 dead", {"dead": (150, 150)}),
    ("Germanwings plane crashes in France, up to 150 feared dead", {"dead": (0, 150)}),
    ("Breaking: At least 10 dead, 5 injured after gunman open fire in offices of Charlie Hebdo",
     {"dead": (10, INF), "injured": (5, 5)}),
    ("French PM: fears 142-150 passengers died when flight crashed",
     {"dead": (142, 150), "passengers": (142, 150)}),
    ("Crash kills between 142 and 150 people", {"dead": (142, 150)}),
    ("Nearly 150 killed in plane crash", {"dead": (135, 150)}),
    ("About 150 killed in plane crash", {"dead": (135, 165)}),
    ("More than 100 dead in the attack", {"dead": (101, INF)}),
    ("Ten killed in shooting at headquarters of French satirical weekly", {"dead": (10, 10)}),
    ("The crash that killed 1,200 people", {"dead": (1200, 1200)}),
    ("The worst crash of 2015 killed 150", {"dead": (150, 150)}),  # a year is no count
    ("The suspect is dead, police say", {"suspect": "dead"}),  # no number: no dead value
    ("UPDATE: No survivors are expected among the 150 people aboard #Germanwings plane.",
     {"dead": (150, 150), "aboard": (150, 150)}),
    ("All 148 on board are feared dead.", {"dead": (148, 148), "aboard": (148, 148)}),
    # injured
    ("12 injured as gunman opens fire", {"injured": (12, 12)}),
    ("Attack wounding 30 at the market", {"injured": (30, 30)}),
    ("11 dead 10 wounded (five critical) two gunmen unaccounted for",
     {"dead": (11, 11), "injured": (10, 10), "attackers": (2, 2), "suspect": "at large"}),
    ("\"No one has been injured\" per police", {}),
    # aboard and passengers
    ("Airbus A320 crashes in southern France with 148 people on board", {"aboard": (148, 148)}),
    ("Plane crashes in French Alps with 148 on board", {"aboard": (148, 148)}),
    ("Germanwings A320 was carrying 148 people when it crashed", {"aboard": (148, 148)}),
    ("150 people were on board plane that crashed in France today", {"aboard": (150, 150)}),
    ("Now hearing 148 passengers + crew on board the #A320", {"aboard": (148, 148)}),
    ("Airbus A320 with 142 passengers and 6 crew members crashes in #Digne",
     {"aboard": (148, 148), "passengers": (142, 142)}),
    ("Germanwings says 144 passengers & 6 crew on board",
     {"aboard": (150, 150), "passengers": (144, 144)}),
    ("Germanwings says 144 passengers &amp; 6 crew on board flight #4U9525",
     {"aboard": (150, 150), "passengers": (144, 144)}),
    ("Crashed plane was carrying 148 people, including 142 passengers, two pilots and four "
     "flight attendants.", {"aboard": (148, 148), "passengers": (142, 142)}),
    ("Germanwings says 144 passengers and six crew were on board",
     {"aboard": (150, 150), "passengers": (144, 144)}),
    ("142 passengers, 6crew all feared dead",
     {"dead": (148, 148), "aboard": (148, 148), "passengers": (142, 142)}),
    ("BREAKING: 142 passengers on board GermanWings plane which has crashed",
     {"passengers": (142, 142)}),
    ("BREAKING:148passengers were on board #GermanWings Airbus A320", {"passengers": (148, 148)}),
    ("Flight with at least 143 passengers has crashed today at 9.39 UTC",
     {"passengers": (143, INF)}),
    ("2 babies were among 144 passengers on board crashed plane", {"passengers": (144, 144)}),
    ("72 Germans, 35 Spanish citizens and two Americans were aboard", {}),
    # attackers: one
    ("Police confirm a single gunman in the cafe", {"attackers": (1, 1)}),
    ("The Grand Mufti condemned the actions of the lone gunman", {"attackers": (1, 1)}),
    ("Siege likely carried out by a 'lone wolf', expert says", {"attackers": (1, 1)}),
    ("His former lawyer says likely he acted alone", {"attackers": (1, 1)}),
    ("Only one shooter, police say", {"attackers": (1, 1)}),
    ("One shooter opened fire", {"attackers": (1, 1)}),
    # attackers: several
    ("Reports of more than one shooter in the building", {"attackers": (2, INF)}),
    ("Police hunting a second gunman", {"attackers": (2, INF)}),
    ("Witness says multiple gunmen involved in shooting", {"attackers": (2, INF)}),
    ("Two suspects seen fleeing", {"attackers": (2, 2)}),
    ("Sydney cafe siege: Two gunmen and up to a dozen hostages inside", {"attackers": (2, 2)}),
    ("Three attackers being hunted, interior minister says",
     {"attackers": (3, 3), "suspect": "at large"}),
    ("At least three separate shootings in Ottawa", {"attackers": (2, INF)}),
    ("Shots fired at three sites downtown", {"attackers": (2, INF)}),
    ("Shootings at several locations across the city", {"attackers": (2, INF)}),
    ("Police fear coordinated attacks on parliament", {"attackers": (2, INF)}),
    # attackers: negated
    ("This was not a lone wolf", {"attackers": (2, INF)}),
    ("Police: there was no second gunman", {"attackers": (1, 1)}),
    ("Police say there is no second shooter", {"attackers": (1, 1)}),
    # suspect
    ("Charlie Hebdo shooting latest: 12 dead and gunmen still at large",
     {"dead": (12, 12), "suspect": "at large"}),
    ("Suspect on the run after the shooting", {"suspect": "at large"}),
    ("Manhunt under way in Paris", {"suspect": "at large"}),
    ("Suspect arrested near the border", {"suspect": "arrested"}),
    ("A 25-year-old was taken into custody", {"suspect": "arrested"}),
    ("One man detained after the attack", {"suspect": "arrested"}),
    ("Gunman shot dead by police", {"suspect": "dead"}),
    ("Attacker killed by police at the scene", {"suspect": "dead"}),
    ("Suspect arrested, then later the gunman shot dead", {"suspect": "dead"}),
    ("A second terror suspect wasn't arrested, police say", {"attackers": (2, INF)}),
    ("Three gunmen who shot dead 12 people are still on the run",
     {"dead": (12, 12), "attackers": (3, 3), "suspect": "at large"}),
]


@pytest.mark.parametrize(("sentence", "expected"), CASES)
def test_reads_values(
    reader: ValueReader, sentence: str, expected: dict[str, tuple[float, float] | str]
) -> None:
    assert _read(reader, sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "The plane took off from Barcelona in 2009",
        "In '09 the pilot trained in Arizona",
        "Germanwings flight crashed at 09:40 UTC",
        "Flight 4U9525 crashed at 11:20 local time",
        "#4U9525 A320 crashed at 10:53 CET",
        "The flight 9525 dropped 3000-4000 feet per minute from 38,000 feet",
        "Crash of flight 9525 on 24 March: plane fell 32,000 feet in 8 minutes",
        "Airline shares fell 5% and lost $300 million after the crash",
        "@Plane148 says https://t.co/148dead #150dead",
        "The 18 year old victim was shot 6 times",
    ],
)
def test_does_not_read_what_is_no_count(reader: ValueReader, sentence: str) -> None:
    assert reader.read(sentence) == ()


def test_values_come_in_question_order(reader: ValueReader) -> None:
    values = reader.read("Gunman still at large; 12 injured and 3 dead, two gunmen seen")
    assert [v.question for v in values] == ["dead", "injured", "attackers", "suspect"]
    assert list(QUESTIONS) == [
        "dead", "injured", "aboard", "passengers", "attackers", "suspect", "places"
    ]
    assert set(QUESTION_KINDS) == set(QUESTIONS)
    assert QUESTION_KINDS["aboard"] is ClaimKind.CASUALTY
    assert QUESTION_KINDS["attackers"] is ClaimKind.METHOD
    assert QUESTION_KINDS["suspect"] is ClaimKind.OTHER


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        (Value("dead", 10, INF), Value("dead", 12, 12), True),
        (Value("aboard", 148, 148), Value("aboard", 150, 150), False),
        (Value("dead", 0, 150), Value("dead", 148, 148), True),
        (Value("attackers", 1, 1), Value("attackers", 2, INF), False),
        (Value("dead", 142, 150), Value("dead", 150, 150), True),
        (Value("dead", 148, 148), Value("aboard", 150, 150), True),
        (Value("suspect", state="at large"), Value("suspect", state="arrested"), False),
        (Value("suspect", state="dead"), Value("suspect", state="dead"), True),
        (Value("suspect", state="dead"), Value("dead", 1, 1), True),
    ],
)
def test_agreement(a: Value, b: Value, agree: bool) -> None:
    assert a.agrees(b) is agree
    assert b.agrees(a) is agree


def test_read_values_disagree_across_newsrooms(reader: ValueReader) -> None:
    (a,) = reader.read("142 PEOPLE ON BOARD GERMANWINGS AIRBUS A320")
    b = reader.read("150 people were on board plane that crashed, Germanwings CEO says")[0]
    assert not a.agrees(b)
    lone = reader.read("Police confirm a lone gunman")[0]
    several = reader.read("At least three separate shootings reported")[0]
    assert not lone.agrees(several)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (Value("aboard", 148, 148), "148"),
        (Value("dead", 10, INF), "at least 10"),
        (Value("dead", 142, 150), "142-150"),
        (Value("dead", 0, 150), "up to 150"),
        (Value("attackers", 2, INF), "more than 1"),
        (Value("attackers", 1, 1), "1"),
        (Value("suspect", state="at large"), "at large"),
        (Value("dead", 1.5, 1.5), "1.5"),
    ],
)
def test_labels(value: Value, label: str) -> None:
    assert value.label == label


@pytest.mark.parametrize(
    "value",
    [
        Value("dead", 10, INF),
        Value("aboard", 148, 148),
        Value("dead", 0, 150),
        Value("suspect", state="arrested"),
    ],
)
def test_dict_round_trip(value: Value) -> None:
    data = json.loads(json.dumps(value.as_dict(), allow_nan=False))
    assert Value.from_dict(data) == value


def test_open_interval_is_stored_without_infinity() -> None:
    data = Value("dead", 10, INF).as_dict()
    assert data["high"] is None and data["open"] is True


def test_replaced_death_cues_change_what_is_read() -> None:
    sentence = "148 people feared dead after crash; 150 morts selon la police"
    assert _read(ValueReader(DEFAULT_LEXICON), sentence) == {"dead": (148, 148)}
    lexicon = Lexicon.from_mapping(
        {"value_dead_cues": ["morts?"], "extend": {"value_triggers": ["mort"]}}
    )
    assert _read(ValueReader(lexicon), sentence) == {"dead": (150, 150)}


def test_bad_value_lists_name_the_key() -> None:
    with pytest.raises(ConfigError, match="value_dead_cues"):
        Lexicon.from_mapping({"value_dead_cues": ["(dead"]})
    with pytest.raises(ConfigError, match="value_number_words"):
        ValueReader(Lexicon.from_mapping({"value_number_words": ["deux"]}))


def test_sentence_without_cue_is_cheap(reader: ValueReader) -> None:
    sentence = "Thoughts with everyone in Paris tonight, such a terrible thing to happen"
    assert reader.read(sentence) == ()
    seconds = min(timeit.repeat(lambda: reader.read(sentence), number=200, repeat=5)) / 200
    assert seconds < 50e-6  # a few microseconds in practice; generous for slow CI


@pytest.mark.parametrize(
    ("sentence", "places"),
    [
        ("Shots fired at the Rideau Centre, police say", "Rideau Centre"),
        ("Reports of a shooting at Parliament Hill and the War Memorial",
         "Parliament Hill | War Memorial"),
        ("Hostages held inside the Lindt cafe in Martin Place", "Lindt"),
        ("Gunman at the War Memorial shot a soldier", "War Memorial"),
        ("A shooting in Ottawa this morning", None),  # the city, not a site
        ("BREAKING: SHOOTING AT PARLIAMENT HILL", None),  # capitals name nothing
    ],
)
def test_reads_the_named_sites_of_an_attack(
    reader: ValueReader, sentence: str, places: str | None
) -> None:
    found = {v.question: v for v in reader.read(sentence)}
    assert (found["places"].label if "places" in found else None) == places


def test_sites_agree_when_they_share_one() -> None:
    both = Value("places", state="Parliament Hill | War Memorial")
    assert both.agrees(Value("places", state="War Memorial"))
    assert not Value("places", state="Rideau Centre").agrees(both)
