"""The torch embedding backend (``[embedding] backend = "torch"``, and the fallback of the
others): the sentence-transformers model run by torch on the CPU.

:class:`TorchModel` loads the sentence-transformers model on first use; the ONNX and
OpenVINO backends borrow it, once, to export the transformer. Precision: ``fp32``;
``bf16`` casts the weights to bfloat16, only on a CPU with AMX (:func:`cpu_flags` has
``amx_bf16``), else it runs fp32 with a note; ``int8`` runs fp32 with a note (torch's
``quantize_dynamic`` is too lossy; the ONNX backend runs int8).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tracker.config.settings import EmbeddingSettings
from tracker.embedding.base import LoadedEncoder, length_batches, normalized
from tracker.embedding.resolve import resolve_model
from tracker.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["TorchEncoder", "TorchModel", "cpu_flags", "load_torch"]


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (``flags`` in ``/proc/cpuinfo``); empty
    where that cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


class TorchModel:
    """The sentence-transformers model of ``settings``, loaded on first :meth:`get`
    (once, whichever thread asks first)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def get(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def to_bf16(self) -> None:
        """Cast the weights to bfloat16 (loading the model first if need be)."""
        import torch

        model = self.get()
        with self._lock:
            model.to(torch.bfloat16)

    def _load(self) -> SentenceTransformer:
        location = resolve_model(self._settings)
        if self._settings.threads:
            import torch

            torch.set_num_threads(self._settings.threads)
        # Quiet loading: no hub lookups for a local folder, no progress bars on our output.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if Path(location).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            return SentenceTransformer(location, device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot load the embedding model from {location}: {exc}") from None


def load_torch(settings: EmbeddingSettings, model: TorchModel) -> LoadedEncoder:
    """The torch encoder for ``settings.precision``, or fp32 with a note saying why not."""
    batch_size = settings.batch_size
    if settings.precision == "bf16":
        if "amx_bf16" not in cpu_flags():
            return LoadedEncoder(
                TorchEncoder(model, batch_size), "torch/fp32",
                "bf16 needs a CPU with AMX (amx_bf16) to be faster than fp32, and this "
                "one has none",
            )
        model.to_bf16()
        return LoadedEncoder(TorchEncoder(model, batch_size), "torch/bf16")
    if settings.precision == "int8":
        return LoadedEncoder(
            TorchEncoder(model, batch_size), "torch/fp32",
            "torch int8 (quantize_dynamic) is too lossy (cosine 0.94 to fp32); "
            'backend = "onnx" runs int8',
        )
    return LoadedEncoder(TorchEncoder(model, batch_size), "torch/fp32")


class TorchEncoder:
    """The model's own modules (``preprocess``, then ``forward``, as sentence-transformers'
    ``encode`` runs them), on batches cut as the other backends cut them: by token count,
    where the padding costs least (:func:`tracker.embedding.base.length_batches`).
    ``encode`` sorts by characters and cuts every ``batch_size`` texts: about 1.4x slower on
    1,000 germanwings tweets (``bench/encode_calls.py --torch``), the same vectors (cosine
    >= 0.9999998). Vectors come back as float32 and are normalized here, whatever the
    weights (bf16 rounding leaves norms off 1 by ~1e-3)."""

    def __init__(self, model: TorchModel, batch_size: int) -> None:
        self._model = model
        self._batch_size = batch_size

    @property
    def dim(self) -> int:
        model = self._model.get()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            raise ModelError("the embedding model does not say its dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized."""
        import torch

        model = self._model.get()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # token counts only, to cut by (the fast tokenizer: ~50 µs a text, against ~5 ms a
        # text in the model); ``preprocess`` tokenizes each batch as ``encode`` would
        encoded = model.tokenizer(
            list(texts), truncation=True, max_length=model.max_seq_length
        )["input_ids"]
        lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(texts))
        with torch.inference_mode():
            for rows in length_batches(lengths, self._batch_size):
                features = model.preprocess([texts[i] for i in rows])
                vectors = model.forward(features)["sentence_embedding"]
                out[rows] = vectors.float().cpu().numpy()
        return normalized(out)
