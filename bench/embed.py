"""Embedding backends against torch fp32: speed, agreement, retrieval. Run by hand:

    .venv/bin/python bench/embed.py [--texts 2000] [--queries 500] [--repeat 5] [--no-map]

Texts: the first ``--texts`` distinct tweet texts of the germanwings PHEME thread file
(``../shared/data/pheme/fullthreads/germanwings-crash.jsonl``). For every ``backend/
precision`` that runs here (one that would fall back is listed, not measured):

- speed: sentences/s encoding all the texts, after a warm-up; ``--repeat`` rounds, every
  backend once per round in a rotating order, and the ratio to torch fp32 taken within each
  round (other work on the machine then slows both sides alike); medians reported;
- agreement with torch fp32: the worst and the mean cosine of a text's two vectors; for
  ``--queries`` texts (evenly spread), whether the top-10 nearest other texts of the corpus
  are the same set as with fp32 vectors (% of queries) and the mean overlap of the two sets;
- retrieval: MAP@5 of dense retrieval and of the fusion on the CheckThat! 2020 dev split
  (``tracker.evaluation.checkthat.evaluate_retrieval``; 10k claims encoded per backend,
  the slow part;
  ``--no-map`` skips it).

Where the CPU has no AMX, ``torch/bf16`` falls back; it is then also measured with the
check overridden (``torch/bf16!``, not eligible) to show what the check saves. The default
rule: the fastest backend whose top-10 sets agree for >= 98% of queries and whose MAP@5
(dense and fusion) drops by <= 0.005. Prints a table; writes ``bench/out/embed.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tracker.embedding.torch as embed_module  # noqa: E402
from tracker.config.settings import EmbeddingSettings  # noqa: E402
from tracker.embedding.model import SentenceTransformerEmbedder  # noqa: E402
from tracker.embedding.torch import cpu_flags  # noqa: E402
from tracker.evaluation.checkthat import evaluate_retrieval, load_checkthat  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_FILE = DATA / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
DEFAULT_CHECKTHAT = DATA / "checkthat2020"
OUT = ROOT / "bench" / "out" / "embed.json"
CANDIDATES = [
    ("torch", "fp32"), ("torch", "bf16"), ("onnx", "fp32"), ("onnx", "int8"),
    ("openvino", "fp32"), ("openvino", "bf16"),
]
MIN_TOP10_SAME = 98.0  # % of queries
MAX_MAP_DROP = 0.005


@dataclass
class Row:
    key: str
    backend: str
    embedder: SentenceTransformerEmbedder
    forced: bool = False
    seconds: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    vectors: np.ndarray | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def load_texts(path: Path, count: int) -> list[str]:
    texts: list[str] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            text = " ".join(str(json.loads(line).get("text") or "").split())
            if text and text not in seen:
                seen.add(text)
                texts.append(text)
                if len(texts) == count:
                    break
    return texts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``(len(queries), 10)`` indices of each query's nearest other texts."""
    sims = vectors[queries] @ vectors.T
    sims[np.arange(len(queries)), queries] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :10]


