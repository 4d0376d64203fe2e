"""Index kinds answer like the exact index, remove what they are told, survive a reopen, and
auto moves to ivf in the background without losing a vector or a query."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from conftest import GERMANWINGS, germanwings_head, run_cli, write_config

import tracker.index.claim_index as index_module
from tracker.config.settings import IndexSettings
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.index.claim_index import ClaimIndex
from tracker.models import Claim, Post
from tracker.store import NewPost, Store

STORED = 400  # real claim texts held in the indexes
QUERIES = 60  # other real texts used as queries


@pytest.fixture(scope="module")
def real(embedder: SentenceTransformerEmbedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claim ids (n,), their MiniLM vectors (n, 384) and query vectors (q, 384), from
    distinct germanwings texts."""
    texts: list[str] = []
    for line in GERMANWINGS.read_text(encoding="utf-8").splitlines():
        text = " ".join(json.loads(line)["text"].split())
        if len(text) > 30 and text not in texts:
            texts.append(text)
        if len(texts) == STORED + QUERIES:
            break
    vectors = embedder.encode(texts)
    # distinct texts can still embed alike: keep one of each near-identical pair
    keep: list[int] = []
    for i in range(STORED):
        if all(float(vectors[i] @ vectors[j]) < 0.995 for j in keep):
            keep.append(i)
    ids = np.arange(1, len(keep) + 1, dtype=np.int64) * 7  # not 0..n-1: ids are claim ids
    return ids, vectors[keep], vectors[STORED:]


def _filled(
    folder: Path, kind: str, ids: np.ndarray, vectors: np.ndarray, **kw: Any
) -> ClaimIndex:
    """An index of ``kind`` holding ``ids``; any background build finished."""
    index = ClaimIndex(folder, "m", vectors.shape[1], IndexSettings(kind=kind), **kw)  # type: ignore[arg-type]
    index.add(ids, vectors, replace=False)
    assert index.join_build(timeout=300)
    return index


def _recall_at_10(index: ClaimIndex, exact: ClaimIndex, queries: np.ndarray) -> float:
    _, got = index.search(queries, 10)
    _, want = exact.search(queries, 10)
    return float(np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)]))


def _finds_itself(index: ClaimIndex, ids: np.ndarray, vectors: np.ndarray) -> None:
    scores, found = index.search(vectors, 1)
    assert np.array_equal(found[:, 0], ids), "an exact duplicate did not find its claim"
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)


def _store(path: Path, vectors: np.ndarray) -> Store:
    """A database holding one claim (ids 1..n) per vector, embedded for model "m"."""
    store = Store(path)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    posts = [
        NewPost(Post(source="t", id=str(i), text=f"text {i}", created_at=now), f"p{i}",
                [Claim(f"text {i}", text_hash=f"h{i}")])
        for i in range(len(vectors))
    ]
    store.add_posts(posts, "m", {f"h{i}": v for i, v in enumerate(vectors)})
    return store


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_each_kind_answers_like_the_exact_index(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray], kind: str
) -> None:
    ids, vectors, queries = real
    exact = _filled(tmp_path / "flat", "flat", ids, vectors)
    index = _filled(tmp_path / kind, kind, ids, vectors)
    assert index.kind == kind and len(index) == len(ids)
    _, flat_top = exact.search(vectors, 1)
    _, top = index.search(vectors, 1)
    assert np.array_equal(top, flat_top)
    _finds_itself(index, ids, vectors)
    assert _recall_at_10(index, exact, queries) >= 0.95


