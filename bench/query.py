"""Query latency and recall of the index kinds, alone and through the daemon.

    .venv/bin/python bench/query.py [--sizes 100000,1000000] [--daemon-sizes 100000]
                                    [--queries 200] [--kinds flat,ivf,hnsw]
                                    [--incident-size 4000] [--keep /tmp/claimwatch-bench]

1. The index alone (``tracker.index.claim_index.ClaimIndex``), for each size and kind: build time
   (flat: adds in chunks of 20k; ivf: k-means training plus adds; hnsw: graph adds), p50
   and p95 latency of one query at a time (k=10, on this thread, FAISS's default thread
   count), recall@10 against the flat index, and each kind's p50 over flat's p50 measured
   in the same run. ivf is swept over nprobe and hnsw over efSearch; the smallest nprobe
   reaching recall@10 >= 0.95 is named. Flat is also timed with one FAISS thread.
2. Through the daemon: a claimwatch database of N synthetic claims (posts, claims and
   embeddings inserted in bulk with SQL, every post marked processed) and an index of the
   configured kind (``[index]`` defaults: auto), then ``claimwatch run`` in a subprocess on
   a free port, and ~200 ``GET /v1/query?q=...&k=10`` with real germanwings texts, one at
   a time: p50/p95, against the model's own time to encode one query plus the index's p50
   (both measured here, in this run). With ``--keep DIR`` the databases and indexes are
   built in ``DIR/daemon<N>`` and reused by later runs with the same size and corpus (a
   million claims take minutes to build); by default they go to a temporary folder.

Vectors: 384-d, L2-normalized, drawn so that their neighbourhoods look like real MiniLM
claim vectors rather than uniform noise (on which every ANN index looks bad, or, with
well-separated clusters, perfect): a common direction (random pairs have cosine ~0.2),
cluster centres from a Gaussian whose spectrum falls as 1/i, ten members per centre. On
4,463 germanwings texts versus as many synthetic vectors, the mean cosine of the 1st/5th/
10th neighbour was 0.74/0.65/0.61 real and 0.81/0.74/0.63 synthetic, and IVF114 recall@10
at nprobe 1/2/4 was 0.53/0.69/0.81 real and 0.59/0.70/0.79 synthetic. Queries are noisy
copies of stored vectors (cosine ~0.97 to their source), so recall@10 is meaningful.
By default the whole corpus is one such event, the hardest case for IVF; with
``--incident-size 4000`` it is many germanwings-sized incidents, each with its own common
direction, as a database that has tracked many incidents is.

Figures go to stdout and to bench/out/query-<time>.json. Every time depends on what else
the machine runs: compare the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

import tracker.index.claim_index as index_module  # noqa: E402
from tracker.config.settings import IndexSettings, Settings  # noqa: E402
from tracker.index.claim_index import ClaimIndex, nlist_for  # noqa: E402
from tracker.store import Store  # noqa: E402

DIM = 384
MODEL = "all-MiniLM-L6-v2"
GERMANWINGS = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"
OUT = ROOT / "bench" / "out"
NPROBES = (16, 32, 64, 128, 256, 512, 1024)
EF_SEARCHES = (64, 128)


# -- synthetic vectors --------------------------------------------------------------------


class Synthetic:
    """Draws claim-like (n, 384) float32 L2-normalized vectors, deterministically."""

    def __init__(self, seed: int = 0, members: int = 10, spread: float = 0.7,
                 common: float = 0.6, incident_size: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.basis = np.linalg.qr(self.rng.normal(size=(DIM, DIM)))[0].astype(np.float32)
        scale = np.arange(1, DIM + 1, dtype=np.float32) ** -0.5  # variance ~ 1/i
        self.scale = scale / np.sqrt((scale**2).sum())
        self.mean = _unit(self.rng.normal(size=(1, DIM)))[0]
        self.members, self.spread, self.common = members, spread, common
        self.incident_size = incident_size

    def _gauss(self, n: int) -> np.ndarray:
        return (self.rng.standard_normal((n, DIM), dtype=np.float32) * self.scale) @ self.basis

    def vectors(self, n: int, chunk: int = 100_000) -> np.ndarray:
        """One event (``incident_size`` 0): all n share one common direction. Otherwise
        n // incident_size incidents, each with its own common direction and centres."""
        size = self.incident_size or n
        out = np.empty((n, DIM), np.float32)
        for first in range(0, n, size):
            count = min(size, n - first)
            mean = self.mean if size == n else _unit(self.rng.normal(size=(1, DIM)))[0]
            centres = self._gauss(max(1, count // self.members))
            for start in range(first, first + count, chunk):
                m = min(chunk, first + count - start)
                part = centres[self.rng.integers(0, len(centres), m)]
                part += self.spread * self._gauss(m) + self.common * mean
                out[start : start + m] = _unit(part)
        return out

    def queries(self, stored: np.ndarray, q: int, noise: float = 0.25) -> np.ndarray:
        """(q, 384) noisy copies of randomly chosen stored vectors."""
        picks = self.rng.integers(0, len(stored), q)
        return _unit(stored[picks] + noise * self._gauss(q))


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


# -- the index alone ----------------------------------------------------------------------


def _latencies(index: ClaimIndex, queries: np.ndarray, k: int = 10) -> list[float]:
    """Seconds per search, one query at a time."""
    index.search(queries[:5], k)  # warm
    out = []
    for i in range(len(queries)):
        start = time.perf_counter()
        index.search(queries[i : i + 1], k)
        out.append(time.perf_counter() - start)
    return out


def _all_threads(fn: Callable[..., list[float]], *args: Any) -> list[float]:
    """``fn(*args)`` with single queries on every FAISS thread, as FAISS would by default
    (ClaimIndex runs them on one)."""
    saved = index_module.ONE_THREAD_BELOW
    index_module.ONE_THREAD_BELOW = 0
    try:
        return fn(*args)
    finally:
        index_module.ONE_THREAD_BELOW = saved


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in pairs]))


