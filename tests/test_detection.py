"""The detection model on a scenario an analyst meets: newsrooms report an attack steadily
while an attribution rumour spreads through reposts and replies, then an official post
("investigation links the attack to X") settles who did it. Real model, real replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_config

START = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
NEWSROOMS = ("dawn_com", "Reuters", "geonews", "bbcurdu")

INCIDENT = """
[[incidents]]
id = "quetta"
title = "Quetta market bombing"
description = "A bomb exploded in a crowded market in Quetta, Balochistan."
terms = ["Quetta"]
started_at = "2026-11-20T04:55:00Z"

[tiers]
official_authors = ["CTDBalochistan"]
verified_authors = ["dawn_com", "Reuters", "geonews", "bbcurdu"]

[[rules]]
name = "outrunning"
window_minutes = 10.0
ratio = 3.0
min_posts = 5
min_authors = 3
verified_floor = 0.2
cooldown_minutes = 20.0
resolve_after_minutes = 60.0
verified_scope = "{scope}"
"""


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def scenario() -> list[dict[str, Any]]:
    """Minute 0 is 05:00Z. Newsrooms post two reports a minute for 60 minutes (on what
    happened and on the toll, on the police's word). From minute 2 a "TTP did it" rumour
    spreads: its post, reposts and replies (a question, a denial). A newsroom carries a
    hedged "reports of a second attacker". At minute 40 the CTD posts its finding."""
    posts: list[dict[str, Any]] = []

    def post(pid: str, minute: float, author: str, text: str, **extra: Any) -> None:
        posts.append({"id": pid, "source": "x", "author": author, "text": text,
                      "created_at": _at(minute), "metrics": {"followers": 500}, **extra})

    for minute in range(60):
        for half, what in ((0.0, "toll"), (0.5, "scene")):
            who = NEWSROOMS[(2 * minute + (what == "scene")) % len(NEWSROOMS)]
            if what == "toll":
                text = f"Police confirm {minute // 10 + 12} people were killed in the Quetta market blast."
            else:
                text = "Police say rescue teams are at the Quetta market blast site."
            post(f"n{minute}{what}", minute + half, who, text)
    post("r0", 2, "truthseeker", "TTP is behind the Quetta market blast, everyone knows it")
    n = 0
    for minute in range(3, 39):
        n += 1
        post(f"rt{n}", minute, f"user{n}", "", repost_of="r0")
        if minute % 3 == 0:
            post(f"re{n}", minute + 0.3, f"replier{n}", "Exactly, they did it again", reply_to="r0")
    post("q1", 6.4, "asker", "Is this confirmed? Any source?", reply_to="r0")
    post("d1", 7.4, "denier", "This is fake, stop spreading it", reply_to="r0")
    post("h0", 8, "dawn_com", "Reports of a second attacker at the Quetta market, not confirmed.")
    post("ctd", 40, "CTDBalochistan",
         "CTD: preliminary investigation links the Quetta market attack to the BLA.")
    for minute in range(41, 50):  # the rumour goes on after the finding
        n += 1
        post(f"rt{n}", minute, f"user{n}", "", repost_of="r0")
    return posts


def replay(tmp_path: Path, capsys: pytest.CaptureFixture[str], posts: list[dict[str, Any]],
           scope: str = "question", name: str = "quetta") -> list[dict[str, Any]]:
    """Replay the posts into the configured database of a fresh folder; the events."""
    folder = tmp_path / f"{name}-{scope}"
    folder.mkdir()
    config = write_config(folder, INCIDENT.replace("{scope}", scope))
    path = folder / "posts.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    assert run_cli(["replay", str(path), "--config", str(config), "--json",
                    "--db", str(folder / "claimwatch.db")]) == 0
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]


def narratives_of(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                  name: str = "quetta-question") -> list[dict[str, Any]]:
    """Every narrative the replay left in its database, singletons too."""
    config = tmp_path / name / "claimwatch.toml"
    assert run_cli(["narratives", "--incident", "quetta", "--json", "--all",
                    "--config", str(config)]) == 0
    return list(json.loads(capsys.readouterr().out))


def test_attribution_rumour_alerts_before_the_finding_and_resolves_quoting_it(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    events = replay(tmp_path, capsys, scenario())
    rumour = [e for e in events if e["actors"] == ["TTP"]]
    assert next(e["event"] for e in rumour) == "raised"
    raised = rumour[0]
    assert raised["at"] < _at(40), "the rumour alerts before the official finding"
    assert raised["status"] == "speculative" and raised["kind"] == "attribution"
    # compared with verified reporting on who did it (none yet), not with the newsrooms'
    # two reports a minute on the toll and the scene
    assert raised["verified_rate"] == 0.0
    assert "who did it" in raised["reason"] and "repl" in raised["reason"]
    resolved = [e for e in rumour if e["event"] == "resolved"]
    assert resolved and _at(40) <= resolved[0]["at"] <= _at(41)
    assert resolved[0]["status"] == "contradicted"
    assert resolved[0]["reason"].startswith("contradicted by a finding")
    assert "links the Quetta market attack to the BLA" in resolved[0]["reason"]
    # nothing else alerted: not the newsrooms' reports, not their hedged second attacker
    assert {e["narrative_id"] for e in events} == {raised["narrative_id"]}

    found = {n["label"]: n for n in narratives_of(tmp_path, capsys)}
    hedged = next(n for label, n in found.items() if "second attacker" in label)
    toll = next(n for label, n in found.items() if "people were killed" in label)
    scene = next(n for label, n in found.items() if "rescue teams" in label)
    ttp = next(n for n in found.values() if n["actors"] == ["TTP"])
    # a newsroom's hedged claim is speculation, its reports on the police's word are not
    assert hedged["status"] == "speculative"
    assert toll["status"] != "speculative" and scene["status"] == "report"
    assert ttp["status"] == "contradicted"
    # the rumour's replies are its conversation, with their stance
    assert ttp["replies"] >= 14
    assert ttp["stances"]["deny"] >= 1 and ttp["stances"]["query"] >= 1
    reactions = [label for label in found if "Exactly" in label or "confirmed?" in label]
    assert not reactions, "replies that only react form no narrative"


def test_incident_wide_verified_rate_drowns_the_same_rumour(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kept as an option: against everything newsrooms post (2/min), the rumour's 1-1.5
    posts a minute never reach 3x, which is why the default compares on its question."""
    events = replay(tmp_path, capsys, scenario(), scope="incident")
    assert not [e for e in events if e["actors"] == ["TTP"] and e["event"] == "raised"]


def test_the_scenario_replays_the_same_in_any_line_order(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = scenario()
    forward = replay(tmp_path, capsys, posts, name="forward")
    backward = replay(tmp_path, capsys, posts[::-1], name="backward")

    def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["event"], e["at"], e["narrative_id"], e["reason"]) for e in events]

    assert forward and shape(forward) == shape(backward)
