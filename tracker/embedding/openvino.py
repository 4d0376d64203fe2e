"""The OpenVINO embedding backend (``[embedding] backend = "openvino"``).

The transformer is the ONNX graph of :mod:`tracker.embedding.onnx` (exported once into the
embedding cache; ``Core.compile_model`` reads it directly, with none of ``convert_model``'s
telemetry), compiled for the CPU;
tokenising, length-sorted batching, pooling and normalising are shared with that backend
(:class:`tracker.embedding.onnx.BatchedEncoder`). Batches run side by side, one per
inference stream (OpenVINO's ``THROUGHPUT`` hint: on 2 cores, 2 streams of 1 thread), each
taken by the first stream free; ``[embedding] streams = 1`` runs one batch at a time on
every thread (the ``LATENCY`` hint). Compiled blobs are cached by OpenVINO beside
the export (``openvino-cache/``), so a second start compiles nothing.

Precision, set through ``INFERENCE_PRECISION_HINT``, and always set: OpenVINO picks bf16
by itself on CPUs that have it, and ``fp32`` must mean fp32.

- ``fp32``: ``f32``;
- ``bf16``: ``bf16`` when OpenVINO reports ``BF16`` among the CPU's optimisation
  capabilities (AMX or AVX512_BF16), else ``f32`` with a note in the log;
- ``int8``: runs as ``f32`` with a note (an int8 OpenVINO model needs NNCF, not used here).

Needs ``openvino`` to run and, once, the ``onnx`` package to export; when either is missing
or fails, :class:`tracker.embedding.base.BackendUnavailable` is raised and the embedder
falls back to torch fp32.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from tracker.config.settings import EmbeddingSettings
from tracker.embedding.base import BackendUnavailable, LoadedEncoder
from tracker.embedding.onnx import BatchedEncoder, RunBatches, export_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OPENVINO_HINT", "load_openvino", "openvino_has_bf16"]

OPENVINO_HINT: Final = "pip install 'claimwatch[openvino]'"


def _import_openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise BackendUnavailable(f"openvino is not installed ({OPENVINO_HINT})") from None
    except Exception as exc:  # a broken install: a missing shared library, say
        raise BackendUnavailable(f"openvino cannot be imported: {exc}") from None
    return openvino


def openvino_has_bf16(core: Any) -> bool:
    """Whether OpenVINO can run bf16 on this CPU (its ``OPTIMIZATION_CAPABILITIES``)."""
    try:
        return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:
        return False


def load_openvino(
    location: str, settings: EmbeddingSettings, load_model: Callable[[], SentenceTransformer]
) -> LoadedEncoder:
    """An OpenVINO encoder for the model at ``location``; raises
    :class:`BackendUnavailable` when it cannot run here."""
    ov = _import_openvino()
    exported = export_model(
        location, Path(settings.cache_dir).expanduser(), load_model, hint=OPENVINO_HINT
    )
    try:
        core = ov.Core()
        precision, note = "fp32", None
        if settings.precision == "bf16":
            if openvino_has_bf16(core):
                precision = "bf16"
            else:
                note = "OpenVINO reports no bf16 support on this CPU"
        elif settings.precision == "int8":
            note = "int8 is not built for OpenVINO (it would need NNCF)"
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            # one stream runs one batch on every thread; several run batches side by side
            "PERFORMANCE_HINT": "LATENCY" if settings.streams == 1 else "THROUGHPUT",
            "CACHE_DIR": str(exported.folder / "openvino-cache"),
        }
        if settings.streams > 1:
            config["NUM_STREAMS"] = settings.streams
        if settings.threads:
            config["INFERENCE_NUM_THREADS"] = settings.threads
        # From the path, so that a cached blob is found without reading the model at all.
        compiled = core.compile_model(str(exported.fp32), "CPU", config)
        streams = max(1, int(compiled.get_property("NUM_STREAMS")))
        queue = ov.AsyncInferQueue(compiled, streams)
        output = compiled.output(0)
    except Exception as exc:
        raise BackendUnavailable(f"openvino cannot compile {exported.fp32}: {exc}") from exc
    encoder = BatchedEncoder(exported, settings.batch_size, _side_by_side(queue, output), streams)
    return LoadedEncoder(encoder, f"openvino/{precision}", note)


def _side_by_side(queue: Any, output: Any) -> RunBatches:
    """:data:`RunBatches` on an ``AsyncInferQueue``: each batch goes to the first free
    request (one per stream), so the streams never wait for one another, and a stream
    slowed by other work on its core takes fewer batches."""
    lock = threading.Lock()  # one encode call at a time: wait_all waits for every request

    def run_all(
        inputs: Iterable[Mapping[str, np.ndarray]], done: Callable[[int, np.ndarray], None]
    ) -> None:
        failures: list[BaseException] = []

        def finished(request: Any, index: int) -> None:
            try:  # the tensor is the request's own buffer: done reads it before it is reused
                done(index, request.get_tensor(output).data)
            except BaseException as exc:  # raised below: an engine thread cannot raise it
                failures.append(exc)

        with lock:
            queue.set_callback(finished)
            try:
                for index, batch in enumerate(inputs):
                    queue.start_async(dict(batch), index)
            finally:
                queue.wait_all()
        if failures:
            raise failures[0]

    return run_all
