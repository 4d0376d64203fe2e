"""`claimwatch eval replay` across events: several files, folders and events inside a
file, each replayed under an incident of its own on the real model; the thread filter;
clear errors for files that cannot be read; Twitter15/16 cascades as reposts."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_config

from tracker.evaluation.cascades import cascade_records
from tracker.evaluation.scoring import read_events, thread_labels

T0 = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def blast_event(event: str, start: datetime, *, veracity: str = "false") -> list[dict[str, Any]]:
    """One event in PHEME format: a rumour reposted by a new account every 30 seconds
    for 15 minutes (31 posts) and denied in a reply at minute 30 (32 posts in all);
    a non-rumour report with two replies (3 posts); and a non-rumour thread of 24 posts
    from only two accounts (too few authors to alert)."""
    rows: list[dict[str, Any]] = []
    rumour = f"{event}-r"

    def add(pid: str, minute: float, author: str, text: str, thread: str, label: str,
            **extra: Any) -> None:
        rows.append({
            "id": pid, "thread_id": thread, "event": event, "source": "x",
            "created_at": _iso(start + timedelta(minutes=minute)), "author": author,
            "text": text, "rumour_label": "non-rumour" if label == "non-rumour" else "rumour",
            "veracity": None if label == "non-rumour" else label,
            "is_source": pid == thread, "stance": None, **extra,
        })

    add(rumour, 0, "rumourmill", "Sources say the Okara Front is behind the Nushki bus blast",
        rumour, veracity)
    for n in range(1, 31):
        add(f"{rumour}{n}", n / 2, f"user{n}", "", rumour, veracity, repost_of=rumour)
    add(f"{rumour}-deny", 30, "checker", "@rumourmill That is false, no group has been named",
        rumour, veracity, stance="deny", in_reply_to=rumour)
    report = f"{event}-n"
    add(report, 2, "localdesk", "Roads around the Nushki market are closed after the blast",
        report, "non-rumour")
    add(f"{report}1", 3, "reader1", "@localdesk thanks for the update", report, "non-rumour")
    add(f"{report}2", 4, "reader2", "@localdesk stay safe everyone", report, "non-rumour")
    chat = f"{event}-c"
    add(chat, 5, "alice", "The weather in Quetta is cold and grey this morning", chat,
        "non-rumour")
    for n in range(1, 24):
        add(f"{chat}{n}", 5 + n, ("alice", "bob")[n % 2],
            f"@alice yes, and it will rain later today, {n} degrees", chat, "non-rumour")
    rows.sort(key=lambda r: r["created_at"])
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert run_cli(["eval", "replay", *args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_several_files_give_one_row_per_event_and_a_total(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    # one file holding two events (as rumoureval2017-test mixes them), and one more file
    mixed = write_jsonl(tmp_path / "mixed.jsonl", blast_event("alpha", T0)
                        + blast_event("beta/two", T0 + timedelta(days=3), veracity="true"))
    single = write_jsonl(tmp_path / "gamma.jsonl",
                         blast_event("gamma", T0 + timedelta(days=9), veracity="unverified"))
    result = eval_json(capsys, str(mixed), str(single), "--config", str(config))
    events = result["events"]
    assert [e["event"] for e in events] == ["alpha", "beta/two", "gamma"]
    # each event under an incident of its own, named after it (an id-safe form)
    assert [e["incidents"] for e in events] == [["alpha"], ["beta-two"], ["gamma"]]
    assert result["incidents"] == ["alpha", "beta-two", "gamma"]
    assert [e["posts"] for e in events] == [59, 59, 59]
    # threads of >= 20 posts: the rumour and the two-author chat; not the 3-post report
    assert events[0]["threads"] == {"false": 1, "unverified": 0, "true": 0, "non-rumour": 1}
    assert events[1]["threads"] == {"false": 0, "unverified": 0, "true": 1, "non-rumour": 1}
    for e in events:  # the rumour spread fast from 30 accounts: alerted before its denial
        assert e["rumours_covered"] == 1 and e["rumours_share"] == 1.0
        # a speculation alert covered it; no trusted sources disagreed on any value
        assert e["rumours_covered_by_speculation"] == 1 and e["rumours_covered_by_conflict"] == 0
        assert e["non_rumour_covered"] == 0
        assert e["covered_with_denial"] == 1 and e["alerted_before_denial"] == 1
        assert 0 < e["median_lead_before_denial_minutes"] < 30
        assert e["raised"] >= 1 and e["alert_precision"] == 1.0
        # the posts span 28.5 minutes: the load is over one hour at least
        assert e["span_days"] == round(1 / 24, 4)
        assert e["alerts_per_day"] == round(e["raised"] * 24, 4)
    assert events[0]["false_unverified_covered"] == 1
    assert events[1]["false_unverified_covered"] == 0  # a true rumour
    total = result["total"]
    assert total["threads"] == {"false": 1, "unverified": 1, "true": 1, "non-rumour": 3}
    assert total["rumours_covered"] == 3 and total["false_unverified_covered"] == 2
    assert total["posts"] == 177 == result["posts"]
    assert total["raised"] == sum(e["raised"] for e in events)
    # the present keys stay, for the whole run
    assert result["labels"]["false"]["threads"] == 1
    assert result["recall"] == 1.0 and result["non_rumour_share"] == 0.0
    assert result["file"] is None and result["files"] == [str(mixed), str(single)]

    assert run_cli(["eval", "replay", str(mixed), str(single), "--config", str(config)]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("│")]
    names = [row.split("│")[1].strip() for row in rows]
    assert names[:4] == ["alpha", "beta/two", "gamma", "total"]
    assert "3 (100%)" in rows[3]  # rumours covered, total row
    assert "recall 100.0%" in table


def test_min_posts_decides_which_threads_count(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    path = write_jsonl(tmp_path / "alpha.jsonl", blast_event("alpha", T0))
    every = eval_json(capsys, str(path), "--min-posts", "1", "--config", str(config))
    assert every["min_posts"] == 1
    assert every["total"]["threads"] == {"false": 1, "unverified": 0, "true": 0,
                                         "non-rumour": 2}
    assert every["labels"]["non-rumour"]["threads"] == 2
    only_big = eval_json(capsys, str(path), "--min-posts", "25", "--config", str(config))
    assert only_big["total"]["threads"] == {"false": 1, "unverified": 0, "true": 0,
                                            "non-rumour": 0}
    none = eval_json(capsys, str(path), "--min-posts", "33", "--config", str(config))
    assert sum(none["total"]["threads"].values()) == 0
    assert none["total"]["rumours_covered"] == 0
    assert none["total"]["raised"] == every["total"]["raised"]  # alerts are not filtered


def test_a_folder_stands_for_its_event_files(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    folder = tmp_path / "events"
    folder.mkdir()
    write_jsonl(folder / "b.jsonl", blast_event("bravo", T0 + timedelta(days=1)))
    with gzip.open(folder / "a.jsonl.gz", "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(r) + "\n" for r in blast_event("alpha", T0))
    (folder / "README.md").write_text("not an event\n", encoding="utf-8")
    result = eval_json(capsys, str(folder), "--config", str(config))
    assert [e["event"] for e in result["events"]] == ["alpha", "bravo"]
    assert result["file"] == str(folder)
    assert [Path(f).name for f in result["files"]] == ["a.jsonl.gz", "b.jsonl"]
    assert result["total"]["rumours_covered"] == 2


def test_missing_and_unreadable_files_are_named_and_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    good = write_jsonl(tmp_path / "alpha.jsonl", blast_event("alpha", T0))
    missing = tmp_path / "nowhere.jsonl"
    assert run_cli(["eval", "replay", str(good), str(missing), "--config", str(config)]) == 1
    assert f"{missing} does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"this is not gzip data at all")
    assert run_cli(["eval", "replay", str(broken), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{broken} cannot be read" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["eval", "replay", str(empty), "--config", str(config)]) == 1
    assert f"{empty} is a folder with no .jsonl" in capsys.readouterr().err
    unlabelled = write_jsonl(tmp_path / "plain.jsonl", [
        {"id": "1", "text": "hello there world", "created_at": _iso(T0)}
    ])
    assert run_cli(["eval", "replay", str(unlabelled), "--config", str(config)]) == 1
    assert f"{unlabelled}: event 'plain' has no labelled threads" in capsys.readouterr().err


CASCADE = {
    "root_id": "500", "dataset": "twitter15", "label": "non-rumor",
    "text": "Sources say the Okara Front is behind the Nushki bus blast",
    "source_created_at": "2014-05-01T10:00:00.250Z", "root_uid": "77", "n_events": 4,
    "events": [[0.5, "81", "77", "501"], [2.25, "82", "81", None], [2.25, "83", "77", "500"],
               [90.0, "84", "82", None]],
}


def test_a_cascade_becomes_its_source_and_reposts_at_the_real_delays() -> None:
    rows = cascade_records(CASCADE)
    assert [r["id"] for r in rows] == ["500", "501", "500-1", "500-3"]  # 500 is the source
    assert rows[0] == {
        "id": "500", "author": "77", "text": CASCADE["text"],
        "created_at": "2014-05-01T10:00:00.250Z", "is_source": True, "thread_id": "500",
        "event": "twitter15", "source": "x", "rumour_label": "non-rumour", "veracity": None,
    }
    assert [r["created_at"] for r in rows[1:]] == [
        "2014-05-01T10:00:30.250Z", "2014-05-01T10:02:15.250Z", "2014-05-01T11:30:00.250Z"
    ]
    assert all(r["repost_of"] == "500" and r["text"] == "" for r in rows[1:])
    assert [r["author"] for r in rows[1:]] == ["81", "82", "84"]
    assert [r["id"] for r in cascade_records(CASCADE, max_minutes=60)] == ["500", "501", "500-1"]
    assert len(cascade_records(CASCADE, max_events=1)) == 2
    false = cascade_records({**CASCADE, "label": "false"})
    assert {(r["rumour_label"], r["veracity"]) for r in false} == {("rumour", "false")}
    (thread,) = thread_labels(false)
    assert thread.thread_id == "500" and thread.label == "false" and len(thread.posts) == 4


def test_a_cascade_file_replays_as_labelled_threads(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    path = tmp_path / "twitter15_cascades.jsonl.gz"
    fast = {  # 40 accounts repost within 20 minutes: a fast false rumour
        **CASCADE, "root_id": "900", "label": "false", "root_uid": "1",
        "events": [[i / 2, str(100 + i), "1", None] for i in range(1, 41)],
    }
    slow = {  # 25 reposts a day apart: a non-rumour that never spreads fast
        **CASCADE, "root_id": "700", "text": "Heavy rain expected in Quetta this weekend",
        "source_created_at": "2014-05-03T10:00:00Z", "root_uid": "2",
        "events": [[i * 1440.0, str(300 + i), "2", str(7000 + i)] for i in range(1, 26)],
    }
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(c) + "\n" for c in (fast, slow))
    (event,) = read_events(path)
    assert event.name == "twitter15" and len(event.records) == 41 + 26
    result = eval_json(capsys, str(path), "--config", str(config))
    assert result["incidents"] == ["twitter15"]
    labels = result["labels"]
    assert labels["false"]["threads"] == 1 and labels["false"]["alerted"] == 1
    assert 0 < labels["false"]["median_minutes"] <= 20
    assert labels["non-rumour"] == {"threads": 1, "alerted": 0, "share": 0.0,
                                    "median_minutes": None}
    # capped at 10 reposts each, neither cascade has 20 posts left to count
    capped = eval_json(capsys, str(path), "--cascade-events", "10", "--config", str(config))
    assert capped["posts"] == 22 and sum(capped["total"]["threads"].values()) == 0
    hours = eval_json(capsys, str(path), "--cascade-hours", "0.25", "--min-posts", "1",
                      "--config", str(config))
    assert hours["posts"] == 1 + 30 + 1  # reposts within 15 minutes; the slow one's source


def test_background_posts_join_the_event_of_their_name(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """RumourEval's files hold only rumour reply threads; --background adds the posts
    of the stream they were drawn from (PHEME's source tweets) to the event of the same
    name, so its rules meet the reporting around the rumour and its non-rumour threads."""
    config = write_config(tmp_path)
    rows = blast_event("alpha", T0)
    rumour_only = write_jsonl(tmp_path / "alpha.jsonl",
                              [r for r in rows if r["thread_id"] == "alpha-r"])
    around = tmp_path / "sources"
    around.mkdir()
    # the whole stream again (the rumour's posts among it: not counted twice), a bad line,
    # and an event of another name (not replayed)
    write_jsonl(around / "alpha.jsonl", rows)
    with (around / "alpha.jsonl").open("a", encoding="utf-8") as stream:
        stream.write("not json\n")
    write_jsonl(around / "zeta.jsonl", blast_event("zeta", T0 + timedelta(days=2)))

    alone = eval_json(capsys, str(rumour_only), "--config", str(config))
    assert alone["total"]["threads"] == {"false": 1, "unverified": 0, "true": 0,
                                         "non-rumour": 0}
    assert alone["posts"] == 32 and alone["background"] == []
    assert alone["total"]["rejected"] == 0

    merged = eval_json(capsys, str(rumour_only), "--background", str(around),
                       "--config", str(config))
    assert [e["event"] for e in merged["events"]] == ["alpha"]
    assert merged["posts"] == 59  # 32 + the report (3) and the chat (24), once each
    assert merged["total"]["rejected"] == 1  # the bad background line, counted
    assert merged["total"]["threads"] == {"false": 1, "unverified": 0, "true": 0,
                                          "non-rumour": 1}
    assert merged["total"]["rumours_covered"] == 1
    assert merged["total"]["non_rumour_covered"] == 0
    assert merged["files"] == [str(rumour_only)]
    assert [Path(f).name for f in merged["background"]] == ["alpha.jsonl", "zeta.jsonl"]
