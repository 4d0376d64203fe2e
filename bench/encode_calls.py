"""Encode calls of the sizes claimwatch makes, against the batching it used before. By hand:

    .venv/bin/python bench/encode_calls.py [--texts 2600] [--repeat 3] [--torch]

Texts: the first ``--texts`` distinct tweet texts of the germanwings PHEME thread file.
They are encoded in calls of 16 texts (a live poll), 64, 512 (what one ingest batch of
1,024 posts asks for) and all at once, by the OpenVINO backend three ways:

- ``fixed, 1 stream``: the cut used before, batches of ``batch_size`` texts in token-length
  order, one batch at a time on every thread (re-created here as the baseline);
- ``cost cut, 1 stream``: :func:`tracker.embedding.base.batches` (the cut with the fewest
  tokens run, padding included), one batch at a time;
- ``cost cut, streams``: the default, batches side by side, one per OpenVINO stream.

With ``--torch``, the torch backend instead, two ways: sentence-transformers' own
``encode`` (the baseline: batches of ``batch_size`` in character-length order) and
claimwatch's (the same cut as above, through the model's own modules).

Every round runs each way once, in a rotating order; the ratio to the baseline is taken
within a round (other work on the machine then slows all three alike), and the medians of
``--repeat`` rounds are printed, with the share of tokens run that were padding.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from embed import load_texts  # noqa: E402

import tracker.embedding.base as embedding_base  # noqa: E402
from tracker.config.settings import EmbeddingSettings  # noqa: E402
from tracker.embedding.model import SentenceTransformerEmbedder  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
CALLS = (16, 64, 512, 0)  # 0: every text in one call
BATCH_SIZE = EmbeddingSettings().batch_size


def fixed_cut(lengths: np.ndarray, max_rows: int, *_: object, **__: object) -> list[int]:
    """The cut used before: every ``max_rows`` texts."""
    return [*range(max_rows, len(lengths), max_rows), len(lengths)] if len(lengths) else []


@contextmanager
def cut(with_cut: Callable[..., list[int]]) -> Iterator[None]:
    """Every backend cuts with ``with_cut`` meanwhile (through ``length_batches``)."""
    saved = embedding_base.batches
    embedding_base.batches = with_cut
    try:
        yield
    finally:
        embedding_base.batches = saved


def padding(texts: list[str], embedder: SentenceTransformerEmbedder, call: int,
            with_cut: Callable[..., list[int]], side_by_side: int) -> float:
    """Share of the tokens run that are padding, for calls of ``call`` texts."""
    encoder = embedder._loaded().encoder
    tokenizer = encoder._tokenizer  # type: ignore[attr-defined]
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])
    run = real = 0
    step = call or len(texts)
    with cut(with_cut):
        for start in range(0, len(texts), step):
            part = lengths[start : start + step]
            for rows in embedding_base.length_batches(part, BATCH_SIZE, side_by_side):
                run += len(rows) * int(part[rows].max())
            real += int(part.sum())
    return 1 - real / run


def timed(ways: list[tuple[str, Callable[[list[str]], object]]], texts: list[str],
          repeat: int) -> dict[tuple[str, int], list[float]]:
    """Seconds each way takes to encode ``texts`` in calls of each size, per round."""
    seconds: dict[tuple[str, int], list[float]] = {}
    for round_ in range(repeat):
        for call in CALLS:
            step = call or len(texts)
            for k in range(len(ways)):
                name, encode = ways[(k + round_) % len(ways)]
                start = time.perf_counter()
                for at in range(0, len(texts), step):
                    encode(texts[at : at + step])
                seconds.setdefault((name, call), []).append(time.perf_counter() - start)
    return seconds


def torch_ways(texts: list[str], repeat: int) -> None:
    embedder = SentenceTransformerEmbedder(EmbeddingSettings(backend="torch"))
    embedder.encode(["warm up the model once"] * 64)
    model = embedder.model

    def theirs(part: list[str]) -> object:
        return model.encode(part, batch_size=BATCH_SIZE, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    ways: list[tuple[str, Callable[[list[str]], object]]] = [
        ("sentence-transformers", theirs), ("claimwatch torch", embedder.encode),
    ]
    seconds = timed(ways, texts, repeat)
    print(f"{len(texts)} texts, {repeat} rounds, {embedder.backend}")
    print(f"{'call':>6} {'way':<22} {'texts/s':>8} {'x baseline':>10}")
    for call in CALLS:
        base = seconds[(ways[0][0], call)]
        for name, _ in ways:
            mine = seconds[(name, call)]
            ratio = statistics.median(b / m for b, m in zip(base, mine, strict=True))
            print(f"{call or len(texts):>6} {name:<22} "
                  f"{len(texts) / statistics.median(mine):8.1f} {ratio:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2600)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--torch", action="store_true", help="the torch backend instead")
    args = parser.parse_args()
    texts = load_texts(DEFAULT_FILE, args.texts)
    if args.torch:
        torch_ways(texts, args.repeat)
        return

    one = SentenceTransformerEmbedder(EmbeddingSettings(backend="openvino", streams=1))
    many = SentenceTransformerEmbedder(EmbeddingSettings(backend="openvino"))
    for embedder in (one, many):
        embedder.encode(["warm up the model once"] * 64)
    if not one.backend.startswith("openvino") or not many.backend.startswith("openvino"):
        sys.exit(f"OpenVINO does not run here: {many.backend}")
    streams = many._loaded().encoder.side_by_side  # type: ignore[attr-defined]
    ways: list[tuple[str, SentenceTransformerEmbedder, Callable[..., list[int]]]] = [
        ("fixed, 1 stream", one, fixed_cut),
        ("cost cut, 1 stream", one, embedding_base.batches),
        (f"cost cut, {streams} streams", many, embedding_base.batches),
    ]
    def run_with(embedder: SentenceTransformerEmbedder,
                 with_cut: Callable[..., list[int]]) -> Callable[[list[str]], object]:
        def encode(part: list[str]) -> object:
            with cut(with_cut):
                return embedder.encode(part)
        return encode

    seconds = timed([(name, run_with(e, c)) for name, e, c in ways], texts, args.repeat)

    print(f"{len(texts)} texts, {args.repeat} rounds, {many.backend}, {streams} streams")
    print(f"{'call':>6} {'way':<22} {'texts/s':>8} {'x baseline':>10} {'padding':>8}")
    for call in CALLS:
        base = seconds[(ways[0][0], call)]
        for name, embedder, with_cut in ways:
            mine = seconds[(name, call)]
            ratio = statistics.median(b / m for b, m in zip(base, mine, strict=True))
            pad = padding(texts, embedder, call, with_cut, 1 if embedder is one else streams)
            print(f"{call or len(texts):>6} {name:<22} "
                  f"{len(texts) / statistics.median(mine):8.1f} {ratio:10.2f} {pad:8.1%}")


if __name__ == "__main__":
    main()
