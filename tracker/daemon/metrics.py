"""The daemon's Prometheus metrics, in a registry of its own (never the process-global one,
so two daemons in one test process, or a library user's own metrics, do not collide).

Counters count since the daemon started; ``GET /metrics`` renders them as Prometheus text.
Latencies are seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tracker.embedding.base import Embedder

__all__ = ["CONTENT_TYPE", "Metrics", "TimedEmbedder"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The Content-Type of the Prometheus text format."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric the daemon exports. ``queue_depth`` is read at scrape time from the
    callable given to :meth:`watch_queue`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.posts = Counter(
            "claimwatch_posts", "Posts stored, by source and tier.", ["source", "tier"],
            registry=r,
        )
        self.duplicates = Counter(
            "claimwatch_posts_duplicate", "Posts received that were already stored, by source.",
            ["source"], registry=r,
        )
        self.rejected = Counter(
            "claimwatch_posts_rejected", "Pushed items rejected as malformed.", registry=r
        )
        self.claims = Counter("claimwatch_claims", "Claims stored.", registry=r)
        self.narratives = Counter("claimwatch_narratives", "Narratives started.", registry=r)
        self.alerts = Counter(
            "claimwatch_alerts", "Alert events recorded, by event.", ["event"], registry=r
        )
        self.deliveries = Counter(
            "claimwatch_deliveries", "Delivery attempts, by channel and outcome "
            "(sent, retrying, dead).", ["channel", "outcome"], registry=r,
        )
        self.source_polls = Counter(
            "claimwatch_source_polls", "Source polls that succeeded, by source.", ["source"],
            registry=r,
        )
        self.source_errors = Counter(
            "claimwatch_source_errors", "Source polls that failed, by source.", ["source"],
            registry=r,
        )
        self.requests = Counter(
            "claimwatch_api_requests", "HTTP API requests, by route and status.",
            ["route", "status"], registry=r,
        )
        self.embed_seconds = Histogram(
            "claimwatch_embed_batch_seconds", "Seconds to embed one batch of texts.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.batch_seconds = Histogram(
            "claimwatch_batch_seconds", "Seconds to process one batch of posts, from the "
            "start of processing to the commit.", buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.queue_depth = Gauge(
            "claimwatch_queue_depth", "Batches waiting to be processed.", registry=r
        )
        self.loop_stall = Gauge(
            "claimwatch_loop_stall_max_seconds", "The event loop's worst delay in waking a "
            "task since start, in seconds: the longest any request or job waited for the loop.",
            registry=r,
        )

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Read the queue depth from ``depth`` at each scrape."""
        self.queue_depth.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (UTF-8)."""
        return generate_latest(self.registry)


class TimedEmbedder:
    """An :class:`~tracker.embedding.base.Embedder` that records each ``encode`` call's duration
    (seconds) in ``histogram``; everything else is the wrapped embedder's."""

    def __init__(self, inner: Embedder, histogram: Histogram) -> None:
        self.inner = inner
        self.histogram = histogram

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized, as the wrapped embedder gives them."""
        start = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            if texts:
                self.histogram.observe(time.perf_counter() - start)
