"""Stance of replies on RumourEval 2017, and the threshold of claim-kind refinement.

    .venv/bin/python bench/stance.py            # stance: per event, held out
    .venv/bin/python bench/stance.py --kinds    # also: kind refinement on germanwings

Stance: the labelled replies of every RumourEval 2017 event (the -test file has no stance
labels). Cues alone, then cues + model, the model's threshold chosen by leave-one-event-out:
for each event, the threshold that maximizes macro-F1 on the *other* events is applied to
it, so no figure is tuned on the event it reports. Prints accuracy, macro-F1, recall of
deny and query, and microseconds per reply (cues; cues + model without embedding; the
embedding itself).

Kinds: claims the word lists read in the germanwings thread file, embedded; for each
threshold, how often the closest kind example agrees with the word lists on the claims
they did read (attribution, casualty, method), and how many ``other`` claims it would
turn into a kind.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.claims.examples import ExampleReader  # noqa: E402
from tracker.claims.extract import ClaimAnalyzer, clean_sentence  # noqa: E402
from tracker.claims.stance import StanceReader  # noqa: E402
from tracker.config.settings import EmbeddingSettings  # noqa: E402
from tracker.models import ClaimKind, Stance  # noqa: E402
from tracker.runtime import shared_embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pheme"
CLASSES = (Stance.SUPPORT, Stance.DENY, Stance.QUERY, Stance.COMMENT)
GRID = [round(0.30 + 0.02 * i, 2) for i in range(26)] + [2.0]  # 2.0: model never speaks


def load_replies() -> list[tuple[str, str, Stance]]:
    """(event, text, stance) of every labelled reply."""
    out: list[tuple[str, str, Stance]] = []
    for path in sorted((DATA / "rumoureval2017").glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            row = json.loads(line)
            if row.get("is_source") or not row.get("stance"):
                continue
            out.append((row["event"], row["text"], Stance(row["stance"])))
    return out


def scores(gold: list[Stance], pred: list[Stance]) -> dict[str, float]:
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    f1s: list[float] = []
    recall: dict[Stance, float] = {}
    for c in CLASSES:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        gp = sum(g == c for g in gold)
        pp = sum(p == c for p in pred)
        prec = tp / pp if pp else 0.0
        rec = tp / gp if gp else 0.0
        recall[c] = rec
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return {
        "acc": acc,
        "macro_f1": sum(f1s) / len(f1s),
        "deny_recall": recall[Stance.DENY],
        "query_recall": recall[Stance.QUERY],
    }


def model_predictions(
    cues: list[Stance | None], labels: list[str], sims: np.ndarray, threshold: float
) -> list[Stance]:
    out: list[Stance] = []
    for cue, label, sim in zip(cues, labels, sims, strict=True):
        if cue is not None:
            out.append(cue)
        elif sim >= threshold:
            out.append(Stance(label))
        else:
            out.append(Stance.COMMENT)
    return out


def line(name: str, n: int, s: dict[str, float], extra: str = "") -> str:
    return (
        f"{name:20} {n:5d}  acc {s['acc']:.3f}  macroF1 {s['macro_f1']:.3f}  "
        f"deny-rec {s['deny_recall']:.3f}  query-rec {s['query_recall']:.3f}{extra}"
    )


def stance_bench() -> None:
    replies = load_replies()
    events = sorted({e for e, _, _ in replies})
    print(f"{len(replies)} labelled replies, events: {', '.join(events)}")
    print("classes:", dict(Counter(s.value for _, _, s in replies)))
    embedder = shared_embedder(EmbeddingSettings())
    encode = embedder.encode

    texts = [t for _, t, _ in replies]
    gold = [s for _, _, s in replies]
    cleaned = [clean_sentence(t) or t for t in texts]
    t0 = time.perf_counter()
    vectors = np.asarray(encode(cleaned), dtype=np.float32)
    embed_us = (time.perf_counter() - t0) / len(texts) * 1e6

    for question_is_query in (True, False):
        cues_only = StanceReader(question_is_query=question_is_query)
        pred = [cues_only.read(t) for t in texts]
        print(line(f"cues (?->query={question_is_query})", len(texts), scores(gold, pred)))

    reader = StanceReader.with_model(encode)
    model = reader.model
    assert model is not None
    cues = [reader.cue(t) for t in texts]
    closest = [model.closest(v) for v in vectors]
    labels = [label for label, _ in closest]
    sims = np.array([s for _, s in closest], dtype=np.float32)

    by_event: dict[str, list[int]] = defaultdict(list)
    for i, (e, _, _) in enumerate(replies):
        by_event[e].append(i)

    print("\nper event (cues alone | cues + model, threshold chosen on the other events)")
    pooled_gold: list[Stance] = []
    pooled_cue: list[Stance] = []
    pooled_model: list[Stance] = []
    chosen: list[float] = []
    for event in events:
        rows = by_event[event]
        held_out = set(rows)
        train = [i for i in range(len(texts)) if i not in held_out]

        def f1_at(th: float, idx: list[int]) -> float:
            p = model_predictions(
                [cues[i] for i in idx], [labels[i] for i in idx], sims[idx], th
            )
            return scores([gold[i] for i in idx], p)["macro_f1"]

        best = max(GRID, key=lambda th: (f1_at(th, train), th))
        chosen.append(best)
        g = [gold[i] for i in rows]
        pc = [cues[i] or Stance.COMMENT for i in rows]
        pm = model_predictions([cues[i] for i in rows], [labels[i] for i in rows], sims[rows], best)
        pooled_gold += g
        pooled_cue += pc
        pooled_model += pm
        print(line(f"{event} cues", len(rows), scores(g, pc)))
        print(line(f"{event} +model", len(rows), scores(g, pm), f"  (threshold {best:.2f})"))
    print("\nheld out, all events pooled")
    print(line("cues", len(pooled_gold), scores(pooled_gold, pooled_cue)))
    print(line("cues + model", len(pooled_gold), scores(pooled_gold, pooled_model)))
    print("thresholds chosen per fold:", dict(Counter(chosen)))
    majority = scores(gold, [Stance.COMMENT] * len(gold))
    print(line("all comment", len(gold), majority))

    # Timing.
    loops = 5
    t0 = time.perf_counter()
    for _ in range(loops):
        for t, v in zip(texts, vectors, strict=True):
            reader.read(t, v)
    model_us = (time.perf_counter() - t0) / loops / len(texts) * 1e6
    cue_only = StanceReader()
    t0 = time.perf_counter()
    for _ in range(loops):
        for t in texts:
            cue_only.read(t)
    cue_us = (time.perf_counter() - t0) / loops / len(texts) * 1e6
    print(
        f"\nµs per reply: cues {cue_us:.1f}; cues + model {model_us:.1f} "
        f"(the vector given; embedding it costs {embed_us:.0f} µs more, batched, on "
        f"{embedder.backend})"
    )


def kinds_bench() -> None:
    path = DATA / "fullthreads" / "germanwings-crash.jsonl"
    posts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    analyzer = ClaimAnalyzer()
    claims = {c.text: c for p in posts for c in analyzer.extract(p)}
    texts = list(claims)
    embedder = shared_embedder(EmbeddingSettings())
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    reader = ExampleReader.for_kinds(embedder.encode, threshold=0.0)
    kinds = [claims[t].kind for t in texts]
    near = [reader.nearest(v) for v in vectors]
    print(f"\nkind refinement: {len(texts)} distinct claims of {len(posts)} germanwings posts")
    print("by kind:", dict(Counter(k.value for k in kinds)))
    print(" threshold  read(agree/n)  agreement  other->kind  (of other)")
    n_other = sum(k is ClaimKind.OTHER for k in kinds)
    for th in [round(0.35 + 0.05 * i, 2) for i in range(8)]:
        read = [(k, lab) for k, (lab, s) in zip(kinds, near, strict=True)
                if k is not ClaimKind.OTHER and s >= th]
        agree = sum(k.value == lab for k, lab in read)
        moved = Counter(lab for k, (lab, s) in zip(kinds, near, strict=True)
                        if k is ClaimKind.OTHER and s >= th)
        print(
            f"   {th:.2f}   {agree:5d}/{len(read):<5d}   {agree / max(1, len(read)):.3f}     "
            f"{sum(moved.values()):5d}  ({sum(moved.values()) / max(1, n_other):.1%}) {dict(moved)}"
        )
    samples = sorted(
        ((s, lab, t) for t, k, (lab, s) in zip(texts, kinds, near, strict=True)
         if k is ClaimKind.OTHER),
        reverse=True,
    )
    print("closest `other` claims:")
    for s, lab, t in samples[:12]:
        print(f"   {s:.2f} {lab:11} {t[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", action="store_true", help="also measure kind refinement")
    args = parser.parse_args()
    stance_bench()
    if args.kinds:
        kinds_bench()


if __name__ == "__main__":
    main()
