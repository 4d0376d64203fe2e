"""Peak memory per 100k claims: a claimwatch process holding N synthetic claims.

    .venv/bin/python bench/memory.py [--sizes 100000,200000] [--kind auto]

For each N, a fresh subprocess imports claimwatch and loads the model (its RSS then is the
baseline), stores N one-claim posts with 384-d vectors through the Store API (in batches
of 10k, as ingest does), opens the index the way the daemon does (``Runtime.index()``:
no saved file, so it is built from the database, of the configured kind) and answers a
few queries (``Runtime.query``). It reports its peak RSS (``VmHWM``) and its RSS at the
end (``VmRSS``), as growth over the baseline, per 100k claims; and, between two sizes,
the growth per 100k of the larger over the smaller (the marginal cost, free of fixed
costs). Figures go to stdout and to bench/out/memory-<time>.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
MIB = 1024 * 1024


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field (VmRSS, VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(n: int, folder: Path, kind: str) -> dict[str, Any]:
    """In the subprocess: baseline after loading the model, then store + index + queries."""
    import numpy as np

    from tracker.config.settings import load_settings
    from tracker.models import Claim, Post
    from tracker.runtime import Runtime, shared_embedder
    from tracker.store import NewPost

    config = folder / "claimwatch.toml"
    config.write_text(
        f'[storage]\npath = "{folder / "claimwatch.db"}"\n'
        f'[index]\ndir = "{folder / "indexes"}"\n' + (f'kind = "{kind}"\n' if kind else ""),
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    embedder = shared_embedder(settings.embedding)
    embedder.encode(["load the model and run it once"] * 8)
    baseline_rss, baseline_hwm = _status_kib("VmRSS"), _status_kib("VmHWM")

    rng = np.random.default_rng(n)
    start_time = datetime(2026, 11, 20, tzinfo=UTC)
    began = time.perf_counter()
    with Runtime(settings, embedder) as runtime:
        for s in range(0, n, 10_000):
            m = min(10_000, n - s)
            vectors = rng.standard_normal((m, embedder.dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            posts = []
            for i in range(s, s + m):
                text = f"synthetic claim {i} about incident {i % 97}: group {i % 13} is behind it"
                post = Post(source="bench", id=str(i), text=text, author=f"user{i % 5000}",
                            created_at=start_time + timedelta(seconds=i))
                posts.append(NewPost(post, f"p{i}", [Claim(text, text_hash=f"c{i}")]))
            runtime.store.add_posts(
                posts, embedder.name, {f"c{i}": vectors[i - s] for i in range(s, s + m)}
            )
        runtime.store.mark_processed(list(range(1, n + 1)))
        stored = time.perf_counter() - began
        index = runtime.index()
        index_kind = index.kind
        for text in ("group 3 is behind the blast", "how many died", "police confirmed"):
            runtime.query(text, k=10)
        rss, hwm = _status_kib("VmRSS"), _status_kib("VmHWM")
        held = len(index)
    return {
        "n": n, "kind": index_kind, "vectors": held, "store_s": stored,
        "baseline_rss_mib": baseline_rss / 1024, "baseline_hwm_mib": baseline_hwm / 1024,
        "rss_mib": rss / 1024, "hwm_mib": hwm / 1024,
        "db_mib": (folder / "claimwatch.db").stat().st_size / MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,200000")
    parser.add_argument("--kind", default="", help="override [index] kind (default: auto)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.folder, args.kind)))
        return

    results: list[dict[str, Any]] = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--folder", tmp,
                 "--kind", args.kind],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )
        if proc.returncode != 0:
            raise SystemExit(f"N={n} failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        base = r["baseline_rss_mib"]
        r["peak_growth_per_100k_mib"] = (r["hwm_mib"] - base) * 100_000 / n
        r["end_growth_per_100k_mib"] = (r["rss_mib"] - base) * 100_000 / n
        results.append(r)
        print(f"N={n:>9,} ({r['kind']:4s}): baseline (model loaded) {base:7.0f} MiB  "
              f"peak {r['hwm_mib']:7.0f} MiB  end {r['rss_mib']:7.0f} MiB  "
              f"database {r['db_mib']:6.0f} MiB  stored in {r['store_s']:.0f} s", flush=True)
        print(f"            growth per 100k claims: peak {r['peak_growth_per_100k_mib']:6.0f} "
              f"MiB  end {r['end_growth_per_100k_mib']:6.0f} MiB  "
              f"(vectors alone: {384 * 4 * 100_000 / MIB:.0f} MiB)")
    marginal = []
    for small, large in itertools.pairwise(results):
        per = 100_000 / (large["n"] - small["n"])
        step = {
            "from": small["n"], "to": large["n"],
            "peak_per_100k_mib": (large["hwm_mib"] - small["hwm_mib"]) * per,
            "end_per_100k_mib": (large["rss_mib"] - small["rss_mib"]) * per,
        }
        marginal.append(step)
        print(f"{small['n']:,} -> {large['n']:,}: peak +{step['peak_per_100k_mib']:.0f} MiB and "
              f"end +{step['end_per_100k_mib']:.0f} MiB per 100k claims")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"memory-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"runs": results, "marginal": marginal}, indent=2),
                   encoding="utf-8")
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
