"""Killing `claimwatch ingest` partway loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import ROOT, germanwings_head, run_cli, write_config

from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.store import Store


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_sigkill_during_ingest_then_rerun_stores_each_post_once(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    posts = germanwings_head(tmp_path, 1500)
    config = write_config(tmp_path, "[ingest]\nbatch_posts = 200\n")
    db = tmp_path / "claimwatch.db"

    with subprocess.Popen(
        [sys.executable, "-m", "tracker", "ingest", str(posts), "--config", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    ) as proc:
        try:
            deadline = time.monotonic() + 300
            while _stored(db) < 400:
                if proc.poll() is not None:
                    pytest.fail(f"ingest ended early: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "ingest made no progress"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
    partial = _stored(db)
    assert 400 <= partial < 1500, "the kill came partway"

    assert run_cli(["ingest", str(posts), "--config", str(config)]) == 0

    store = Store(db)
    assert store.count("posts") == 1500
    claim_ids = store.claim_ids()
    index = faiss.read_index(str(tmp_path / "indexes" / "claims.faiss"))
    held = faiss.vector_to_array(index.id_map)
    assert len(held) == len(set(held.tolist())), "a claim is in the index twice"
    assert np.array_equal(np.sort(held), claim_ids), "index and database disagree"
    # every claim's text has exactly one stored vector
    assert store.count("embeddings") == len(store.same_text_counts(
        [r.text_hash for r in store.claims(claim_ids.tolist()).values()]
    ))
    store.close()


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_lost_or_damaged_index_is_mended_on_open(
    tmp_path: Path, damage: str, embedder: SentenceTransformerEmbedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    posts = germanwings_head(tmp_path, 60)
    config = write_config(tmp_path)
    assert run_cli(["ingest", str(posts), "--config", str(config)]) == 0
    index_file = tmp_path / "indexes" / "claims.faiss"
    if damage == "delete":
        index_file.unlink()
    else:
        index_file.write_bytes(index_file.read_bytes()[:100])
    code = run_cli(["query", "plane crash in France", "-k", "3", "--json", "--config", str(config)])
    if damage == "delete":
        assert code == 0
        saved = faiss.read_index(str(index_file))  # keep it alive while reading its ids
        held = faiss.vector_to_array(saved.id_map)
        store = Store(tmp_path / "claimwatch.db")
        assert np.array_equal(np.sort(held), store.claim_ids())
        store.close()
    else:
        assert code == 1
        assert "index rebuild" in capsys.readouterr().err
        assert run_cli(["index", "rebuild", "--config", str(config)]) == 0
        assert run_cli(["query", "plane crash", "--config", str(config)]) == 0