def test_ivf_removes_ids_and_keeps_the_others_right(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    ids, vectors, _ = real
    index = _filled(tmp_path, "ivf", ids, vectors)
    assert index.kind == "ivf"
    gone = ids[::5]
    assert index.remove(gone) == len(gone)
    assert len(index) == len(ids) - len(gone)
    assert not np.isin(index.ids(), gone).any()
    _, found = index.search(vectors, 10)
    assert not np.isin(found, gone).any()
    kept = ~np.isin(ids, gone)
    _finds_itself(index, ids[kept], vectors[kept])  # ids still point at their own vectors
    index.add(gone[:3], vectors[::5][:3])  # back again, replacing nothing twice
    index.add(gone[:3], vectors[::5][:3])
    assert len(index) == len(ids) - len(gone) + 3
    _finds_itself(index, gone[:3], vectors[::5][:3])


def test_hnsw_remove_rebuilds_the_graph_and_the_ids_are_gone(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids, vectors, _ = real
    index = _filled(tmp_path, "hnsw", ids, vectors)
    with caplog.at_level("INFO", logger="claimwatch.index"):
        assert index.remove(ids[:40]) == 40
    assert "rebuilding" in caplog.text
    assert index.kind == "hnsw" and len(index) == len(ids) - 40
    assert not np.isin(index.ids(), ids[:40]).any()
    _, found = index.search(vectors, 10)
    assert not np.isin(found, ids[:40]).any()
    _finds_itself(index, ids[40:], vectors[40:])
    index.add(ids[40:42], vectors[:2])  # replacing held ids: each still held once
    assert len(index) == len(ids) - 40
    _finds_itself(index, ids[40:42], vectors[:2])
    assert index.remove(np.array([10**9])) == 0


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw", "auto"])
def test_reopen_keeps_kind_and_ids_and_reconciles(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray], kind: str
) -> None:
    _, vectors, _ = real
    store = _store(tmp_path / "db.sqlite", vectors)
    settings = IndexSettings(kind=kind)  # type: ignore[arg-type]
    built = ClaimIndex.rebuild(tmp_path / "ix", store, "m", 384, settings=settings, ivf_from=300)
    held = "flat" if kind == "flat" else "hnsw" if kind == "hnsw" else "ivf"
    assert built.kind == held  # auto past ivf_from: trained at once when built from the db
    meta = json.loads((tmp_path / "ix" / "claims.json").read_text())
    assert meta["kind"] == held
    built.add(np.array([10**9]), vectors[:1])  # an id the database does not have
    built.save()

    index, report = ClaimIndex.open(
        tmp_path / "ix", store, "m", 384, settings=settings, ivf_from=300
    )
    assert (report.rebuilt, report.removed, report.added) == (False, 1, 0)
    assert index.kind == held and not index.building
    assert np.array_equal(np.sort(index.ids()), store.claim_ids())
    _finds_itself(index, store.claim_ids(), vectors)
    store.close()


def test_a_file_of_another_kind_is_rebuilt_on_open(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    _, vectors, _ = real
    store = _store(tmp_path / "db.sqlite", vectors)
    ClaimIndex.rebuild(tmp_path / "ix", store, "m", 384, settings=IndexSettings(kind="flat"))
    index, report = ClaimIndex.open(
        tmp_path / "ix", store, "m", 384, settings=IndexSettings(kind="hnsw")
    )
    assert report.rebuilt and report.added == len(vectors)
    assert index.kind == "hnsw"
    index.save()
    saved = faiss.read_index(str(tmp_path / "ix" / "claims.faiss"))
    assert isinstance(faiss.downcast_index(saved.index), faiss.IndexHNSWFlat)
    assert json.loads((tmp_path / "ix" / "claims.json").read_text())["kind"] == "hnsw"
    _, report = ClaimIndex.open(tmp_path / "ix", store, "m", 384, settings=IndexSettings())
    assert report.rebuilt  # auto takes flat or ivf, not hnsw
    store.close()


def test_auto_moves_to_ivf_in_the_background_losing_nothing(
    tmp_path: Path, real: tuple[np.ndarray, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids, vectors, queries = real
    training = threading.Event()
    release = threading.Event()
    train = index_module._train_ivf

    def held_training(matrix: np.ndarray, nprobe: int) -> Any:
        training.set()
        assert release.wait(timeout=300), "the test never released the build"
        return train(matrix, nprobe)

    monkeypatch.setattr(index_module, "_train_ivf", held_training)
    index = ClaimIndex(tmp_path, "m", 384, IndexSettings(kind="auto"), ivf_from=200)
    index.add(ids[:150], vectors[:150], replace=False)
    assert index.kind == "flat" and not index.building
    index.add(ids[150:250], vectors[150:250], replace=False)  # past ivf_from
    assert training.wait(timeout=300)
    try:
        assert index.building and index.kind == "flat"
        _finds_itself(index, ids[:250], vectors[:250])  # still answering, exactly
        index.add(ids[250:], vectors[250:], replace=False)  # arrive during the build
        index.remove(ids[:3])
        index.add(ids[10:12], vectors[10:12])  # replaced during the build
        _finds_itself(index, ids[250:], vectors[250:])
    finally:
        release.set()
    assert index.join_build(timeout=300)
    assert index.kind == "ivf" and not index.dirty  # swapped in and saved
    assert len(index) == len(ids) - 3
    assert np.array_equal(np.sort(index.ids()), ids[3:])
    _finds_itself(index, ids[3:], vectors[3:])
    exact = _filled(tmp_path / "flat", "flat", ids[3:], vectors[3:])
    assert _recall_at_10(index, exact, queries) >= 0.95

    saved = faiss.read_index(str(tmp_path / "claims.faiss"))
    assert isinstance(saved, faiss.IndexIVFFlat) and saved.ntotal == len(ids) - 3
    assert json.loads((tmp_path / "claims.json").read_text())["kind"] == "ivf"


def test_the_configured_kind_reaches_the_daemon_index(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    posts = germanwings_head(tmp_path, 60)
    config = write_config(tmp_path, 'ef_search = 32\nkind = "hnsw"\n')
    assert run_cli(["ingest", str(posts), "--config", str(config)]) == 0
    assert json.loads((tmp_path / "indexes" / "claims.json").read_text())["kind"] == "hnsw"
    assert run_cli(["query", "plane crash in France", "--config", str(config)]) == 0
