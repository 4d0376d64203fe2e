"""`claimwatch ingest` and `claimwatch query` as a user runs them, on the real model."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import GERMANWINGS, germanwings_head, run_cli, write_config

from tracker.config.settings import load_settings
from tracker.embedding.base import Embedder
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import ModelError
from tracker.ingest.files import PostFile
from tracker.pipeline import IngestReport
from tracker.runtime import Runtime
from tracker.store import Store


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_germanwings_stores_every_post_once(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["ingest", str(GERMANWINGS), "--config", str(germanwings), "--json"]) == 0
    summary = _json(capsys)
    assert summary["read"] == 4489
    assert summary["stored"] == 0
    assert summary["duplicates"] == 4489
    store = Store(load_settings(germanwings, environ={}).db_path)
    assert store.count("posts") == 4489
    assert store.count("claims") > 2000  # check-worthy sentences only
    store.close()


def test_index_file_holds_one_vector_per_claim(germanwings: Path) -> None:
    settings = load_settings(germanwings, environ={})
    store = Store(settings.db_path)
    index = faiss.read_index(str(settings.index_dir / "claims.faiss"))
    ids = faiss.vector_to_array(index.id_map)
    assert len(ids) == len(set(ids.tolist()))
    assert np.array_equal(np.sort(ids), store.claim_ids())
    store.close()


def test_query_finds_the_co_pilot_claims(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["query", "the co-pilot deliberately crashed the plane", "--json",
                    "--config", str(germanwings)])
    assert code == 0
    hits = _json(capsys)
    assert isinstance(hits, list) and len(hits) == 10
    assert set(hits[0]) >= {"claim_id", "post_id", "score", "text", "author", "created_at"}
    top5 = [h["text"].lower() for h in hits[:5]]
    assert any("co-pilot" in t or "copilot" in t for t in top5), top5
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h["text"] for h in hits}) == len(hits), "identical texts are folded"


def test_query_table_on_a_terminal_shows_the_hits(
    germanwings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["query", "plane crashed in the French Alps", "-k", "3",
                    "--config", str(germanwings)]) == 0
    shown = capsys.readouterr().out
    assert "score" in shown and "Alps" in shown


BROKEN = [
    '{"id": "1", "text": "Sources say group X is behind the Nushki blast", "created_at": "2026-11-20T10:15:00Z", "author": "a"}',
    '{"id": "2", "text": "no date here at all"}',
    "this is not json",
    '{"id": "3", "text": "Police confirmed twelve people were killed in Nushki", "created_at": "2026-11-20T10:20:00Z"}',
    '{"id": "4", "text": "bad time", "created_at": "20 Nov 2026"}',
    "",
    '["an", "array"]',
    '{"id": "5", "text": "", "repost_of": "1", "created_at": "2026-11-20T10:21:00Z"}',
    '{"text": "no id on this one", "created_at": "2026-11-20T10:22:00Z"}',
    '{"id": "6", "text": "Sources say group X is behind the Nushki blast", "created_at": "2026-11-20T10:23:00Z", "author": "b"}',
]


def test_broken_lines_are_named_and_the_rest_stored(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    embedder: SentenceTransformerEmbedder,
) -> None:
    posts = tmp_path / "mixed.jsonl"
    posts.write_text("\n".join(BROKEN) + "\n", encoding="utf-8")
    assert run_cli(["ingest", str(posts), "--config", str(config_file)]) == 0
    captured = capsys.readouterr()
    assert "read 9, stored 4, duplicates 0, rejected 5" in captured.out
    for line, reason in [(2, "missing created_at"), (3, "bad JSON"), (5, "not an ISO 8601"),
                         (7, "JSON object"), (9, "missing id")]:
        said = [m for m in captured.err.splitlines() if m.startswith(f"line {line}: rejected: ")]
        assert said and reason in said[0], (line, captured.err)
    store = Store(tmp_path / "claimwatch.db")
    assert store.count("posts") == 4
    # the repost stores no claims of its own but carries the original's
    assert store.post_claim_count("file", "5") == store.post_claim_count("file", "1") == 1
    assert store.count("claims") == 3
    store.close()
    # identical text was embedded once
    assert "reused 1" in captured.out


def test_json_summary_and_strict_mode(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    embedder: SentenceTransformerEmbedder,
) -> None:
    posts = tmp_path / "mixed.jsonl"
    posts.write_text("\n".join(BROKEN) + "\n", encoding="utf-8")
    assert run_cli(["ingest", str(posts), "--config", str(config_file), "--strict",
                    "--json"]) == 1
    summary = _json(capsys)
    assert summary["stored"] == 1 and summary["rejected"] == 1
    assert summary["rejected_lines"] == [{"line": 2, "reason": "missing created_at"}]
    assert run_cli(["ingest", str(posts), "--config", str(config_file), "--json"]) == 0
    summary = _json(capsys)
    assert (summary["stored"], summary["duplicates"], summary["rejected"]) == (3, 1, 5)


def test_csv_and_standard_input(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder,
) -> None:
    csv_file = tmp_path / "posts.csv"
    csv_file.write_text(
        "id,source,author,text,created_at,metrics\n"
        'c1,rss,dawn,"Officials said the blast in Nushki killed 12 people",2026-11-20T10:15:00Z,"{""likes"": 3}"\n'
        "c2,rss,dawn,A second report on the Nushki attack came in,not-a-date,\n",
        encoding="utf-8",
    )
    assert run_cli(["ingest", str(csv_file), "--config", str(config_file), "--json"]) == 0
    summary = _json(capsys)
    assert (summary["stored"], summary["rejected"]) == (1, 1)
    assert summary["rejected_lines"][0]["line"] == 3

    line = '{"id": "s1", "text": "The blast was reportedly carried out by group X", "created_at": "2026-11-20T11:00:00Z"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(line.encode())))
    assert run_cli(["ingest", "-", "--config", str(config_file), "--json"]) == 0
    assert _json(capsys)["stored"] == 1


def test_unreadable_file_exits_1(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["ingest", "/nonexistent/posts.jsonl", "--config", str(config_file)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_index_rebuild_restores_a_deleted_index(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    embedder: SentenceTransformerEmbedder,
) -> None:
    posts = tmp_path / "p.jsonl"
    posts.write_text("\n".join(BROKEN) + "\n", encoding="utf-8")
    assert run_cli(["ingest", str(posts), "--config", str(config_file)]) == 0
    capsys.readouterr()
    for f in (tmp_path / "indexes").iterdir():
        f.unlink()
    assert run_cli(["index", "rebuild", "--config", str(config_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vectors"] == 3
    assert run_cli(["query", "who is behind the Nushki blast", "-k", "1", "--json",
                    "--config", str(config_file)]) == 0
    assert "group X" in json.loads(capsys.readouterr().out)[0]["text"]


class _FailsOnCall:
    """The real embedder, except that its ``fail_on``-th encode raises (a model crash)."""

    def __init__(self, real: SentenceTransformerEmbedder, fail_on: int) -> None:
        self.real, self.fail_on, self.calls = real, fail_on, 0

    @property
    def name(self) -> str:
        return self.real.name

    @property
    def dim(self) -> int:
        return self.real.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ModelError("the model crashed")
        return self.real.encode(texts)


def test_a_model_failure_mid_file_keeps_the_batches_before_and_a_rerun_stores_the_rest(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    posts_file = germanwings_head(tmp_path, 600)
    settings = load_settings(write_config(tmp_path), environ={})

    def ingest(model: Embedder) -> IngestReport:
        with Runtime(settings, model) as runtime:
            pipeline = runtime.pipeline()
            if isinstance(model, _FailsOnCall):
                model.calls = 0  # (building the pipeline encodes the example sentences)
            post_file = PostFile(str(posts_file))
            try:
                items = post_file.aposts(default_source="file", max_text_chars=20000)
                return asyncio.run(pipeline.ingest(items, 100))
            finally:
                post_file.close()

    # batches are staged and embedded ahead of their commits: the failure of the third
    # batch's encode ends the run with its error, and no batch from it on is committed
    failing = _FailsOnCall(embedder, fail_on=3)
    with pytest.raises(ModelError, match="the model crashed"):
        ingest(failing)
    store = Store(settings.db_path)
    kept = store.count("posts")
    store.close()
    assert kept == 200  # the two batches before it, whole

    report = ingest(embedder)
    assert report.stored == 600 - kept
    assert report.duplicates == kept
    store = Store(settings.db_path)
    assert store.count("posts") == 600
    store.close()
