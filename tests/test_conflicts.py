"""Conflicting reports as a verification desk meets them: newsrooms quoting the police on
"at least three separate shootings" while others quote them on "a lone gunman", both
spreading, until the police's own post settles it. Real model, real replay, real CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_config

from tracker.claims.lexicon import DEFAULT_LEXICON
from tracker.claims.values import ValueReader
from tracker.models import Tier
from tracker.rules.conflicts import find_conflicts
from tracker.store import ValuePost

START = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)

INCIDENT = """
[[incidents]]
id = "mall"
title = "City mall shooting"
description = "Shots were fired at a shopping mall in the city centre; several people were hurt."
terms = ["mall"]
started_at = "2026-11-21T17:55:00Z"

[tiers]
official_authors = ["CityPolice"]
verified_authors = ["NewsroomA", "NewsroomC", "NewsroomB", "NewsroomD"]
"""


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def scenario(settle: bool = True) -> list[dict[str, Any]]:
    """From minute 1 newsrooms A and C quote the police on three separate shootings,
    newsrooms B and D on a lone gunman; people relay both. At minute 30 the police post
    that they confirm a single gunman (when ``settle``)."""
    posts: list[dict[str, Any]] = []

    def post(pid: str, minute: float, author: str, text: str) -> None:
        posts.append({"id": pid, "source": "x", "author": author, "text": text,
                      "created_at": _at(minute), "metrics": {"followers": 900}})

    three = "Police say there were at least three separate shootings at the mall"
    lone = "Police say a lone gunman opened fire at the mall"
    for i, minute in enumerate(range(1, 21, 2)):
        post(f"a{i}", minute, ("NewsroomA", "NewsroomC")[i % 2], three)
        post(f"b{i}", minute + 0.5, ("NewsroomB", "NewsroomD")[i % 2], lone)
        post(f"ra{i}", minute + 0.7, f"relay{i}", f"RT @NewsroomA: {three}")
        post(f"rb{i}", minute + 0.9, f"echo{i}", f"RT @NewsroomB: {lone}")
    # casualty figures that agree within a stated range: no conflict on the toll
    post("t1", 3, "NewsroomA", "At least 10 people were injured at the mall, police say")
    post("t2", 4, "NewsroomC", "At least 10 people were injured in the mall shooting")
    post("t3", 5, "NewsroomB", "12 people were injured at the mall, police say")
    post("t4", 6, "NewsroomD", "Police: 12 people injured at the mall")
    if settle:
        post("police", 30, "CityPolice", "Police confirm a single gunman carried out the mall attack")
    return posts


def replay(tmp_path: Path, capsys: pytest.CaptureFixture[str], posts: list[dict[str, Any]],
           name: str) -> tuple[list[dict[str, Any]], Path]:
    folder = tmp_path / name
    folder.mkdir()
    config = write_config(folder, INCIDENT)
    path = folder / "posts.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    assert run_cli(["replay", str(path), "--config", str(config), "--json",
                    "--db", str(folder / "claimwatch.db")]) == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    return events, config


def narratives_of(config: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert run_cli(["narratives", "--incident", "mall", "--json", "--all",
                    "--config", str(config)]) == 0
    return list(json.loads(capsys.readouterr().out))


def test_newsrooms_disagreeing_raise_a_conflict_that_the_police_settle(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    events, config = replay(tmp_path, capsys, scenario(), "settled")
    conflict = [e for e in events if e["rule"] == "conflicting-reports"]
    raised = next(e for e in conflict if e["event"] == "raised")
    assert raised["at"] < _at(30), "the conflict alerts before the police settle it"
    assert raised["conflict"]["question"] == "attackers"
    sides = {s["value"]: s for s in raised["conflict"]["sides"]}
    assert set(sides) == {"1", "more than 1"}
    assert set(sides["more than 1"]["sources"]) == {"NewsroomA", "NewsroomC"}
    assert set(sides["1"]["sources"]) == {"NewsroomB", "NewsroomD"}
    assert all(s["posts"] > s["trusted_posts"] >= 2 for s in sides.values()), "relays count"
    assert "how many attackers" in raised["label"] and "NewsroomA" in raised["reason"]
    # the figures "at least 10" and "12" injured agree: no conflict on them
    assert {e["conflict"]["question"] for e in conflict} == {"attackers"}

    resolved = [e for e in conflict if e["event"] == "resolved"]
    assert resolved and _at(30) <= resolved[0]["at"] <= _at(31)
    assert resolved[0]["reason"].startswith("settled by a finding")
    assert "single gunman" in resolved[0]["reason"]

    found = {n["label"]: n for n in narratives_of(config, capsys)}
    three = next(n for label, n in found.items() if "three separate shootings" in label)
    lone = next(n for label, n in found.items() if "lone gunman" in label)
    assert three["status"] == "contradicted" and lone["status"] == "confirmed"
    assert not three["conflicts"], "a settled conflict is no longer shown on its sides"


def test_an_open_conflict_shows_on_its_narratives_and_in_every_channel_shape(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ingested (no replay settling the end), the conflict is still open: the narratives
    on each side show it, and the alert renders its sides for every channel."""
    config = write_config(tmp_path, INCIDENT)
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in scenario(settle=False)),
                    encoding="utf-8")
    assert run_cli(["ingest", str(path), "--config", str(config)]) == 0
    capsys.readouterr()
    assert run_cli(["alerts", "--json", "--config", str(config)]) == 0
    alerts = json.loads(capsys.readouterr().out)
    raised = next(a for a in alerts if a["rule"] == "conflicting-reports")
    assert raised["event"] == "raised" and raised["ratio"] == 2.0
    open_sides = [n for n in narratives_of(config, capsys) if n["conflicts"]]
    labels = " | ".join(n["label"] for n in open_sides)
    assert "three separate shootings" in labels and "lone gunman" in labels
    assert open_sides[0]["conflicts"][0]["question"] == "how many attackers there were"
    assert {frozenset(n["conflicts"][0]["values"]) for n in open_sides} == {
        frozenset({"1", "more than 1"})
    }

    # the table marks them too ("[...]" printed as written, not read as markup)
    assert run_cli(["narratives", "--incident", "mall", "--config", str(config)]) == 0
    table = " ".join(capsys.readouterr().out.split())
    assert "[conflicting" in table

    raised.pop("deliveries")
    from alerts import render
    from tracker.models import Alert

    alert = Alert.from_dict(raised)
    assert alert.conflict is not None and alert.as_dict()["conflict"] == raised["conflict"]
    assert "trusted sources disagree on how many attackers" in render.headline(alert)
    body = render.text(alert)
    assert "Side 1:" in body and "Side 2:" in body and "NewsroomB" in body
    slack = json.dumps(render.slack_blocks(alert))
    assert "Side 2" in slack


