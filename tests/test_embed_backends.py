"""Every embedding backend gives the model's own vectors; one that cannot run falls back
to torch fp32, says so once in the log, and still encodes."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from conftest import CACHE_DIR, GERMANWINGS, embedding_settings

import tracker.embedding.onnx as onnx_backend
import tracker.embedding.torch as torch_backend
from tracker.embedding.base import batches
from tracker.embedding.model import SentenceTransformerEmbedder, shared_embedder
from tracker.embedding.onnx import export_model
from tracker.embedding.resolve import resolve_model
from tracker.embedding.torch import cpu_flags

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def _texts(count: int) -> list[str]:
    texts: list[str] = []
    with GERMANWINGS.open(encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line)["text"]
            if text and text not in texts:
                texts.append(text)
            if len(texts) == count:
                break
    return texts


TEXTS = _texts(120)  # real tweets, the kind of text claimwatch embeds
RUNNABLE = [
    pytest.param(("onnx", "fp32"), id="onnx-fp32"),
    pytest.param(("onnx", "int8"), id="onnx-int8"),
    pytest.param(("openvino", "fp32"), id="openvino-fp32"),
    pytest.param(("openvino", "bf16"), id="openvino-bf16"),
    pytest.param(("torch", "bf16"), id="torch-bf16"),
]  # torch fp32 is the reference itself
NEEDS = {"onnx": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx"), "torch": ()}


@pytest.fixture(scope="module")
def torch_fp32(embedder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
    """The torch fp32 embedder: the session's ``embedder`` itself while that is the
    default, else one more loaded here."""
    if embedder.backend == "torch/fp32":
        return embedder
    return shared_embedder(embedding_settings(backend="torch", precision="fp32"))


@pytest.fixture(scope="module")
def reference(torch_fp32: SentenceTransformerEmbedder) -> np.ndarray:
    """torch fp32 vectors of :data:`TEXTS`, (120, 384)."""
    return torch_fp32.encode(TEXTS)


@pytest.fixture(scope="module", params=RUNNABLE)
def other(request: pytest.FixtureRequest) -> Iterator[SentenceTransformerEmbedder]:
    """Each backend/precision, loaded once. torch bf16 runs with the AMX check overridden
    where the CPU has no AMX: slower than fp32 there, but the vectors are what is tested."""
    backend, precision = request.param
    for module in NEEDS[backend]:
        importlib.import_module(module)  # installed with claimwatch[dev]: never skipped
    settings = embedding_settings(backend=backend, precision=precision)
    # torch bf16 may be built as if the CPU had AMX: an instance of its own, not the shared one.
    embedder = (
        SentenceTransformerEmbedder(settings) if backend == "torch" else shared_embedder(settings)
    )
    if backend == "openvino" and precision == "bf16":
        from tracker.embedding.openvino import openvino_has_bf16

        if not openvino_has_bf16(importlib.import_module("openvino").Core()):
            # a CPU without bf16: it falls back to OpenVINO fp32, and that is what's tested
            assert embedder.backend.startswith("openvino/fp32"), embedder.backend
            yield embedder
            return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch_backend, "cpu_flags", lambda: cpu_flags() | {"amx_bf16"})
        assert embedder.backend == f"{backend}/{precision}"
    yield embedder


def test_every_backend_gives_the_models_vectors(
    other: SentenceTransformerEmbedder, torch_fp32: SentenceTransformerEmbedder,
    reference: np.ndarray,
) -> None:
    vectors = other.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.mean() >= 0.99, other.backend
    # Row by row, in the input order; int8 loses most on a few tweets (worst ~0.97).
    assert cosines.min() >= (0.95 if other.backend.endswith("int8") else 0.999), other.backend
    # Stored embeddings are keyed by the name: it must not depend on the backend.
    assert other.name == torch_fp32.name and other.dim == torch_fp32.dim
    assert other.encode([]).shape == (0, 384)
    one = other.encode([TEXTS[5]])
    assert float(one[0] @ reference[5]) >= 0.95


@pytest.mark.parametrize(
    ("backend", "module", "extra"),
    [
        ("onnx", "onnxruntime", "onnx"),
        ("openvino", "openvino", "openvino"),
        ("openvino", "onnx", "openvino"),  # openvino is there, but nothing exported yet
    ],
)
def test_a_missing_backend_falls_back_to_torch_fp32(
    backend: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, reference: np.ndarray, tmp_path: Path,
) -> None:
    if module == "onnx":
        importlib.import_module("openvino")
    monkeypatch.setitem(sys.modules, module, None)  # `import <module>` now fails
    caplog.set_level(logging.WARNING, logger="claimwatch.embed")
    settings = embedding_settings(backend=backend, precision="fp32", cache_dir=str(tmp_path))
    embedder = SentenceTransformerEmbedder(settings)
    vectors = embedder.encode(TEXTS[:8])
    assert embedder.backend.startswith("torch/fp32 (fallback: ")
    assert f"{module} is not installed" in embedder.backend or (
        f"{module} package is not installed" in embedder.backend
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "claimwatch.embed"]
    assert len(lines) == 1, lines
    assert f"pip install 'claimwatch[{extra}]'" in lines[0] and "torch/fp32" in lines[0]
    assert np.sum(vectors * reference[:8], axis=1).min() > 0.9999
    embedder.encode(TEXTS[8:12])
    assert len([r for r in caplog.records if r.name == "claimwatch.embed"]) == 1


def test_bf16_without_amx_falls_back_to_fp32(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, reference: np.ndarray
) -> None:
    monkeypatch.setattr(torch_backend, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    caplog.set_level(logging.WARNING, logger="claimwatch.embed")
    embedder = SentenceTransformerEmbedder(embedding_settings(backend="torch", precision="bf16"))
    vectors = embedder.encode(TEXTS[:8])
    assert embedder.backend.startswith("torch/fp32 (fallback: bf16 needs a CPU with AMX")
    lines = [r.getMessage() for r in caplog.records if r.name == "claimwatch.embed"]
    assert len(lines) == 1 and "amx_bf16" in lines[0], lines
    assert np.sum(vectors * reference[:8], axis=1).min() > 0.9999


def test_the_onnx_export_is_made_once(torch_fp32: SentenceTransformerEmbedder) -> None:
    importlib.import_module("onnx")
    settings = embedding_settings()
    location, cache = resolve_model(settings), Path(settings.cache_dir)
    first = export_model(location, cache, lambda: torch_fp32.model)  # made here or earlier
    assert first.folder.is_relative_to(CACHE_DIR)  # the session's cache, not ~/.cache
    stamp = first.fp32.stat().st_mtime_ns

    def no_model() -> SentenceTransformer:
        raise AssertionError("exported again")

    again = export_model(location, cache, no_model)
    assert again == first and again.fp32.stat().st_mtime_ns == stamp
    assert (again.pooling, again.dim, again.max_seq_length) == ("mean", 384, 256)


def test_batches_are_cut_where_padding_costs_least() -> None:
    # a call of 24 short texts and 8 long ones (a live poll): batches of 32 in length
    # order pad all 24 short ones to the longest; the cut keeps them apart
    lengths = np.array([12] * 24 + [60] * 8)
    ends = batches(lengths, 32)
    assert ends == [24, 32]
    assert batches(np.array([], dtype=np.int64), 32) == []
    # never more rows than asked for, every text in exactly one batch, in order
    rng = np.random.default_rng(7)
    for count in (1, 5, 33, 200):
        sorted_lengths = np.sort(rng.integers(4, 120, count))
        cut = batches(sorted_lengths, 16)
        sizes = np.diff([0, *cut])
        assert cut[-1] == count and (sizes >= 1).all() and (sizes <= 16).all()
        fixed = sum(int(sorted_lengths[min(s + 16, count) - 1]) * len(sorted_lengths[s : s + 16])
                    for s in range(0, count, 16))
        padded = sum(int(sorted_lengths[e - 1]) * int(n) for e, n in zip(cut, sizes, strict=True))
        assert padded <= fixed
    # an engine that runs two batches at once gets two from a call that makes one
    assert batches(np.full(20, 15), 32) == [20]
    assert batches(np.full(20, 15), 32, side_by_side=2) == [10, 20]
    assert batches(np.full(10, 15), 32, side_by_side=2) == [10]  # too few rows to halve


def test_openvino_streams_give_the_same_vectors_as_one_batch_at_a_time(
    reference: np.ndarray,
) -> None:
    importlib.import_module("openvino")
    one = shared_embedder(embedding_settings(backend="openvino", streams=1))
    side = shared_embedder(embedding_settings(backend="openvino", streams=2))
    assert one.backend == side.backend == "openvino/fp32"
    # the setting reaches OpenVINO: two batches at once, or one
    assert (one._loaded().encoder.side_by_side, side._loaded().encoder.side_by_side) == (1, 2)
    for embedder in (one, side):
        for call in (TEXTS, TEXTS[:20], TEXTS[:1]):
            cosines = np.sum(embedder.encode(call) * reference[: len(call)], axis=1)
            assert cosines.min() >= 0.999, (embedder.backend, len(call))


def test_openvino_encodes_from_two_threads_and_raises_a_batchs_error(
    reference: np.ndarray, monkeypatch: pytest.MonkeyPatch,
) -> None:
    importlib.import_module("openvino")
    embedder = shared_embedder(embedding_settings(backend="openvino", streams=2))
    halves = (TEXTS[:60], TEXTS[60:])
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(embedder.encode, halves))
    # each caller gets its own texts' vectors, whichever stream ran them
    assert np.sum(np.vstack(got) * reference, axis=1).min() >= 0.999

    def broken(*_: object) -> np.ndarray:
        raise ValueError("pooling failed")

    with monkeypatch.context() as mp:
        mp.setattr(onnx_backend, "_pool", broken)
        with pytest.raises(ValueError, match="pooling failed"):
            embedder.encode(TEXTS[:40])
    # nothing is left running or waiting: the next call works
    assert np.sum(embedder.encode(TEXTS[:40]) * reference[:40], axis=1).min() >= 0.999


def test_torch_gives_sentence_transformers_own_vectors(
    torch_fp32: SentenceTransformerEmbedder,
) -> None:
    # batches cut by token count, run through the model's own modules: what its encode gives
    theirs = torch_fp32.model.encode(
        TEXTS, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    for call in (TEXTS, TEXTS[:20], TEXTS[7:8]):
        ours = torch_fp32.encode(call)
        assert ours.shape == (len(call), 384) and ours.dtype == np.float32
        start = TEXTS.index(call[0])
        assert np.sum(ours * theirs[start : start + len(call)], axis=1).min() >= 0.99999
    assert torch_fp32.encode([]).shape == (0, 384)
