"""How narratives on a real incident line up with PHEME's rumour threads.

    .venv/bin/python bench/narratives_pheme.py [FILE]

Ingests a PHEME thread file (default: germanwings) under an incident defined for it,
then prints the ten largest narratives (size, status, label), and how PHEME threads (by
``thread_id``) map onto narratives: how many threads are split across narratives, how
much of a thread its main narrative holds, and how many narratives mix rumour and
non-rumour threads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import DEFAULT_FILE, INCIDENT  # noqa: E402
from tracker.cli.app import main as cli  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "claimwatch.toml"
        config.write_text(
            f'[storage]\npath = "{folder / "c.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
            + "[[incidents]]" + INCIDENT
        )
        start = time.perf_counter()
        with contextlib.suppress(SystemExit):
            cli(["ingest", str(args.file), "--config", str(config), "--json"])
        print(f"ingest + narratives: {time.perf_counter() - start:.1f} s")
        db = sqlite3.connect(folder / "c.db")
        report(db)


def report(db: sqlite3.Connection) -> None:
    top = db.execute(
        "SELECT n.id, count(np.post_id), n.status, n.kind, n.actors, c.text FROM narratives n "
        "JOIN narrative_posts np ON np.narrative_id = n.id LEFT JOIN claims c "
        "ON c.id = n.label_claim_id WHERE n.merged_into IS NULL GROUP BY n.id "
        "ORDER BY count(np.post_id) DESC LIMIT 10"
    ).fetchall()
    live = db.execute("SELECT count(*) FROM narratives WHERE merged_into IS NULL").fetchone()[0]
    merged = db.execute("SELECT count(*) FROM narratives WHERE merged_into IS NOT NULL").fetchone()
    linked = db.execute("SELECT count(DISTINCT post_id) FROM post_incidents").fetchone()[0]
    posts = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    print(f"posts {posts}, linked {linked}; narratives {live} live, {merged[0]} merged away")
    print("\nten largest narratives:")
    print(f"{'id':>5} {'posts':>5}  {'status':<12} {'kind':<11} label")
    for nid, size, status, kind, actors, label in top:
        who = f" [{', '.join(json.loads(actors))}]" if json.loads(actors) else ""
        print(f"{nid:>5} {size:>5}  {status:<12} {kind:<11} {(label or '')[:90]}{who}")

    thread_of: dict[int, tuple[str, str]] = {}
    for rowid, extra in db.execute("SELECT id, extra FROM posts"):
        data = json.loads(extra)
        if "thread_id" in data:
            thread_of[rowid] = (str(data["thread_id"]), str(data.get("rumour_label")))
    by_thread: dict[str, Counter[int]] = defaultdict(Counter)
    labels_in: dict[int, set[str]] = defaultdict(set)
    threads_in: dict[int, set[str]] = defaultdict(set)
    for nid, post in db.execute(
        "SELECT np.narrative_id, np.post_id FROM narrative_posts np JOIN narratives n "
        "ON n.id = np.narrative_id WHERE n.merged_into IS NULL"
    ):
        if post in thread_of:
            thread, label = thread_of[post]
            by_thread[thread][nid] += 1
            labels_in[nid].add(label)
            threads_in[nid].add(thread)
    in_any = [t for t in by_thread if by_thread[t]]
    split = [t for t in in_any if len(by_thread[t]) > 1]
    main_share = sum(max(c.values()) / sum(c.values()) for c in by_thread.values()) / max(
        1, len(by_thread)
    )
    multi = [n for n in threads_in if len(threads_in[n]) > 1]
    mixed = [n for n in multi if {"rumour", "non-rumour"} <= labels_in[n]]
    print(f"\nthreads with posts in narratives: {len(in_any)}; split across more than one "
          f"narrative: {len(split)} ({len(split) / max(1, len(in_any)):.0%})")
    print(f"mean share of a thread's clustered posts in its main narrative: {main_share:.2f}")
    print(f"mean narratives per thread: "
          f"{sum(len(c) for c in by_thread.values()) / max(1, len(by_thread)):.1f}")
    print(f"narratives holding posts of several threads: {len(multi)}; of those mixing rumour "
          f"and non-rumour threads: {len(mixed)}")
    sizes = sorted((sum(1 for _ in threads_in[n]), n) for n in mixed)[-3:]
    for count, nid in reversed(sizes):
        print(f"  narrative {nid}: {count} threads")


if __name__ == "__main__":
    main()