def _row(
    name: str, lat: list[float], recall: float, flat_p50: float, **extra: Any
) -> dict[str, Any]:
    p50, p95 = _p(lat, 50), _p(lat, 95)
    row = {"index": name, "p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "recall_at_10": recall,
           "p50_over_flat": p50 / flat_p50 if flat_p50 else None, **extra}
    build = f"{extra['build_s']:7.1f} s" if "build_s" in extra else " " * 9
    print(f"  {name:28s} build {build}  p50 {p50 * 1e3:8.3f} ms  p95 {p95 * 1e3:8.3f} ms  "
          f"recall@10 {recall:.3f}  p50/flat {row['p50_over_flat']:.4f}", flush=True)
    return row


def index_alone(
    n: int, q: int, kinds: list[str], folder: Path, incident_size: int
) -> dict[str, Any]:
    """Build each kind over the same n vectors; latency and recall against flat."""
    synth = Synthetic(seed=n, incident_size=incident_size)
    start = time.perf_counter()
    vectors = synth.vectors(n)
    queries = synth.queries(vectors, q)
    ids = np.arange(1, n + 1, dtype=np.int64)
    corpus = f"incidents of {incident_size:,}" if incident_size else "one event"
    print(f"\n== index alone: {n:,} vectors ({corpus}), {q} queries (made in "
          f"{time.perf_counter() - start:.1f} s), FAISS threads {faiss.omp_get_max_threads()}")
    rows: list[dict[str, Any]] = []

    flat = ClaimIndex(folder / "flat", MODEL, DIM, IndexSettings(kind="flat"))
    start = time.perf_counter()
    for s in range(0, n, 20_000):
        flat.add(ids[s : s + 20_000], vectors[s : s + 20_000], replace=False)
    flat_build = time.perf_counter() - start
    _, truth = flat.search(queries, 10)
    lat = _latencies(flat, queries)
    flat_p50 = _p(lat, 50)
    rows.append(_row("flat", lat, 1.0, flat_p50, build_s=flat_build,
                     adds_per_s=n / flat_build))
    rows.append(_row(f"flat, {faiss.omp_get_max_threads()} FAISS threads",
                     _all_threads(_latencies, flat, queries), 1.0, flat_p50))
    del flat
    gc.collect()

    if "ivf" in kinds:
        ivf = ClaimIndex(folder / "ivf", MODEL, DIM, IndexSettings(kind="ivf"))
        start = time.perf_counter()
        ivf.fill(ids, vectors)
        build = time.perf_counter() - start
        nlist = nlist_for(n)
        first = None
        for nprobe in NPROBES:
            ivf.tune(nprobe=nprobe)
            recall = _recall(ivf.search(queries, 10)[1], truth)
            row = _row(f"ivf{nlist} nprobe {nprobe}", _latencies(ivf, queries), recall,
                       flat_p50, build_s=build, nlist=nlist, nprobe=nprobe)
            rows.append(row)
            if first is None and recall >= 0.95:
                first = row
            if recall >= 0.98 and nprobe >= IndexSettings().nprobe:
                break
        if first is not None:
            print(f"  -> smallest nprobe with recall@10 >= 0.95: {first['nprobe']} "
                  f"(p50 {first['p50_over_flat']:.4f} of flat's)")
        del ivf
        gc.collect()

    if "hnsw" in kinds:
        hnsw = ClaimIndex(folder / "hnsw", MODEL, DIM, IndexSettings(kind="hnsw"))
        start = time.perf_counter()
        hnsw.fill(ids, vectors)
        build = time.perf_counter() - start
        for ef in EF_SEARCHES:
            hnsw.tune(ef_search=ef)
            recall = _recall(hnsw.search(queries, 10)[1], truth)
            rows.append(_row(f"hnsw32 efSearch {ef}", _latencies(hnsw, queries), recall,
                             flat_p50, build_s=build, adds_per_s=n / build, ef_search=ef))
        del hnsw
        gc.collect()
    return {"n": n, "queries": q, "corpus": corpus, "rows": rows}


