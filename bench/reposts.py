"""Reposts through the pipeline against the model's speed, measured in the same run.

    .venv/bin/python bench/reposts.py [--cascades N] [--incident]

Expands the first N Twitter15 cascades (``../shared/data/twitter15_16/``) into posts:
each cascade's source tweet, then every retweet event as a repost of it (author the
retweeter, time the source's time plus the event's delay). The posts go through the whole
pipeline in one-file ingest (parse, dedupe, claims, embed, SQLite, FAISS, narratives).
Then the source texts are encoded with the bare embedder (the configured
backend). A repost carries no text
of its own, so it is never embedded: posts/s through the pipeline should far exceed the
model's sentences/s. Prints both and their ratio (the goal is at least 5).

With --incident the posts are linked to an incident covering the cascades' times whose
description is the first cascade's text, so reposts of a linked source join its
narratives and the alert rules run on them too.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config.settings import Settings, load_settings  # noqa: E402
from tracker.errors import PostError  # noqa: E402
from tracker.ingest.records import parse_post  # noqa: E402
from tracker.models import Post  # noqa: E402
from tracker.runtime import Runtime, shared_embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "twitter15_16" / "twitter15_cascades.jsonl.gz"


def cascade_posts(limit: int) -> tuple[list[Post], list[str]]:
    """Posts of the first ``limit`` cascades (sources and reposts), and the source texts."""
    posts: list[Post] = []
    texts: list[str] = []
    with gzip.open(DATA, "rt", encoding="utf-8") as stream:
        for number, line in enumerate(stream):
            if number >= limit:
                break
            c: dict[str, Any] = json.loads(line)
            start = datetime.fromisoformat(c["source_created_at"].replace("Z", "+00:00"))
            root = str(c["root_id"])
            texts.append(c["text"])
            posts.append(parse_post(
                {"id": root, "source": "x", "author": str(c["root_uid"]), "text": c["text"],
                 "created_at": start.astimezone(UTC).isoformat()},
                default_source="x", max_text_chars=20000,
            ))
            for i, (delay, child, _parent, tweet_id) in enumerate(c["events"]):
                if str(child) == str(c["root_uid"]) and float(delay) == 0:
                    continue  # the source itself
                at = start + timedelta(minutes=float(delay))
                posts.append(Post(
                    source="x", id=str(tweet_id) if tweet_id else f"{root}-rt{i}", text="",
                    created_at=at.astimezone(UTC), author=str(child), repost_of=root,
                ))
    return posts, texts


def settings_in(folder: Path, incident: str) -> Settings:
    config = folder / "claimwatch.toml"
    config.write_text(
        f'[storage]\npath = "{folder / "bench.db"}"\n[index]\ndir = "{folder / "ix"}"\n'
        + incident, encoding="utf-8",
    )
    return load_settings(config, environ={})


async def _feed(posts: list[Post]):  # type: ignore[no-untyped-def]
    for number, post in enumerate(posts, start=1):
        yield number, post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cascades", type=int, default=300)
    parser.add_argument("--incident", action="store_true")
    args = parser.parse_args()
    posts, texts = cascade_posts(args.cascades)
    reposts = sum(p.is_repost for p in posts)
    incident = ""
    if args.incident:
        first = min(p.created_at for p in posts)
        last = max(p.created_at for p in posts)
        hours = (last - first).total_seconds() / 3600 + 1
        incident = (
            f'[[incidents]]\nid = "cascades"\ntitle = "Twitter15 cascades"\n'
            f'description = {json.dumps(texts[0])}\nstarted_at = "{first.isoformat()}"\n'
            f"window_hours = {hours:.1f}\n"
        )
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_in(Path(tmp), incident)
        with Runtime(settings) as runtime:
            pipeline = runtime.pipeline()
            items: Any = _feed(posts)
            start = time.perf_counter()
            report = asyncio.run(pipeline.ingest(items, settings.ingest.batch_posts))
            runtime.worker.call(runtime.index().save)
            seconds = time.perf_counter() - start
    embedder = shared_embedder(Settings().embedding)
    embedder.encode(texts[:32])  # warm
    t = time.perf_counter()
    embedder.encode(texts)
    encode = time.perf_counter() - t
    posts_per_s = report.stored / seconds
    encode_per_s = len(texts) / encode
    print(f"{args.cascades} Twitter15 cascades: {report.stored} posts stored "
          f"({reposts} reposts), {report.claims} claims, {report.embedded} texts embedded, "
          f"linked {report.linked}, alerts {report.alerts}")
    print(f"pipeline: {seconds:.2f} s, {posts_per_s:,.0f} posts/s")
    print(f"raw encode of the {len(texts)} source texts: {encode_per_s:,.1f} sentences/s")
    print(f"ratio posts/s over encode sentences/s: {posts_per_s / encode_per_s:.1f} (goal >= 5)")


if __name__ == "__main__":
    try:
        main()
    except PostError as exc:
        raise SystemExit(f"bad cascade record: {exc}") from None