def forced_bf16(settings: EmbeddingSettings) -> SentenceTransformerEmbedder:
    """A torch bf16 embedder built as if the CPU had AMX."""
    real = embed_module.cpu_flags
    embed_module.cpu_flags = lambda: real() | {"amx_bf16"}
    try:
        embedder = SentenceTransformerEmbedder(settings)
        _ = embedder.backend
    finally:
        embed_module.cpu_flags = real
    return embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="0: one per core")
    parser.add_argument("--checkthat", type=Path, default=DEFAULT_CHECKTHAT)
    parser.add_argument("--no-map", action="store_true", help="skip the CheckThat! MAP@5")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  log: %(message)s")

    texts = load_texts(args.file, args.texts)
    flags = cpu_flags()
    print(
        f"{len(texts)} texts from {args.file.name} (mean {np.mean([len(t) for t in texts]):.0f}"
        f" chars); CPU: {os.cpu_count()} cores, amx_bf16={'amx_bf16' in flags}, "
        f"avx512_bf16={'avx512_bf16' in flags}, avx512_vnni={'avx512_vnni' in flags}"
    )
    rows: list[Row] = []
    for backend, precision in CANDIDATES:
        settings = EmbeddingSettings(
            backend=backend, precision=precision, batch_size=args.batch_size,
            threads=args.threads,
        )
        embedder = SentenceTransformerEmbedder(settings)
        key = f"{backend}/{precision}"
        label = embedder.backend
        if label != key:
            print(f"  {key}: not measured, runs as {label}")
            if key == "torch/bf16":
                rows.append(Row("torch/bf16!", "torch/bf16 (AMX check overridden)",
                                forced_bf16(settings), forced=True))
            continue
        rows.append(Row(key, label, embedder))

    for row in rows:  # warm-up: first calls allocate, compile, fill caches
        row.embedder.encode(texts[:256])
    base = rows[0]
    for round_no in range(args.repeat):
        shift = round_no % len(rows)
        for row in rows[shift:] + rows[:shift]:
            started = time.perf_counter()
            row.vectors = row.embedder.encode(texts)
            row.seconds.append(time.perf_counter() - started)
        for row in rows:
            row.ratios.append(base.seconds[-1] / row.seconds[-1])
        print(f"  round {round_no + 1}: " + "  ".join(
            f"{r.key} {len(texts) / r.seconds[-1]:.0f}/s" for r in rows
        ), flush=True)

    assert base.vectors is not None
    queries = np.linspace(0, len(texts) - 1, min(args.queries, len(texts))).astype(np.int64)
    base_top = top10(base.vectors, queries)
    data = None if args.no_map else load_checkthat(args.checkthat, "dev")
    for row in rows:
        assert row.vectors is not None
        cosines = np.sum(row.vectors * base.vectors, axis=1)
        top = top10(row.vectors, queries)
        overlap = np.array([len(set(a) & set(b)) for a, b in zip(top, base_top, strict=True)])
        row.figures = {
            "backend": row.backend, "forced": row.forced,
            "sentences_per_s": round(len(texts) / statistics.median(row.seconds), 1),
            "ratio": round(statistics.median(row.ratios), 3),
            "ratio_range": [round(min(row.ratios), 3), round(max(row.ratios), 3)],
            "cosine_min": round(float(cosines.min()), 5),
            "cosine_mean": round(float(cosines.mean()), 6),
            "top10_same_pct": round(100.0 * float(np.mean(overlap == 10)), 2),
            "top10_overlap_mean": round(float(overlap.mean()), 3),
        }
        if data is not None:
            started = time.perf_counter()
            report = evaluate_retrieval(data, row.embedder, ["dense", "fusion"])
            row.figures["map5_dense"] = round(report.figures["dense"].map_5, 4)
            row.figures["map5_fusion"] = round(report.figures["fusion"].map_5, 4)
            print(f"  {row.key}: CheckThat! dev scored in {time.perf_counter() - started:.0f} s",
                  flush=True)

    for row in rows:
        f, b = row.figures, base.figures
        f["map5_drop"] = (
            round(max(b["map5_dense"] - f["map5_dense"], b["map5_fusion"] - f["map5_fusion"]), 4)
            if data is not None else None
        )
        f["eligible"] = (
            not row.forced and f["top10_same_pct"] >= MIN_TOP10_SAME
            and (f["map5_drop"] is None or f["map5_drop"] <= MAX_MAP_DROP)
        )
    chosen = max((r for r in rows if r.figures["eligible"]), key=lambda r: r.figures["ratio"])

    print(
        f"\n{'backend':<12} {'sent/s':>7} {'x fp32':>7} {'range':>11} {'cos min':>8} "
        f"{'cos mean':>9} {'top10 =':>8} {'overlap':>8} {'MAP@5 d':>8} {'MAP@5 f':>8}  ok"
    )
    for row in rows:
        f = row.figures
        print(
            f"{row.key:<12} {f['sentences_per_s']:>7.0f} {f['ratio']:>7.2f} "
            f"{f['ratio_range'][0]:>5.2f}-{f['ratio_range'][1]:<5.2f} {f['cosine_min']:>8.4f} "
            f"{f['cosine_mean']:>9.5f} {f['top10_same_pct']:>7.1f}% "
            f"{f['top10_overlap_mean']:>8.2f} {f.get('map5_dense', float('nan')):>8.4f} "
            f"{f.get('map5_fusion', float('nan')):>8.4f}  {'yes' if f['eligible'] else 'no'}"
        )
    print(
        f"\ndefault by the rule (top-10 same >= {MIN_TOP10_SAME:.0f}% of queries, MAP@5 drop <= "
        f"{MAX_MAP_DROP}, fastest): {chosen.key}"
    )
    result = {
        "texts": len(texts), "queries": len(queries), "repeat": args.repeat,
        "batch_size": args.batch_size, "threads": args.threads,
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(),
            "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "avx512_vnni": "avx512_vnni" in flags,
        },
        "versions": {name: version(name) for name in ("torch", "onnxruntime", "openvino")},
        "rows": {r.key: r.figures for r in rows},
        "default": chosen.key,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
