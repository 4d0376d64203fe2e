"""The ONNX Runtime embedding backend (``[embedding] backend = "onnx"``): the model's
transformer exported once to ONNX, then run with no torch at all.

``encode(texts)``: the model's own fast tokenizer (``tokenizers``, its ``tokenizer.json``)
truncates each text to the model's ``max_seq_length``; texts are sorted by token count and
cut into batches of at most ``batch_size`` where the padding costs least
(:func:`tracker.embedding.base.length_batches`),
so a batch pads only to its own longest text, and few tokens are padding; ONNX
Runtime returns the last hidden states ``(batch, tokens, dim)``; numpy pools them as the
model's pooling module says (mask-weighted mean, or the first token) and L2-normalises;
rows go back to input order.

Files, under ``<[embedding] cache_dir>/onnx/<model>-<key>/``, where ``key`` hashes the
sha256 of the weights, ``max_seq_length``, the opset and :data:`EXPORT_FORMAT`: a changed
model or export recipe gets a new folder, and nothing is exported twice.

- ``model.fp32.onnx``: ``torch.onnx.export(..., dynamo=False)`` of the transformer;
- ``model.int8.onnx``: that, pre-processed, then quantised by onnxruntime's
  ``quantize_dynamic`` (int8 weights per output channel; uint8 activations quantised per
  batch at run time);
- ``tokenizer.json`` and ``export.json`` (pooling, dimension, input names, lengths).

Each file is written under a temporary name and renamed into place, so a concurrent
process never reads half a file. Exporting needs torch (always installed) and the ``onnx``
package, once; running needs ``onnxruntime``, ``tokenizers`` and numpy. Whatever is
missing or fails raises :class:`tracker.embedding.base.BackendUnavailable`, and the embedder falls
back to torch fp32.

Precision: ``fp32`` and ``int8``. ``bf16`` runs as fp32 (ONNX Runtime has no fast bf16
kernels for CPUs), with a note in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from tracker.config.settings import EmbeddingSettings
from tracker.embedding.base import (
    BackendUnavailable,
    LoadedEncoder,
    length_batches,
    normalized,
)
from tracker.files import sha256_file, write_atomically

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EXPORT_FORMAT",
    "ONNX_HINT",
    "OPSET",
    "BatchedEncoder",
    "ExportedModel",
    "RunBatch",
    "RunBatches",
    "export_model",
    "load_onnx",
    "one_at_a_time",
    "quantize_int8",
    "weights_digest",
]

ONNX_HINT: Final = "pip install 'claimwatch[onnx]'"
OPSET: Final = 17
EXPORT_FORMAT: Final = 1  # bump when the export recipe changes: old folders are then unused
POOLINGS: Final = ("mean", "cls")
INPUT_NAMES: Final = ("input_ids", "attention_mask", "token_type_ids")

RunBatch = Callable[[Mapping[str, np.ndarray]], np.ndarray]
"""Runs the transformer on one padded batch: int64 ``(batch, tokens)`` arrays by input name
in, float32 hidden states ``(batch, tokens, dim)`` out."""

RunBatches = Callable[[Iterable[Mapping[str, np.ndarray]], Callable[[int, np.ndarray], None]], None]
"""Runs the transformer on padded batches (as :data:`RunBatch` takes them); for the i-th
batch it calls ``done(i, hidden)`` with its hidden states, which are valid only during that
call. Batches may run side by side and finish in any order; the first error raised (by the
engine or by ``done``) is raised once every batch started has finished."""


def one_at_a_time(run: RunBatch) -> RunBatches:
    """:data:`RunBatches` running each batch with ``run``, in order."""

    def run_all(
        inputs: Iterable[Mapping[str, np.ndarray]], done: Callable[[int, np.ndarray], None]
    ) -> None:
        for i, batch in enumerate(inputs):
            done(i, run(batch))

    return run_all


@dataclass(frozen=True, slots=True)
class ExportedModel:
    """An exported transformer and what encoding it needs besides the graph."""

    folder: Path
    pooling: str
    dim: int
    max_seq_length: int
    pad_id: int
    input_names: tuple[str, ...]

    @property
    def fp32(self) -> Path:
        return self.folder / "model.fp32.onnx"

    @property
    def int8(self) -> Path:
        return self.folder / "model.int8.onnx"

    @property
    def tokenizer(self) -> Path:
        return self.folder / "tokenizer.json"

    @property
    def meta(self) -> Path:
        return self.folder / "export.json"


def weights_digest(location: str) -> str:
    """sha256 of the model's weights file when ``location`` is a folder holding one, else
    of the name itself (a hub model: clear the cache folder if that name's weights change)."""
    folder = Path(location)
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = folder / name
        if path.is_file():
            return sha256_file(path)
    return hashlib.sha256(f"name:{location}".encode()).hexdigest()


def _folder(location: str, cache_dir: Path, max_seq_length: int | None) -> Path:
    key = hashlib.sha256(
        f"{weights_digest(location)}|{max_seq_length}|{OPSET}|{EXPORT_FORMAT}".encode()
    ).hexdigest()[:16]
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(location).name)
    return cache_dir / "onnx" / f"{slug or 'model'}-{key}"


