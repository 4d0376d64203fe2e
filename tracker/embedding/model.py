"""The embedder claimwatch runs (:class:`SentenceTransformerEmbedder`) and the one per
setting a process shares (:func:`shared_embedder`): it picks the backend
(``[embedding] backend`` / ``precision``) and falls back when that cannot run here.

Backends: ``torch`` (:mod:`tracker.embedding.torch`; ``bf16`` casts the weights to
bfloat16, only on a CPU with AMX), ``onnx`` (:mod:`tracker.embedding.onnx`) and
``openvino`` (:mod:`tracker.embedding.openvino`). Their packages are imported only when
chosen; a backend or precision that cannot run here falls back (to torch fp32, or to the
backend's fp32) with one warning in the log saying what is missing, and ``.backend`` says
what actually runs. All of them give the same model's vectors, within cosine 0.99 of torch
fp32, so vectors stored under the model's name serve whichever backend runs later. Where
the model comes from: :mod:`tracker.embedding.resolve`.

The one module of the stage that imports the backends; they import only
:mod:`tracker.embedding.base`, :mod:`~tracker.embedding.resolve` and each other
(OpenVINO runs the ONNX export).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tracker.config.settings import EmbeddingSettings
from tracker.embedding.base import BackendUnavailable, LoadedEncoder
from tracker.embedding.resolve import resolve_model
from tracker.embedding.torch import TorchEncoder, TorchModel, load_torch

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceTransformerEmbedder", "shared_embedder"]

log = logging.getLogger("claimwatch.embed")

_EMBEDDERS: dict[EmbeddingSettings, SentenceTransformerEmbedder] = {}


def shared_embedder(settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
    """One embedder per distinct model setting in this process, so the model loads once."""
    if settings not in _EMBEDDERS:
        _EMBEDDERS[settings] = SentenceTransformerEmbedder(settings)
    return _EMBEDDERS[settings]


class SentenceTransformerEmbedder:
    """A sentence-transformers model, run by the configured backend, loaded on first use.

    ``name`` is the model's, whatever the backend, so embeddings stored under it are
    reused across backends: every backend and precision gives vectors that agree with
    torch fp32 to cosine >= 0.99 (fp32 and bf16 above 0.999 for every text; int8 0.99 on
    average, its worst tweet 0.97). Top-10 neighbour sets on 2,000 tweets (``bench/embed.py``):
    fp32 backends identical; bf16 9.9 of 10 shared; int8 8.5 of 10.
    ``backend`` says what actually runs, e.g. ``"openvino/bf16"`` or
    ``"torch/fp32 (fallback: onnxruntime is not installed (pip install ...))"``.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._torch = TorchModel(settings)
        self._encoder: LoadedEncoder | None = None
        self._encoder_lock = threading.Lock()

    @property
    def name(self) -> str:
        if self._settings.model_path:
            return f"path:{Path(self._settings.model_path).expanduser().resolve()}"
        return self._settings.model.removeprefix("sentence-transformers/")

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers (torch) model itself, loaded on first use; with
        ``backend = "torch"``, ``precision = "bf16"`` and AMX its weights are bfloat16."""
        return self._torch.get()

    @property
    def backend(self) -> str:
        """What runs, as ``backend/precision``, with the reason when it is a fallback."""
        return self._loaded().label

    @property
    def dim(self) -> int:
        return self._loaded().encoder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalized, in the order of ``texts``."""
        encoder = self._loaded().encoder
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return encoder.encode(texts)

    def _loaded(self) -> LoadedEncoder:
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    def _load_encoder(self) -> LoadedEncoder:
        """The configured backend, or the fallback, logging one warning when falling back."""
        settings = self._settings
        asked = f"{settings.backend}/{settings.precision}"
        if settings.backend == "torch":
            loaded = load_torch(settings, self._torch)
        else:
            location = resolve_model(settings)  # a missing model is an error, not a fallback
            try:
                if settings.backend == "onnx":
                    from tracker.embedding.onnx import load_onnx

                    loaded = load_onnx(location, settings, self._torch.get)
                else:
                    from tracker.embedding.openvino import load_openvino

                    loaded = load_openvino(location, settings, self._torch.get)
            except BackendUnavailable as exc:
                fallback = TorchEncoder(self._torch, settings.batch_size)
                loaded = LoadedEncoder(fallback, "torch/fp32", str(exc))
        if loaded.note is not None:
            log.warning(
                "[embedding] backend/precision %s cannot run here: %s; running %s",
                asked, loaded.note, loaded.label,
            )
            return LoadedEncoder(
                loaded.encoder, f"{loaded.label} (fallback: {loaded.note})", loaded.note
            )
        return loaded
