"""Ingest throughput against the model's own speed, measured in the same run.

    .venv/bin/python bench/ingest.py [FILE] [--repeat N]

Ingests FILE (default: the germanwings PHEME thread file) into a fresh database through
the whole pipeline (parse, normalize, dedupe, claims, embed, SQLite, FAISS), then encodes
the very sentences that became claims with the bare embedder (the configured
backend). With --incident the
posts are ingested under the germanwings incident, so linking, clustering into narratives
and consolidation are inside the timed run too. Prints posts/s,
claims/s, raw encode sentences/s and the ratio claims/s over encode/s. The model is the
limit: the goal is a ratio of at least 0.9. With --repeat N both are measured N times,
interleaved, and the medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import Settings, load_settings  # noqa: E402
from tracker.ingest.files import PostFile  # noqa: E402
from tracker.runtime import Runtime, shared_embedder  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"


# The germanwings incident, as `make run` uses it: one definition for benches and tests.
INCIDENT = (ROOT / "examples" / "germanwings.toml").read_text(encoding="utf-8").split(
    "[[incidents]]", 1
)[1]


def _settings(folder: Path, incident: bool) -> Settings:
    config = folder / "claimwatch.toml"
    config.write_text(
        f'[storage]\npath = "{folder / "bench.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
        + ("[[incidents]]" + INCIDENT if incident else "")
    )
    return load_settings(config, environ={})


def ingest_once(file: Path, incident: bool) -> tuple[float, int, int, list[str]]:
    """Seconds, posts stored, claims stored, and the claim sentences (in store order)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), incident)
        with Runtime(settings) as runtime:
            pipeline = runtime.pipeline()
            post_file = PostFile(str(file))
            items = post_file.aposts(default_source="bench", max_text_chars=20000)
            start = time.perf_counter()
            report = asyncio.run(pipeline.ingest(items, settings.ingest.batch_posts))
            runtime.worker.call(runtime.index().save)
            seconds = time.perf_counter() - start
            post_file.close()
            ids = runtime.store.claim_ids().tolist()
            rows = runtime.store.claims(ids)
            sentences = [rows[i].text for i in ids]
    return seconds, report.stored, report.claims, sentences


def encode_once(sentences: list[str]) -> float:
    embedder = shared_embedder(Settings().embedding)
    start = time.perf_counter()
    embedder.encode(sentences)  # the configured backend, as the pipeline uses it
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--incident", action="store_true",
        help="ingest under the germanwings incident: linking, narratives and consolidation "
        "are timed too",
    )
    args = parser.parse_args()

    embedder = shared_embedder(Settings().embedding)
    embedder.encode(["warm up the model once"] * 64)

    ingest_s: list[float] = []
    encode_s: list[float] = []
    posts = claims = 0
    for _ in range(args.repeat):
        seconds, posts, claims, sentences = ingest_once(args.file, args.incident)
        ingest_s.append(seconds)
        encode_s.append(encode_once(sentences))
    t_ingest = statistics.median(ingest_s)
    t_encode = statistics.median(encode_s)
    claims_per_s = claims / t_ingest
    encode_per_s = claims / t_encode
    print(f"file: {args.file.name}  posts: {posts}  claims: {claims}  runs: {args.repeat}  "
          f"incident: {'germanwings' if args.incident else 'none'}")
    print(f"ingest:     {t_ingest:7.2f} s  {posts / t_ingest:8.1f} posts/s  "
          f"{claims_per_s:8.1f} claims/s")
    print(f"raw encode: {t_encode:7.2f} s  {encode_per_s:8.1f} sentences/s "
          "(bare embedder, same sentences)")
    print(f"ratio claims/s over encode sentences/s: {claims_per_s / encode_per_s:.2f} "
          "(goal >= 0.9)")


if __name__ == "__main__":
    main()