def test_conflicts_replay_the_same_in_any_line_order(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = scenario()
    forward, _ = replay(tmp_path, capsys, posts, "forward")
    backward, _ = replay(tmp_path, capsys, posts[::-1], "backward")

    def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["event"], e["at"], e["rule"], e["reason"], json.dumps(e["conflict"]))
                for e in events]

    assert any(e["conflict"] for e in forward) and shape(forward) == shape(backward)


def _ingested(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
              batches: list[list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The conflict alerts after ``claimwatch ingest`` of each batch, one file after the
    other: (event, time, question, sides' values), oldest first."""
    folder = tmp_path / name
    folder.mkdir()
    config = write_config(folder, INCIDENT)
    for n, batch in enumerate(batches):
        path = folder / f"{n}.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in batch), encoding="utf-8")
        assert run_cli(["ingest", str(path), "--config", str(config)]) == 0
    capsys.readouterr()
    assert run_cli(["alerts", "--config", str(config), "--json"]) == 0
    return sorted(
        (a["event"], a["at"], a["conflict"]["question"],
         sorted(s["value"] for s in a["conflict"]["sides"]))
        for a in json.loads(capsys.readouterr().out) if a["rule"] == "conflicting-reports"
    )


def test_a_conflict_is_found_whichever_side_s_reports_arrive_first(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # each side's newsrooms come in by a source of their own: the second source's posts
    # are all older than the first's latest, and the disagreement is only seen with both
    posts = scenario()
    three = [p for p in posts if p["id"].startswith(("a", "ra"))]
    lone = [p for p in posts if p["id"].startswith(("b", "rb"))]
    rest = [p for p in posts if p not in three and p not in lone]
    together = _ingested(tmp_path, capsys, "together", [posts])
    assert [e[0] for e in together] == ["raised", "resolved"]  # settled at minute 30
    assert together[0][1] < _at(30) <= together[1][1] and together[0][3] == ["1", "more than 1"]
    assert _ingested(tmp_path, capsys, "three-first", [three + rest, lone]) == together
    assert _ingested(tmp_path, capsys, "lone-first", [lone, three, rest]) == together


def _post(n: int, author: str, tier: Tier, text: str, reader: ValueReader) -> ValuePost:
    values = tuple(v.as_dict() for v in reader.read(text))
    return ValuePost(n, 1, "x", str(n), author, tier, START + timedelta(minutes=n), values, ())


def test_a_side_needs_trusted_sources_and_ranges_back_the_one_answer_they_allow() -> None:
    reader = ValueReader(DEFAULT_LEXICON)
    v, u = Tier.VERIFIED, Tier.UNVERIFIED
    posts = [
        _post(1, "RT_com", v, "Airbus A320 with 142 passengers and 6 crew members crashes", reader),
        _post(2, "YahooNews", v, "Germanwings plane carrying 142 passengers crashed", reader),
        _post(3, "AlArabiya", v, "148 passengers were on board the Airbus A320", reader),
        _post(4, "someone", u, "148 passengers were on board the plane", reader),
    ]
    assert find_conflicts(posts, 60, min_posts=2, min_authors=2, min_sides=2) == {}
    posts.append(_post(5, "ABC", v, "A plane carrying at least 148 passengers crashed", reader))
    found = find_conflicts(posts, 60, min_posts=2, min_authors=2, min_sides=2)
    sides = {s.value: s for s in found["passengers"].sides}
    assert set(sides) == {"142", "148"}
    assert set(sides["148"].sources) == {"AlArabiya", "ABC"} and sides["148"].posts == 3
    # 142 passengers and 6 crew is 148 aboard: no conflict on the people aboard
    assert "aboard" not in found
    # "up to 150" agrees with both figures, so it backs neither
    posts += [_post(6, "Reuters", v, "Plane crash: up to 150 people on board", reader)]
    again = find_conflicts(posts, 60, min_posts=2, min_authors=2, min_sides=2)
    assert {s.value for s in again["passengers"].sides} == {"142", "148"}


def test_eval_replay_counts_threads_covered_by_conflict_alerts_apart(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Labelled as PHEME threads (each newsroom post with its relays), the disagreeing
    reports are covered by the conflict alert, not by a speculation alert."""
    rows = []
    for p in scenario(settle=False):
        pid = p["id"]
        thread = pid[1:] if pid.startswith("r") else pid
        label = {"a": "false", "b": "true"}.get(thread[0])
        rows.append({**p, "event": "mall", "thread_id": thread,
                     "is_source": pid == thread, "rumour_label": "rumour" if label else
                     "non-rumour", "veracity": label})
    path = tmp_path / "mall.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = write_config(tmp_path, INCIDENT.split("[tiers]")[0].replace(
        'id = "mall"', 'id = "mall-event"') + "[tiers]" + INCIDENT.split("[tiers]")[1])
    assert run_cli(["eval", "replay", str(path), "--config", str(config), "--min-posts", "1",
                    "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["rumours_covered_by_conflict"] >= 4
    assert total["rumours_covered_by_speculation"] == 0
    assert total["rumours_covered"] == total["rumours_covered_by_conflict"]
    assert total["non_rumour_covered"] == 0


def test_reports_placing_the_attack_at_different_sites_conflict() -> None:
    reader = ValueReader(DEFAULT_LEXICON)
    v = Tier.VERIFIED
    posts = [
        _post(1, "CBCNews", v, "Shots fired at the Rideau Centre, police say", reader),
        _post(2, "CTVNews", v, "Police respond to shots fired at the Rideau Centre", reader),
        _post(3, "Reuters", v, "Gunman opened fire at the War Memorial", reader),
        _post(4, "AP", v, "A shooting at the War Memorial and Parliament Hill", reader),
        _post(5, "BBCWorld", v, "Shots heard near Parliament Hill", reader),
    ]
    found = find_conflicts(posts, 60, min_posts=2, min_authors=2, min_sides=2)
    assert found["places"].asks == "where the attacks took place"
    sides = {s.value: set(s.sources) for s in found["places"].sides}
    # a report naming two sites backs both; the Rideau Centre is against both of them
    assert sides == {"Rideau Centre": {"CBCNews", "CTVNews"},
                     "War Memorial": {"Reuters", "AP"}, "Parliament Hill": {"AP", "BBCWorld"}}
    # without the Rideau Centre reports, AP's two sites keep the others from conflicting
    assert "places" not in find_conflicts(
        posts[2:], 60, min_posts=2, min_authors=2, min_sides=2
    )


def test_a_conflict_nobody_settles_cools_once_a_side_falls_silent(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    events, _ = replay(tmp_path, capsys, scenario(settle=False), "cooled")
    conflict = [e for e in events if e["rule"] == "conflicting-reports"]
    # the sides keep spreading after the raise (two posts a minute each): it escalates
    assert [e["event"] for e in conflict] == ["raised", "escalated", "resolved"]
    raised, escalated, resolved = conflict
    assert escalated["follows"] == resolved["follows"] == raised["alert_id"]
    assert escalated["spread_rate"] >= 2 * raised["spread_rate"] - 1e-9
    # a side's last two trusted posts are at minutes 17 and 19: it lacks support from
    # minute 77 (60-minute window), and the alert resolves 60 minutes later
    assert _at(136) <= resolved["at"] <= _at(138)
    assert resolved["reason"].startswith(
        "cooled: trusted sources no longer disagree on how many attackers there were"
    )
