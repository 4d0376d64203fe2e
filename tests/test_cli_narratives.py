"""Incidents, findings and narratives from the command line, as an analyst uses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_config

from tracker.embedding.model import SentenceTransformerEmbedder

NARRATIVE_KEYS = {"id", "incident_id", "label", "kind", "actors", "negated", "status", "size",
                  "authors", "first_seen", "first_post_id"}


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_germanwings_narratives_are_listed_most_active_first(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["narratives", "--incident", "germanwings", "--json",
                    "--config", str(germanwings)]) == 0
    found = _json(capsys)
    assert len(found) > 100
    assert set(found[0]) >= NARRATIVE_KEYS
    assert {n["incident_id"] for n in found} == {"germanwings"}
    recent = [n["recent"] for n in found]
    assert recent == sorted(recent, reverse=True), "most active first"
    largest = max(found, key=lambda n: n["size"])
    assert largest["size"] >= 50 and "germanwings" in largest["label"].lower()
    assert {n["status"] for n in found} <= {"speculative", "report"}, "no finding yet"
    # the co-pilot rumours are narratives of their own
    labels = " | ".join(n["label"].lower() for n in found if n["size"] >= 10)
    assert "co-pilot" in labels


def test_narrative_show_gives_claims_first_post_tiers_and_activity(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["narratives", "--incident", "germanwings", "--kind", "casualty", "--json",
                    "--config", str(germanwings)]) == 0
    casualty = _json(capsys)
    assert casualty and {n["kind"] for n in casualty} == {"casualty"}
    biggest = max(casualty, key=lambda n: n["size"])
    assert run_cli(["narrative", "show", str(biggest["id"]), "--json",
                    "--config", str(germanwings)]) == 0
    shown = _json(capsys)
    assert shown["id"] == biggest["id"] and shown["first_post"]["post_id"] == biggest["first_post_id"]
    assert len(shown["claims"]) == shown["claim_count"] >= 2
    assert sum(b["posts"] for b in shown["activity"]) == shown["size"]
    assert sum(shown["tiers"].values()) == shown["size"]
    assert run_cli(["narrative", "show", str(biggest["id"]), "--config", str(germanwings)]) == 0
    text = capsys.readouterr().out
    assert "activity per 10 min" in text and "first post" in text


def test_incident_list_show_and_query_within_an_incident(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["incident", "list", "--json", "--config", str(germanwings)]) == 0
    (incident,) = _json(capsys)
    assert incident["id"] == "germanwings" and incident["posts"] > 4000
    assert run_cli(["incident", "show", "germanwings", "--config", str(germanwings)]) == 0
    assert "Germanwings flight 4U9525 crash" in capsys.readouterr().out
    assert run_cli(["query", "the co-pilot was a muslim convert", "--incident", "germanwings",
                    "-k", "3", "--json", "--config", str(germanwings)]) == 0
    hits = _json(capsys)
    assert len(hits) == 3
    assert all(h["narratives"] and h["narratives"][0]["incident_id"] == "germanwings"
               for h in hits)
    assert "convert" in hits[0]["text"].lower()


POSTS = [
    {"id": "1", "author": "anon1", "text": "Sources say the TTP is behind the Nushki blast", "created_at": "2026-11-20T10:00:00Z"},
    {"id": "2", "author": "anon2", "text": "The Nushki blast was reportedly carried out by the TTP", "created_at": "2026-11-20T10:05:00Z"},
    {"id": "3", "author": "anon3", "text": "Sources say the BLA is behind the Nushki blast", "created_at": "2026-11-20T10:06:00Z"},
    {"id": "4", "author": "anon4", "text": "", "repost_of": "3", "created_at": "2026-11-20T10:07:00Z"},
    {"id": "5", "author": "fan", "text": "Pakistan beat New Zealand by six wickets in Lahore tonight", "created_at": "2026-11-20T10:08:00Z"},
]


def _posts_file(folder: Path) -> Path:
    path = folder / "posts.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in POSTS) + "\n", encoding="utf-8")
    return path


def test_incident_added_later_links_stored_posts_and_findings_set_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedder: SentenceTransformerEmbedder
) -> None:
    config = write_config(tmp_path)
    assert run_cli(["ingest", str(_posts_file(tmp_path)), "--config", str(config)]) == 0
    capsys.readouterr()
    assert run_cli(["incident", "add", "nushki", "--title", "Nushki bus bombing",
                    "--started-at", "2026-11-20T09:40:00+05:00", "--term", "Nushki",
                    "--term", "Noshki", "--json", "--config", str(config)]) == 0
    added = _json(capsys)
    assert added["linked"] == 4, "the cricket post is not linked"
    assert run_cli(["narratives", "--incident", "nushki", "--kind", "attribution", "--json",
                    "--config", str(config)]) == 0
    by_actor = {tuple(n["actors"]): n for n in _json(capsys)}
    assert set(by_actor) == {("TTP",), ("BLA",)}
    assert by_actor[("TTP",)]["size"] == 2 and by_actor[("BLA",)]["size"] == 2  # repost counts
    assert {n["status"] for n in by_actor.values()} == {"speculative"}

    assert run_cli(["finding", "add", "nushki", "CTD confirmed the BLA carried out the attack",
                    "--kind", "attribution", "--actor", "Balochistan Liberation Army",
                    "--at", "2026-11-20T12:00:00Z", "--json", "--config", str(config)]) == 0
    finding = _json(capsys)
    assert finding["actors"] == ["BLA"] and finding["status"] == "confirmed"
    changed = {tuple(n["actors"]): n["status"] for n in finding["changed"]}
    assert changed == {("TTP",): "contradicted", ("BLA",): "confirmed"}

    assert run_cli(["narratives", "--incident", "nushki", "--status", "contradicted", "--json",
                    "--config", str(config)]) == 0
    assert [n["actors"] for n in _json(capsys)] == [["TTP"]]

    assert run_cli(["incident", "close", "nushki", "--at", "2026-11-20T13:00:00Z",
                    "--config", str(config)]) == 0
    assert "closed at 2026-11-20T13:00:00Z" in capsys.readouterr().out
    late = tmp_path / "late.jsonl"
    late.write_text(json.dumps({"id": "9", "text": "New claims about the Nushki blast today",
                                "created_at": "2026-11-20T14:00:00Z"}) + "\n")
    assert run_cli(["ingest", str(late), "--json", "--config", str(config)]) == 0
    assert _json(capsys)["linked"] == 0, "a closed incident takes no new posts"


def test_unknown_incident_or_narrative_is_a_clear_error(
    config_file: Path, capsys: pytest.CaptureFixture[str], embedder: SentenceTransformerEmbedder
) -> None:
    assert run_cli(["finding", "add", "nowhere", "X did it", "--config", str(config_file)]) == 1
    assert "no incident 'nowhere'" in capsys.readouterr().err
    assert run_cli(["narrative", "show", "12345", "--config", str(config_file)]) == 1
    assert "no narrative 12345" in capsys.readouterr().err
    assert run_cli(["incident", "add", "bad id", "--title", "t", "--started-at",
                    "2026-11-20T10:00:00Z", "--config", str(config_file)]) == 2
    assert run_cli(["incident", "add", "x", "--title", "t", "--started-at", "yesterday",
                    "--config", str(config_file)]) == 2
    assert "--started-at" in capsys.readouterr().err
