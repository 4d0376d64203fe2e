"""Leave-one-event-out choice of the alert rule's thresholds, on the labelled events.

    .venv/bin/python bench/loeo.py [--variants N] [--cascade-events N] [--fresh]
                                   [--events NAME ...] [--min-posts N]

One replay per event carries MANY rule variants at once: each variant is its own
``[[rules]]`` entry (``v000`` ... ``vNNN``, all held, channel ``log``) and rules keep
their state per (rule, narrative), so they do not interact; an alert's ``rule`` says
which variant fired, and each variant is scored from the one replay
(``tracker.evaluation.scoring.score_event(..., rule=...)``). ``v000`` is the shipped
spread rule (``DEFAULT_RULES[0]``). The shipped rules for contradicted narratives and
conflicting reports (``DEFAULT_RULES[1:]``) run in the same replay and each variant is
scored together with them, as an analyst runs it (``--spread-only``: the variant alone).
The other variants are a seeded random sample of the grid ``GRID`` over the keys of
``tracker.config.settings.RuleSettings`` (a key the settings do not have is left out, so the
script follows the rules as they change).

Objective (higher is better), over a set of events pooled:

    J = rumour coverage - NON_RUMOUR_WEIGHT * non-rumour coverage - LOAD_WEIGHT * load

rumour coverage: the share of counted rumour threads (every veracity: each was
unverified while it spread) covered by an alert; non-rumour coverage: the share of
counted non-rumour threads covered (a false alarm on a real report); load: the mean over
the events of raised alerts per day of event time (an analyst's reading). For each
held-out event the variant with the best J on all the other events is chosen, and that
event's own figures under it are reported; the held-out totals pool those. Last, the
variant chosen on all events.

Events: the germanwings full threads, every event of RumourEval 2017 (including the
mixed test file), the RumourEval 2019 Twitter events (not Reddit), and Twitter15 and
Twitter16 cascades capped at ``--cascade-events`` reposts each (a full run is too slow on
two cores). RumourEval 2017's files hold only rumour reply threads, so each of its events
replays with PHEME's source tweets of the same event (``pheme/sources``: the newsroom
reporting and non-rumour sources around them; ``--no-background``: without). An event
held out is held out from every dataset (germanwings: the full threads and RumourEval's
threads together). Tiers come from ``examples/eval.toml``.

Cache: each event's scores for the variant set are kept in ``bench/out/loeo/`` under a
key made of the event file, the caps, the settings with the variants, and the source of
``tracker/`` and ``alerts/`` (a change of the model or the rules replays again);
``--fresh`` ignores it. Wall times are printed per event and in all.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import (  # noqa: E402
    DEFAULT_RULES,
    RuleSettings,
    Settings,
    load_settings,
)
from tracker.evaluation.scoring import (  # noqa: E402
    LABELS,
    RUMOURS,
    WANTED,
    EventScore,
    LabelledEvent,
    ThreadOutcome,
    combine,
    read_events,
    replay_event,
    score_event,
    thread_labels,
    with_background,
)
from tracker.runtime import shared_embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "loeo"
CONFIG = ROOT / "examples" / "eval.toml"
# PHEME's source tweets of each event (rumour and non-rumour sources, newsrooms among
# them): the stream RumourEval 2017's rumour-only reply threads were drawn from
BACKGROUND = DATA / "pheme" / "sources"

NON_RUMOUR_WEIGHT = 1.0
LOAD_WEIGHT = 0.01  # 24 alerts a day (one an hour) cost as much as 24% of rumour coverage

# values tried per RuleSettings key; a key absent from RuleSettings is skipped
GRID: dict[str, tuple[Any, ...]] = {
    "window_minutes": (10.0, 15.0, 30.0, 60.0),
    "ratio": (1.5, 3.0, 6.0, 12.0),
    "min_posts": (3, 5, 10, 20),
    "min_authors": (2, 3, 6, 12),
    "verified_floor": (0.05, 0.2, 0.5),
    "max_verified_share": (0.3, 0.5, 0.8),
    # the product compares a narrative with verified reporting on its own question
    # (issue 10, item 2); --any-scope lets the grid try the incident-wide rate too
    "verified_scope": ("question",),
    "stance_weight": (0.0, 1.0, 3.0),
}


def event_paths() -> list[Path]:
    paths = [DATA / "pheme" / "fullthreads" / "germanwings-crash.jsonl"]
    paths += sorted((DATA / "pheme" / "rumoureval2017").glob("*.jsonl"))
    paths += sorted(p for p in (DATA / "rumoureval2019").glob("*.jsonl") if p.stem != "reddit")
    paths += [DATA / "twitter15_16" / f"twitter1{n}_cascades.jsonl.gz" for n in (5, 6)]
    return paths


# the shipped rule with a reach trigger (RuleSettings.min_reach): replayed beside the
# variants and reported as fixed rules on every event, not offered to the choice
REACH_TRIED = (250_000, 1_000_000, 3_000_000)


def grid_keys() -> list[str]:
    """The keys of ``GRID`` that ``RuleSettings`` has."""
    return [k for k in GRID if k in RuleSettings.model_fields]


def variants(count: int, seed: int, grid: dict[str, tuple[Any, ...]] = GRID) -> list[RuleSettings]:
    """v000 = the shipped spread rule (``DEFAULT_RULES[0]``); then ``count - 1`` distinct
    grid points, seeded; then the ablations (:func:`ablations`)."""
    keys = grid_keys()
    points = list(itertools.product(*(grid[k] for k in keys)))
    random.Random(seed).shuffle(points)
    base = DEFAULT_RULES[0].model_copy(update={"name": "v000", "channels": ("log",)})
    out = [base]
    seen = {tuple(getattr(base, k) for k in keys)}
    for point in points:
        if len(out) >= count:
            break
        if point in seen:
            continue
        seen.add(point)
        out.append(RuleSettings(name=f"v{len(out):03d}", channels=("log",),
                                **dict(zip(keys, point, strict=True))))
    return out + ablations(base)


def ablations(base: RuleSettings) -> list[RuleSettings]:
    """The shipped rule with one thing changed, each scored as a fixed rule: ``v000`` with
    each reach trigger of ``REACH_TRIED`` (when the settings have ``min_reach``)."""
    if "min_reach" not in RuleSettings.model_fields:
        return []
    return [base.model_copy(update={"name": f"v000r{n // 1000}k", "min_reach": n})
            for n in REACH_TRIED]


def describe(rule: RuleSettings) -> str:
    keys = grid_keys() + (["min_reach"] if getattr(rule, "min_reach", 0) else [])
    return " ".join(f"{k}={getattr(rule, k)}" for k in keys)


def _source_digest() -> str:
    digest = hashlib.sha256()
    for folder in ("tracker", "alerts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _to_json(score: EventScore) -> dict[str, Any]:
    return {
        "event": score.event, "alert_events": score.alert_events, "raised": score.raised,
        "raised_on_rumours": score.raised_on_rumours, "span_seconds": score.span_seconds,
        "posts": score.posts, "min_posts": score.min_posts, "files": list(score.files),
        "incidents": list(score.incidents),
        "outcomes": [asdict(o) for o in score.outcomes],
    }


def _from_json(d: dict[str, Any]) -> EventScore:
    return EventScore(
        event=d["event"], outcomes=tuple(ThreadOutcome(**o) for o in d["outcomes"]),
        alert_events=d["alert_events"], raised=d["raised"],
        raised_on_rumours=d["raised_on_rumours"], span_seconds=d["span_seconds"],
        posts=d["posts"], min_posts=d["min_posts"], files=tuple(d["files"]),
        incidents=tuple(d["incidents"]),
    )


@dataclass
class EventRun:
    name: str
    scores: dict[str, EventScore]  # variant name -> score
    seconds: float
    cached: bool


def run_event(
    settings: Settings, event: LabelledEvent, names: list[str], min_posts: int,
    key: str, fresh: bool, fixed: tuple[str, ...] = (),
) -> EventRun:
    cache = OUT / f"{_slug(event.name)}-{key[:16]}.json"
    if cache.is_file() and not fresh:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return EventRun(event.name, {v: _from_json(s) for v, s in data["scores"].items()},
                        data["seconds"], True)
    threads = thread_labels(event.dicts())
    started = time.perf_counter()
    report = asyncio.run(
        replay_event(settings, event, embedder=shared_embedder(settings.embedding))
    )
    seconds = time.perf_counter() - started
    scores = {
        v: score_event(report, threads, event=event.name, min_posts=min_posts,
                       rule=[v, *fixed], files=[event.file])
        for v in names
    }
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({
        "seconds": seconds, "scores": {v: _to_json(s) for v, s in scores.items()},
    }), encoding="utf-8")
    return EventRun(event.name, scores, seconds, False)


def _unit(name: str) -> str:
    """The event a run is of, whatever dataset it came from (``re17/x`` and ``x``)."""
    return name.rsplit("/", 1)[-1]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def mean_load(scores: list[EventScore]) -> float:
    """Raised alerts per day, the mean over the events."""
    return statistics.fmean(s.alerts_per_day for s in scores) if scores else 0.0


def objective(scores: list[EventScore]) -> float:
    pooled = combine("pool", scores)
    return (pooled.share(RUMOURS) - NON_RUMOUR_WEIGHT * pooled.share(("non-rumour",))
            - LOAD_WEIGHT * mean_load(scores))


def best_variant(runs: list[EventRun], names: list[str]) -> tuple[str, float]:
    scored = [(objective([r.scores[v] for r in runs]), -i, v) for i, v in enumerate(names)]
    j, _, name = max(scored)
    return name, j


def _pct(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.0%}"


def row(name: str, variant: str, s: EventScore, j: float, load: float | None = None) -> str:
    """One line of the table; ``load`` replaces the pooled alerts per day (totals show
    the mean over events, as the objective counts it)."""
    per_day = s.alerts_per_day if load is None else load
    threads = "/".join(str(s.threads(x)) for x in LABELS)
    return (f"{name[:28]:28} {variant:>10} {threads:>14} {_pct(s.share(RUMOURS)):>6} "
            f"{_pct(s.share(WANTED)):>6} {_pct(s.share(('non-rumour',))):>6} "
            f"{per_day:8.1f} {_pct(s.alert_precision):>6} {j:7.3f}")


HEADER = (f"{'held-out event':28} {'rule':>10} {'f/u/t/n':>14} {'rum':>6} {'f+u':>6} "
          f"{'non-r':>6} {'alerts/d':>8} {'prec':>6} {'J':>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=64, help="rule variants, v000 default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-posts", type=int, default=20)
    parser.add_argument("--cascade-events", type=int, default=50,
                        help="Twitter15/16: reposts kept per cascade")
    parser.add_argument("--cascade-hours", type=float, default=None,
                        help="Twitter15/16: reposts kept within this many hours")
    parser.add_argument("--events", nargs="*", default=None,
                        help="only events whose name contains one of these")
    parser.add_argument("--fresh", action="store_true", help="replay even when cached")
    parser.add_argument(
        "--any-scope", action="store_true",
        help="let variants compare with the incident-wide verified rate too",
    )
    parser.add_argument(
        "--spread-only", action="store_true",
        help="score each variant alone, without the shipped contradicted and conflict rules",
    )
    parser.add_argument(
        "--no-background", action="store_true",
        help="replay RumourEval 2017 events without their PHEME source tweets",
    )
    parser.add_argument(
        "--skip-cascades", action="store_true",
        help="leave Twitter15/16 out (their replays take most of the time)",
    )
    args = parser.parse_args()

    wall = time.perf_counter()
    grid = {**GRID, "verified_scope": ("question", "incident")} if args.any_scope else GRID
    rules = variants(args.variants, args.seed, grid)
    fixed_only = {r.name for r in ablations(rules[0])}
    names = [r.name for r in rules if r.name not in fixed_only]  # the choice
    # the shipped rules for contradicted narratives and conflicting reports run beside
    # every variant: a variant is scored with them, as the analyst would run it
    fixed = () if args.spread_only else tuple(
        r.model_copy(update={"channels": ("log",)}) for r in DEFAULT_RULES[1:]
    )
    base = load_settings(CONFIG)
    settings = base.model_copy(update={"rules": (*rules, *fixed)})
    Settings.model_validate(settings.model_dump())  # the variants are valid settings
    digest = hashlib.sha256(json.dumps([
        settings.model_dump(mode="json"), args.min_posts, args.cascade_events,
        args.cascade_hours, _source_digest(),
    ], sort_keys=True).encode()).hexdigest()
    print(f"{len(rules)} rule variants over "
          f"{', '.join(grid_keys())}; "
          f"threads of >= {args.min_posts} posts; cascades capped at "
          f"{args.cascade_events} reposts" + (f", {args.cascade_hours} h" if args.cascade_hours
                                             else ""))
    if fixed:
        print("each variant scored together with the shipped rules "
              + ", ".join(r.name for r in fixed))
    print(f"objective J = rumour coverage - {NON_RUMOUR_WEIGHT:g} x non-rumour coverage - "
          f"{LOAD_WEIGHT:g} x mean alerts/day")

    around = [] if args.no_background else [
        e for p in sorted(BACKGROUND.glob("*.jsonl")) for e in read_events(p)
    ]
    if around:
        print(f"RumourEval 2017 events replayed with their PHEME source tweets ({BACKGROUND})")
    runs: list[EventRun] = []
    cap = None if args.cascade_hours is None else args.cascade_hours * 60
    for path in event_paths():
        if args.skip_cascades and "cascades" in path.name:
            continue
        for event in read_events(path, cascade_minutes=cap, cascade_events=args.cascade_events):
            if path.parent.name == "rumoureval2017":
                event = with_background([event], around)[0]
                event.name = f"re17/{event.name}"
            elif path.parent.name == "rumoureval2019":
                event.name = f"re19/{event.name}"
            if args.events and not any(e in event.name for e in args.events):
                continue
            key = hashlib.sha256(
                f"{digest}|{path}|{path.stat().st_size}|{event.name}|{len(event.records)}"
                .encode()
            ).hexdigest()
            # every variant is scored, the ablations too; the choice is among ``names``
            run = run_event(settings, event, [*names, *sorted(fixed_only)], args.min_posts,
                            key, args.fresh,
                            tuple(r.name for r in fixed))
            runs.append(run)
            print(f"  replayed {run.name}: {len(event.records)} records, "
                  f"{run.seconds:.1f} s" + (" (cached)" if run.cached else ""), flush=True)

    print()
    print(HEADER)
    held: list[EventScore] = []
    for run in runs:
        # the same event from two datasets (germanwings: full threads and RumourEval's)
        # is held out together
        others = [r for r in runs if _unit(r.name) != _unit(run.name)]
        chosen, _ = best_variant(others, names)
        score = run.scores[chosen]
        held.append(score)
        print(row(run.name, chosen, score, objective([score])))
    total = combine("held-out total", held)
    load = mean_load(held)
    print("-" * len(HEADER))
    print(row("held-out total", "", total, objective(held), load))
    print(f"held-out: rumour threads covered {total.covered(RUMOURS)}/"
          f"{sum(total.threads(x) for x in RUMOURS)}, non-rumour {total.covered(('non-rumour',))}/"
          f"{total.threads('non-rumour')}, mean alerts/day {load:.1f}, "
          f"alert precision {_pct(total.alert_precision).strip()}")

    chosen, j = best_variant(runs, names)
    rule = next(r for r in rules if r.name == chosen)
    default_j = objective([r.scores["v000"] for r in runs])
    print(f"\nchosen on all events: {chosen} (J {j:.3f}; the default v000: {default_j:.3f})")
    print(f"  {describe(rule)}")
    if fixed_only:
        print("\nfixed rules on every event (no choice made):")
        for name in ["v000", *sorted(fixed_only)]:
            scores = [r.scores[name] for r in runs]
            pooled = combine(name, scores)
            print(row(name, name, pooled, objective(scores), mean_load(scores)))
    replay_s = sum(r.seconds for r in runs if not r.cached)
    print(f"\nwall time {time.perf_counter() - wall:.1f} s "
          f"(replays {replay_s:.1f} s, {sum(r.cached for r in runs)} events from cache)")


if __name__ == "__main__":
    main()