# -- through the daemon -------------------------------------------------------------------


def build_database(
    folder: Path, n: int, index_settings: IndexSettings, incident_size: int
) -> tuple[Path, str]:
    """A claimwatch database of n one-claim posts with synthetic vectors for the default
    model, every post processed, and its index saved; the database path and index kind."""
    db = folder / "claimwatch.db"
    Store(db).close()  # the schema, by the store's own migrations
    synth = Synthetic(seed=n + 1, incident_size=incident_size)
    vectors = synth.vectors(n)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now = time.time()
    base = 1_700_000_000.0
    with conn:
        for s in range(0, n, 50_000):
            rng = range(s + 1, min(n, s + 50_000) + 1)
            conn.executemany(
                "INSERT INTO posts (id, source, ext_id, author, tier, text, text_hash, "
                "created_at, metrics, extra, ingested_at, processed) "
                "VALUES (?, 'bench', ?, ?, 'unverified', ?, ?, ?, '{}', '{}', ?, 1)",
                ((i, str(i), f"user{i % 5000}", f"synthetic claim {i} about incident "
                  f"{i % 97}", f"p{i}", base + i, now) for i in rng),
            )
            conn.executemany(
                "INSERT INTO claims (id, post_id, position, text, text_hash) "
                "VALUES (?, ?, 0, ?, ?)",
                ((i, i, f"synthetic claim {i} about incident {i % 97}", f"c{i}") for i in rng),
            )
            conn.executemany(
                "INSERT INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)",
                ((MODEL, f"c{i}", vectors[i - 1].tobytes()) for i in rng),
            )
    conn.close()
    index = ClaimIndex(folder / "indexes", MODEL, DIM, index_settings)
    index.fill(np.arange(1, n + 1, dtype=np.int64), vectors)
    index.save()
    return db, index.kind


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


READ_TOKEN = "bench-read-token"
"""The daemon's reads need a token: the one given to it as CLAIMWATCH_READ_TOKEN."""


