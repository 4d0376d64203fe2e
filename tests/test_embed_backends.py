"""Every embedding backend gives the model's own vectors; one that cannot run falls back
to torch fp32, says so once in the log, and still encodes."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from conftest import CACHE_DIR, GERMANWINGS, embedding_settings

import tracker.embedding.torch as torch_backend
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
