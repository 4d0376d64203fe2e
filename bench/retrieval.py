"""Tune the fusion of dense and BM25 retrieval on CheckThat! 2020 Task 2 train, then
report every method on dev with the tuned value. Run by hand:

    .venv/bin/python bench/retrieval.py [--data DIR] [--tune train] [--report dev]

Claims and tweets of both splits are encoded once (about 20,000 texts: a minute or two on
two cores). Prints MAP@5 on the tuning split for each fusion weight ``w`` of
``w * cosine + (1 - w) * bm25 / max(bm25)`` and each reciprocal-rank-fusion ``k``, the
best of each, then all four figures of every method on the report split. The tuned values
belong in ``tracker/search/retrieval.py`` (``FUSION_WEIGHT``, ``RRF_K``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import load_settings  # noqa: E402
from tracker.evaluation.checkthat import (  # noqa: E402
    ClaimRetrievalData,
    Figures,
    ScoreMatrices,
    compute_scores,
    load_claims,
    load_tweets,
    rank,
    score_run,
)
from tracker.runtime import shared_embedder  # noqa: E402
from tracker.search.retrieval import (  # noqa: E402
    FUSION_WEIGHT,
    METHODS,
    RRF_K,
    rrf,
    top_k,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "checkthat2020"
WEIGHTS = [round(w * 0.05, 2) for w in range(21)]
RRF_KS = [1, 2, 5, 10, 20, 40, 60, 100]


def rows(data: ClaimRetrievalData, split: str) -> list[int]:
    return [i for i, t in enumerate(data.tweets) if t.split == split]


def part(
    data: ClaimRetrievalData, scores: ScoreMatrices, split: str
) -> tuple[ClaimRetrievalData, ScoreMatrices]:
    """The tweets of one split with their rows of the score matrices."""
    keep = rows(data, split)
    assert scores.dense is not None and scores.bm25 is not None
    return (
        replace(data, split=split, tweets=tuple(data.tweets[i] for i in keep)),
        ScoreMatrices(scores.dense[keep], scores.bm25[keep]),
    )


def rrf_figures(data: ClaimRetrievalData, scores: ScoreMatrices, k: float) -> Figures:
    assert scores.dense is not None and scores.bm25 is not None
    ids = [c.id for c in data.claims]
    run = {
        t.id: [ids[i] for i in top_k(rrf(scores.dense[r], scores.bm25[r], k=k), 10)]
        for r, t in enumerate(data.tweets)
    }
    return score_run(run, {t.id: t.relevant for t in data.tweets})


def line(label: str, f: Figures) -> str:
    return (
        f"{label:<22} MAP@1 {f.map_1:.4f}  MAP@5 {f.map_5:.4f}  MAP@10 {f.map_10:.4f}  "
        f"P@1 {f.p_1:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tune", default="train", help="split to tune on (default train)")
    parser.add_argument("--report", default="dev", help="split to report on (default dev)")
    parser.add_argument("--config", type=Path, default=None, help="claimwatch settings file")
    args = parser.parse_args()

    settings = load_settings(args.config)
    embedder = shared_embedder(settings.embedding)
    claims = tuple(load_claims(args.data / "verified_claims.jsonl"))
    tweets = tuple(
        t for t in load_tweets(args.data / "tweets.jsonl") if t.split in (args.tune, args.report)
    )
    everything = ClaimRetrievalData("all", claims, tweets)
    started = time.perf_counter()
    scores = compute_scores(everything, embedder)
    print(
        f"{len(claims)} claims, {len(tweets)} tweets ({args.tune} + {args.report}) scored in "
        f"{time.perf_counter() - started:.1f} s with {embedder.name}"
    )

    tune_data, tune_scores = part(everything, scores, args.tune)
    qrels = {t.id: t.relevant for t in tune_data.tweets}
    print(f"\nweighted sum on {args.tune}: w * cosine + (1 - w) * bm25 / max(bm25)")
    by_weight: dict[float, Figures] = {}
    for w in WEIGHTS:
        by_weight[w] = score_run(rank(tune_data, tune_scores, "fusion", weight=w), qrels)
        print(line(f"  w = {w:.2f}", by_weight[w]))
    best_w = max(WEIGHTS, key=lambda w: (by_weight[w].map_5, by_weight[w].map_10))
    print(f"\nreciprocal-rank fusion on {args.tune}: 1 / (k + rank)")
    by_k: dict[int, Figures] = {}
    for k in RRF_KS:
        by_k[k] = rrf_figures(tune_data, tune_scores, k)
        print(line(f"  k = {k}", by_k[k]))
    best_k = max(RRF_KS, key=lambda k: (by_k[k].map_5, by_k[k].map_10))
    print(
        f"\nbest on {args.tune}: weighted sum w = {best_w:.2f} (MAP@5 "
        f"{by_weight[best_w].map_5:.4f}), RRF k = {best_k} (MAP@5 {by_k[best_k].map_5:.4f}); "
        f"in tracker/search/retrieval.py now: FUSION_WEIGHT = {FUSION_WEIGHT}, RRF_K = {RRF_K}"
    )

    report_data, report_scores = part(everything, scores, args.report)
    qrels = {t.id: t.relevant for t in report_data.tweets}
    print(f"\n{args.report} ({len(report_data.tweets)} tweets), tuned on {args.tune}:")
    for method in METHODS:
        figures = score_run(rank(report_data, report_scores, method, weight=best_w), qrels)
        print(line(f"  {method}" + (f" w={best_w:.2f}" if method == "fusion" else ""), figures))
    print(line(f"  rrf k={best_k}", rrf_figures(report_data, report_scores, best_k)))
    dense = report_scores.dense
    assert dense is not None
    print(f"\n(dense score matrix {dense.shape}, {np.dtype(dense.dtype).name})")


if __name__ == "__main__":
    main()