def _get(url: str, timeout: float = 120.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {READ_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def query_texts(count: int) -> list[str]:
    texts: list[str] = []
    for line in GERMANWINGS.read_text(encoding="utf-8").splitlines():
        text = " ".join(json.loads(line)["text"].split())
        if len(text) > 30 and text not in texts:
            texts.append(text)
        if len(texts) == count:
            break
    return texts


def encode_p50(texts: list[str]) -> float:
    """Seconds to encode one query text with the default model in this process (p50)."""
    from tracker.runtime import shared_embedder

    embedder = shared_embedder(Settings().embedding)
    embedder.encode(texts[:8])
    times = []
    for text in texts[:100]:
        start = time.perf_counter()
        embedder.encode([text])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def kept_database(
    folder: Path, n: int, index_settings: IndexSettings, incident_size: int
) -> tuple[Path, str]:
    """:func:`build_database` in ``folder``, unless a finished build of the same size,
    corpus and index setting is there already (``built.json`` is written last)."""
    marker = folder / "built.json"
    wanted = {"n": n, "incident_size": incident_size, "index": index_settings.model_dump()}
    if marker.exists():
        built = json.loads(marker.read_text(encoding="utf-8"))
        if {k: built.get(k) for k in wanted} == wanted:
            print(f"  reusing the database in {folder}", flush=True)
            return folder / "claimwatch.db", str(built["kind"])
    for name in ("claimwatch.db", "claimwatch.db-wal", "claimwatch.db-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "indexes", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    db, kind = build_database(folder, n, index_settings, incident_size)
    marker.write_text(json.dumps({**wanted, "kind": kind}), encoding="utf-8")
    return db, kind


def through_daemon(n: int, texts: list[str], folder: Path, index_p50: dict[str, float],
                   encode_s: float, incident_size: int) -> dict[str, Any]:
    """``GET /v1/query`` latency against a daemon serving a database of n claims."""
    settings = IndexSettings()
    print(f"\n== daemon: {n:,} claims, [index] kind = {settings.kind!r} "
          f"(ivf_from {settings.ivf_from:,}), {len(texts)} queries", flush=True)
    start = time.perf_counter()
    db, kind = kept_database(folder, n, settings, incident_size)
    print(f"  database and {kind} index ready in {time.perf_counter() - start:.1f} s", flush=True)
    config = folder / "claimwatch.toml"
    config.write_text(f'[storage]\npath = "{db}"\n[index]\ndir = "{folder / "indexes"}"\n',
                      encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "run", "--config", str(config), "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "CLAIMWATCH_READ_TOKEN": READ_TOKEN},
    )
    try:
        start = time.perf_counter()
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited: {(folder / 'daemon.log').read_text()}")
            with contextlib.suppress(OSError):
                if _get(f"{base}/healthz", timeout=5)[0] == 200:
                    break
            time.sleep(0.2)
        url = f"{base}/v1/query?"
        for text in texts[:5]:  # warm: the model loads, the index opens
            status, body = _get(url + urllib.parse.urlencode({"q": text, "k": 10}), 600)
            if status != 200:
                raise SystemExit(f"GET /v1/query: {status} {body[:300]!r}")
        ready = time.perf_counter() - start
        times = []
        for text in texts:
            start = time.perf_counter()
            status, body = _get(url + urllib.parse.urlencode({"q": text, "k": 10}))
            times.append(time.perf_counter() - start)
            assert status == 200 and json.loads(body), body[:200]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    p50, p95 = _p(times, 50), _p(times, 95)
    baseline = encode_s + index_p50.get(kind, 0.0)
    row = {"n": n, "kind": kind, "queries": len(times), "p50_ms": p50 * 1e3,
           "p95_ms": p95 * 1e3, "ready_s": ready, "encode_p50_ms": encode_s * 1e3,
           "index_p50_ms": index_p50.get(kind, 0.0) * 1e3,
           "p50_over_encode_plus_index": p50 / baseline}
    print(f"  GET /v1/query ({kind}): p50 {p50 * 1e3:.1f} ms  p95 {p95 * 1e3:.1f} ms  "
          f"(started and warm in {ready:.1f} s)\n"
          f"  baseline, same run: encode one query {encode_s * 1e3:.1f} ms + {kind} index "
          f"p50 {index_p50.get(kind, 0.0) * 1e3:.2f} ms;  p50 over baseline "
          f"{row['p50_over_encode_plus_index']:.2f}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated index sizes for the index-alone part")
    parser.add_argument("--daemon-sizes", default="100000",
                        help="comma-separated database sizes for the daemon part ('' skips)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="flat,ivf,hnsw",
                        help="kinds besides flat, which is always the baseline")
    parser.add_argument("--incident-size", type=int, default=0,
                        help="vectors per incident, each with its own common direction "
                        "(default 0: the whole corpus is one event, the hardest case)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="build the daemon part's databases in DIR and reuse them in "
                        "later runs (default: a temporary folder, removed)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    daemon_sizes = [int(s) for s in args.daemon_sizes.split(",") if s]
    kinds = args.kinds.split(",")
    report: dict[str, Any] = {"sizes": [], "daemon": [], "cpus": os.cpu_count(),
                              "load_avg_at_start": os.getloadavg()}
    index_p50: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            part = index_alone(n, args.queries, kinds, Path(tmp) / f"alone{n}",
                               args.incident_size)
            report["sizes"].append(part)
            settings = IndexSettings()
            p50s = index_p50.setdefault(n, {})
            for row in part["rows"]:
                if row["index"] == "flat":
                    p50s["flat"] = row["p50_ms"] / 1e3
                elif row.get("nprobe") == settings.nprobe:
                    p50s["ivf"] = row["p50_ms"] / 1e3
                elif row.get("ef_search") == settings.ef_search:
                    p50s["hnsw"] = row["p50_ms"] / 1e3
        if daemon_sizes:
            texts = query_texts(args.queries + 5)
            encode_s = encode_p50(texts)
            for n in daemon_sizes:
                folder = (args.keep or Path(tmp)) / f"daemon{n}"
                folder.mkdir(parents=True, exist_ok=True)
                report["daemon"].append(
                    through_daemon(n, texts, folder, index_p50.get(n, {}), encode_s,
                                   args.incident_size)
                )
    report["load_avg_at_end"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"query-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
