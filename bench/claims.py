"""Claim reading speed with the literal prefilter against every pattern run, same run.

    .venv/bin/python bench/claims.py [FILE] [--repeat N]

Reads every post of FILE (default: the germanwings PHEME thread file) with the claim
reader as claimwatch builds it (default lexicon and actors, ``min_claim_words``), once
with its prefilter (one scan for the strings each pattern needs; only the patterns whose
strings are there run) and once with ``prefilter=False`` (every pattern on every
sentence), interleaved N times (default 5). Prints sentences/s of each (CPU time of this
thread, the best run: the machine is shared) and their ratio, and checks that both read
every post the same (claims, kinds, actors, hedges, values...): it exits 1 when they
differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.claims.extract import ClaimAnalyzer, clean_sentence, split_sentences  # noqa: E402
from tracker.claims.lexicon import actors_from, lexicon_from  # noqa: E402
from tracker.config.settings import Settings  # noqa: E402
from tracker.errors import PostError  # noqa: E402
from tracker.ingest.files import PostFile  # noqa: E402
from tracker.models import Claim  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pheme" / "fullthreads" / "germanwings-crash.jsonl"


def _texts(path: Path) -> list[str]:
    post_file = PostFile(str(path))
    try:
        return [
            p.text for _, p in post_file.posts(default_source="bench", max_text_chars=20000)
            if not isinstance(p, PostError)
        ]
    finally:
        post_file.close()


def _read_all(analyzer: ClaimAnalyzer, texts: list[str]) -> tuple[float, list[list[Claim]]]:
    start = time.thread_time()
    out = [analyzer.extract(t) for t in texts]
    return time.thread_time() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    settings = Settings()
    lexicon, actors = lexicon_from(settings), actors_from(settings)
    words = settings.ingest.min_claim_words
    fast = ClaimAnalyzer(lexicon, actors, words)
    slow = ClaimAnalyzer(lexicon, actors, words, prefilter=False)
    texts = _texts(args.file)
    sentences = sum(
        1 for t in texts for s in split_sentences(t) if clean_sentence(s)
    )
    fast_s: list[float] = []
    slow_s: list[float] = []
    same = True
    for _ in range(max(1, args.repeat)):
        seconds, slow_claims = _read_all(slow, texts)
        slow_s.append(seconds)
        seconds, fast_claims = _read_all(fast, texts)
        fast_s.append(seconds)
        same = same and fast_claims == slow_claims
    claims = sum(len(c) for c in fast_claims)
    best_fast, best_slow = min(fast_s), min(slow_s)
    print(f"file: {args.file.name}  posts: {len(texts)}  sentences: {sentences}  "
          f"claims kept: {claims}  runs: {len(fast_s)} (CPU time of the reading thread, best)")
    print(f"every pattern:  {best_slow:6.3f} s  {sentences / best_slow:9.0f} sentences/s")
    print(f"prefilter:      {best_fast:6.3f} s  {sentences / best_fast:9.0f} sentences/s")
    print(f"ratio prefilter over every pattern: {best_slow / best_fast:.2f}x  "
          f"readings {'identical' if same else 'DIFFER'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
