"""The model is the one we ship and verify; the index mirrors the database."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from tracker.config.settings import EmbeddingSettings
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.embedding.resolve import resolve_model
from tracker.embedding.worker import ModelWorker
from tracker.errors import ModelError
from tracker.index.claim_index import ClaimIndex
from tracker.models import Claim, Post
from tracker.store import NewPost, Store


def test_shipped_model_is_extracted_once_and_verified(tmp_path: Path) -> None:
    settings = EmbeddingSettings(cache_dir=str(tmp_path))
    folder = Path(resolve_model(settings))
    assert (folder / "model.safetensors").is_file() and folder.is_relative_to(tmp_path)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert Path(resolve_model(settings)) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp, "extracted again"


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    settings = EmbeddingSettings(cache_dir=str(tmp_path))
    weights = Path(resolve_model(settings)) / "model.safetensors"
    with weights.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match="sha256"):
        resolve_model(settings)


def test_configured_model_path_wins_and_must_be_a_model(tmp_path: Path) -> None:
    shipped = Path(resolve_model(EmbeddingSettings(cache_dir=str(tmp_path / "c"))))
    local = tmp_path / "mymodel"
    shutil.copytree(shipped, local)
    assert resolve_model(EmbeddingSettings(model_path=str(local))) == str(local)
    with pytest.raises(ModelError, match="not a sentence-transformers model folder"):
        resolve_model(EmbeddingSettings(model_path=str(tmp_path)))


def test_vectors_are_normalized_and_meaningful(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.encode([
        "Sources say group X is behind the blast",
        "The blast was reportedly carried out by group X",
        "Heavy rain expected in Lahore this weekend",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


async def test_encoding_runs_off_the_event_loop(embedder: SentenceTransformerEmbedder) -> None:
    worker = ModelWorker()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    texts = [f"claim number {i} about the blast in Quetta and what followed" for i in range(400)]
    vectors = await worker.run(embedder.encode, texts)
    task.cancel()
    worker.close()
    assert vectors.shape == (400, 384)
    assert ticks > 5, "the event loop was blocked while the model ran"


def _store_with_claims(path: Path, n: int, dim: int = 8) -> tuple[Store, dict[str, np.ndarray]]:
    from datetime import UTC, datetime

    store = Store(path)
    rng = np.random.default_rng(0)
    vectors = {}
    posts = []
    for i in range(n):
        h = f"h{i}"
        v = rng.normal(size=dim).astype(np.float32)
        vectors[h] = v / np.linalg.norm(v)
        post = Post(source="t", id=str(i), text=f"text {i}", created_at=datetime.now(UTC))
        posts.append(NewPost(post, f"p{i}", [Claim(f"text {i}", text_hash=h)]))
    store.add_posts(posts, "m", vectors)
    return store, vectors


def test_reconcile_adds_missing_and_drops_unknown_ids(tmp_path: Path) -> None:
    store, vectors = _store_with_claims(tmp_path / "db.sqlite", 50)
    index = ClaimIndex(tmp_path / "ix", "m", 8)
    ids = store.claim_ids()
    index.add(ids[:20], np.vstack([vectors[f"h{i}"] for i in range(20)]))
    index.add(np.array([999, 1000]), np.ones((2, 8), np.float32))
    index.save()
    reopened, report = ClaimIndex.open(tmp_path / "ix", store, "m", 8)
    assert (report.added, report.removed, report.rebuilt) == (30, 2, False)
    assert np.array_equal(np.sort(reopened.ids()), ids)
    scores, found = reopened.search(vectors["h7"][None, :], 1)
    assert found[0][0] == ids[7] and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == ["claims.faiss", "claims.json"]
    store.close()


def test_adding_an_id_again_replaces_it(tmp_path: Path) -> None:
    index = ClaimIndex(tmp_path, "m", 4)
    index.add(np.array([1]), np.array([[1, 0, 0, 0]], np.float32))
    index.add(np.array([1]), np.array([[0, 1, 0, 0]], np.float32))
    assert len(index) == 1
    _, found = index.search(np.array([[0, 1, 0, 0]], np.float32), 1)
    assert found[0][0] == 1


def test_an_index_for_another_model_is_rebuilt(tmp_path: Path) -> None:
    store, _ = _store_with_claims(tmp_path / "db.sqlite", 5)
    ClaimIndex.rebuild(tmp_path / "ix", store, "m", 8)
    _, report = ClaimIndex.open(tmp_path / "ix", store, "other-model", 8)
    assert report.rebuilt and report.added == 0  # no vectors stored for that model yet
    store.close()
