"""Leave-one-event-out choice of the conflict rule's thresholds, on the labelled events.

    .venv/bin/python bench/conflict_loeo.py [FILES OR FOLDERS ...]

Default events: the germanwings full threads, RumourEval 2017 and the RumourEval 2019
Twitter events (tiers from ``examples/eval.toml``). One replay per event carries every
variant of the grid below as its own conflict rule (``detect = "conflict"``; rules keep
their state per rule, so they do not interact), and each variant is scored from that
replay by the threads its alerts cover (threads of at least 20 posts).

Objective, as in ``bench/loeo.py``: J = rumour coverage - non-rumour coverage - 0.01 x
mean raised alerts per day. For each held-out event the variant with the best J on the
others is chosen (ties go to the shipped default, ``c-w60-a2-p2``) and that event's own
figures under it are pooled.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import RuleSettings, load_settings  # noqa: E402
from tracker.evaluation.scoring import (  # noqa: E402
    RUMOURS,
    EventScore,
    event_files,
    read_events,
    replay_event,
    score_event,
    thread_labels,
)

DATA = ROOT.parent / "shared" / "data"
DEFAULT_PATHS = (
    DATA / "pheme" / "fullthreads" / "germanwings-crash.jsonl",
    DATA / "pheme" / "rumoureval2017",
    DATA / "rumoureval2019",
)
DEFAULT = "c-w60-a2-p2"


def variants() -> dict[str, RuleSettings]:
    out: dict[str, RuleSettings] = {}
    for window, authors, posts in itertools.product((30.0, 60.0, 120.0), (1, 2, 3), (2, 3)):
        if authors > posts:
            continue
        name = f"c-w{int(window)}-a{authors}-p{posts}"
        out[name] = RuleSettings(
            name=name, detect="conflict", window_minutes=window, ratio=2.0, min_posts=posts,
            min_authors=authors, severity={"medium": 2.0, "high": 3.0},
            resolve_after_minutes=60.0,
        )
    return out


def objective(scores: list[EventScore]) -> tuple[float, int, int, int, int]:
    """(J, rumours covered, rumour threads, non-rumours covered, non-rumour threads)."""
    r = sum(s.covered(RUMOURS) for s in scores)
    rt = sum(sum(o.label in RUMOURS for o in s.outcomes) for s in scores)
    n = sum(s.covered(("non-rumour",)) for s in scores)
    nt = sum(sum(o.label == "non-rumour" for o in s.outcomes) for s in scores)
    load = sum(s.alerts_per_day for s in scores) / max(1, len(scores))
    return (r / rt if rt else 0.0) - (n / nt if nt else 0.0) - 0.01 * load, r, rt, n, nt


def main(argv: list[str]) -> None:
    grid = variants()
    base = load_settings(ROOT / "examples" / "eval.toml")
    settings = base.model_copy(update={"rules": tuple(grid.values())})
    paths = [Path(a) for a in argv] or list(DEFAULT_PATHS)
    rows: dict[tuple[str, str], EventScore] = {}
    with tempfile.TemporaryDirectory(prefix="conflict-loeo-") as scratch:
        for number, file in enumerate(event_files(paths)):
            for event in read_events(file):
                folder = Path(scratch) / f"{number}-{len(rows)}"
                folder.mkdir()
                report = asyncio.run(replay_event(settings, event, db=folder / "e.db"))
                threads = thread_labels([r for _, r in event.records if isinstance(r, dict)])
                for name in grid:
                    rows[(f"{file}:{event.name}", name)] = score_event(
                        report, threads, event=event.name, min_posts=20, rule=name
                    )
                shutil.rmtree(folder, ignore_errors=True)
    events = sorted({e for e, _ in rows})
    print(f"{len(events)} events; J, rumours covered/threads, non-rumours covered/threads")
    for name in grid:
        print(f"  {name:14} {objective([rows[(e, name)] for e in events])}")
    chosen: Counter[str] = Counter()
    pooled = [0, 0, 0, 0]
    for held in events:
        others = [e for e in events if e != held]
        best = max(grid, key=lambda n: (objective([rows[(e, n)] for e in others])[0],
                                        n == DEFAULT))
        chosen[best] += 1
        _, r, rt, n, nt = objective([rows[(held, best)]])
        pooled = [pooled[0] + r, pooled[1] + rt, pooled[2] + n, pooled[3] + nt]
    print(f"chosen per held-out event: {dict(chosen)}")
    print(f"held-out, by conflict alerts: rumour threads {pooled[0]}/{pooled[1]}, "
          f"non-rumour {pooled[2]}/{pooled[3]}")


if __name__ == "__main__":
    main(sys.argv[1:])