def _read_meta(folder: Path) -> ExportedModel | None:
    try:
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        exported = ExportedModel(
            folder, str(meta["pooling"]), int(meta["dim"]), int(meta["max_seq_length"]),
            int(meta["pad_id"]), tuple(str(n) for n in meta["input_names"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if exported.fp32.is_file() and exported.tokenizer.is_file():
        return exported
    return None


def _require_onnx(purpose: str, hint: str = ONNX_HINT) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            f"the onnx package is not installed, needed once to {purpose} ({hint})"
        ) from None


def export_model(
    location: str, cache_dir: Path, load_model: Callable[[], SentenceTransformer],
    max_seq_length: int | None = None, hint: str = ONNX_HINT,
) -> ExportedModel:
    """The model at ``location`` exported to ONNX under ``cache_dir`` (see the module
    doc), exporting it first if no earlier run did. ``load_model`` gives the loaded torch
    model; it is called only when exporting. ``max_seq_length`` None keeps the model's;
    ``hint`` is the pip command named when the ``onnx`` package is missing."""
    folder = _folder(location, cache_dir, max_seq_length)
    found = _read_meta(folder)
    if found is not None:
        return found
    _require_onnx("export the model", hint)
    import torch
    from sentence_transformers.sentence_transformer.modules import (
        Normalize,
        Pooling,
        Transformer,
    )

    model = load_model()
    modules = list(model)
    if (
        len(modules) not in (2, 3)
        or not isinstance(modules[0], Transformer)
        or not isinstance(modules[1], Pooling)
        or (len(modules) == 3 and not isinstance(modules[2], Normalize))
    ):
        kinds = ", ".join(type(m).__name__ for m in modules)
        raise BackendUnavailable(
            f"the model's modules ({kinds}) are not Transformer, Pooling[, Normalize], "
            "the only layout this backend runs"
        )
    transformer, pooling = modules[0], modules[1]
    mode = pooling.get_config_dict().get("pooling_mode")
    if mode not in POOLINGS:
        raise BackendUnavailable(f"pooling mode {mode!r} is not one of {POOLINGS}")
    tokenizer = transformer.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise BackendUnavailable("the model has no fast (tokenizers) tokenizer")
    names = tuple(n for n in tokenizer.model_input_names if n in INPUT_NAMES)
    if "input_ids" not in names or "attention_mask" not in names:
        raise BackendUnavailable(f"the tokenizer gives {names}, not input_ids + attention_mask")
    seq = int(max_seq_length or transformer.max_seq_length or 512)
    auto_model = transformer.auto_model

    class _Hidden(torch.nn.Module):
        """Positional inputs in ``names`` order -> last hidden states."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            out = self.inner(**dict(zip(names, inputs, strict=True)), return_dict=True)
            return out.last_hidden_state  # type: ignore[no-any-return]

    # Two texts of different lengths, so the trace keeps the padding-mask path.
    sample = tokenizer(
        ["a short text", "a somewhat longer text, so that the batch needs padding"],
        padding=True, return_tensors="pt",
    )
    axes = {n: {0: "batch", 1: "tokens"} for n in (*names, "last_hidden_state")}

    def write_graph(path: Path) -> None:
        with warnings.catch_warnings():
            # The TorchScript exporter is chosen on purpose (dynamo=False): its deprecation
            # notice and the tracer's data-dependent-branch warnings are expected here.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden().eval(), tuple(sample[n] for n in names), str(path),
                input_names=list(names), output_names=["last_hidden_state"],
                dynamic_axes=axes, opset_version=OPSET, dynamo=False,
            )

    folder.mkdir(parents=True, exist_ok=True)
    try:
        write_atomically(folder / "model.fp32.onnx", write_graph)
        write_atomically(
            folder / "tokenizer.json", lambda p: tokenizer.backend_tokenizer.save(str(p))
        )
        meta = {
            "pooling": mode, "dim": int(auto_model.config.hidden_size), "max_seq_length": seq,
            "pad_id": int(tokenizer.pad_token_id or 0), "input_names": list(names),
            "location": location, "opset": OPSET, "format": EXPORT_FORMAT,
        }
        write_atomically(
            folder / "export.json",
            lambda p: p.write_text(json.dumps(meta, indent=1), encoding="utf-8"),
        )
    except BackendUnavailable:
        raise
    except Exception as exc:
        raise BackendUnavailable(f"exporting the model to ONNX failed: {exc}") from exc
    found = _read_meta(folder)
    if found is None:
        raise BackendUnavailable(f"the ONNX export in {folder} is incomplete")
    return found


def quantize_int8(exported: ExportedModel) -> Path:
    """``model.int8.onnx`` beside the fp32 graph, made once: pre-processing (graph
    optimisation and shape inference), then dynamic quantisation with per-channel int8
    weights. Quantisation costs cosine ~0.99 to fp32 on average (worst text ~0.97)."""
    target = exported.int8
    if target.is_file():
        return target
    _require_onnx("quantise the model")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    work = Path(tempfile.mkdtemp(prefix=".quantize-", dir=exported.folder))
    quiet = _QuietOnnxruntime()
    logging.root.addFilter(quiet)  # the quantiser logs one INFO line per tensor to root
    try:
        prepared = work / "prepared.onnx"
        quant_pre_process(str(exported.fp32), str(prepared), skip_symbolic_shape=True)

        def write(path: Path) -> None:
            quantize_dynamic(
                str(prepared), str(path), per_channel=True, weight_type=QuantType.QInt8,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )

        write_atomically(target, write)
    except Exception as exc:
        raise BackendUnavailable(f"quantising the ONNX model to int8 failed: {exc}") from exc
    finally:
        logging.root.removeFilter(quiet)
        shutil.rmtree(work, ignore_errors=True)
    return target


class _QuietOnnxruntime(logging.Filter):
    """Drops onnxruntime's own below-warning records sent to the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "onnxruntime" not in record.pathname


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """``(batch, dim)`` from hidden states ``(batch, tokens, dim)`` and a 0/1 mask
    ``(batch, tokens)``: the mean over unmasked tokens, or the first token's vector."""
    if mode == "cls":
        return np.asarray(hidden[:, 0, :], dtype=np.float32)
    weights = mask.astype(np.float32)
    summed: np.ndarray = np.matmul(weights[:, None, :], hidden.astype(np.float32, copy=False))
    counts: np.ndarray = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    return np.asarray(summed[:, 0, :] / counts, dtype=np.float32)


class BatchedEncoder:
    """Tokenise, sort by length, batch, run the transformer (``run_all``, which runs
    ``side_by_side`` batches at once), pool, normalise. Shared by the ONNX Runtime and
    OpenVINO backends."""

    def __init__(
        self, exported: ExportedModel, batch_size: int, run_all: RunBatches, side_by_side: int = 1
    ) -> None:
        from tokenizers import Tokenizer

        self._exported = exported
        self._batch_size = batch_size
        self._run_all = run_all
        self._side_by_side = side_by_side
        self._tokenizer = Tokenizer.from_file(str(exported.tokenizer))
        # The saved tokenizer may carry a fixed padding or a shorter truncation: ours wins.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(exported.max_seq_length)

    @property
    def dim(self) -> int:
        return self._exported.dim

    @property
    def side_by_side(self) -> int:
        """How many batches the engine runs at once."""
        return self._side_by_side

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, in the order of ``texts``."""
        count = len(texts)
        out = np.zeros((count, self.dim), dtype=np.float32)
        if not count:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=count)
        cuts = length_batches(lengths, self._batch_size, self._side_by_side)
        masks: list[np.ndarray] = []
        names = self._exported.input_names

        def padded() -> Iterator[dict[str, np.ndarray]]:
            # built as the engine asks for them: the next batch is padded while one runs
            for rows in cuts:
                width = max(int(lengths[rows].max()), 1)
                ids = np.full((len(rows), width), self._exported.pad_id, dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                types = np.zeros((len(rows), width), dtype=np.int64)
                for r, i in enumerate(rows):
                    enc = encodings[i]
                    n = len(enc.ids)
                    ids[r, :n] = enc.ids
                    mask[r, :n] = enc.attention_mask
                    types[r, :n] = enc.type_ids
                masks.append(mask)
                arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
                yield {n: arrays[n] for n in names}

        def done(i: int, hidden: np.ndarray) -> None:
            out[cuts[i]] = _pool(hidden, masks[i], self._exported.pooling)

        self._run_all(padded(), done)
        return normalized(out)


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise BackendUnavailable(f"onnxruntime is not installed ({ONNX_HINT})") from None
    except Exception as exc:  # a broken install: a missing shared library, say
        raise BackendUnavailable(f"onnxruntime cannot be imported: {exc}") from None
    return onnxruntime


def load_onnx(
    location: str, settings: EmbeddingSettings, load_model: Callable[[], SentenceTransformer]
) -> LoadedEncoder:
    """An ONNX Runtime encoder for the model at ``location`` (exported and quantised as
    needed); raises :class:`BackendUnavailable` when it cannot run here."""
    ort = _import_onnxruntime()
    exported = export_model(location, Path(settings.cache_dir).expanduser(), load_model)
    precision, note = settings.precision, None
    if precision == "bf16":
        precision, note = "fp32", "onnxruntime has no fast bf16 CPU kernels"
    graph = quantize_int8(exported) if precision == "int8" else exported.fp32
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = settings.threads  # 0: one per physical core
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no notes about unused initialisers
        session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise BackendUnavailable(f"onnxruntime cannot load {graph}: {exc}") from exc
    lock = threading.Lock()  # Run is thread-safe, but one at a time is faster on few cores

    def run(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        with lock:
            return np.asarray(session.run(["last_hidden_state"], dict(inputs))[0])

    encoder = BatchedEncoder(exported, settings.batch_size, one_at_a_time(run))
    return LoadedEncoder(encoder, f"onnx/{precision}", note)
