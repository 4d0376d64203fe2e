"""When to try again: exponential backoff with jitter, and when to give up.

:func:`backoff` is the one implementation of the doubling delay; the outbox's
:class:`RetryPolicy` uses it for deliveries, and it fits anything retried after failures
in a row (a source's polls: ``backoff(failures, interval, max(cap, interval))``).
Seconds throughout; pure functions of what they are given (the randomness is an ``rng``
the caller may seed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy", "backoff"]

_MAX_DOUBLINGS = 1000  # 2.0 ** 1000 is still a float; the cap decides long before


def backoff(
    failures: int, base: float, cap: float, *, jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 for the first):
    ``base`` doubled for each failure after the first, at most ``cap``; with ``jitter``
    (a fraction, 0.25 = ±25 %) spread uniformly around that with ``rng`` (default the
    ``random`` module). Never negative; deterministic when ``jitter`` is 0."""
    delay = min(cap, base * 2.0 ** min(max(0, failures - 1), _MAX_DOUBLINGS))
    if jitter:
        draw = rng.random() if rng is not None else random.random()
        delay *= 1 + jitter * (2 * draw - 1)
    return float(max(0.0, delay))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry a delivery and when to give up. Seconds; ``jitter`` a fraction."""

    max_attempts: int = 10
    max_age: float = 86400.0
    backoff: float = 2.0
    max_backoff: float = 600.0
    jitter: float = 0.25

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure (1 for the first)."""
        return backoff(attempts, self.backoff, self.max_backoff, jitter=self.jitter, rng=rng)

    def gives_up(self, attempts: int, age: float) -> str | None:
        """Why a delivery that has failed ``attempts`` times, ``age`` seconds after its
        alert was recorded, is given up (words for its last error), or None while it may
        be retried."""
        if age >= self.max_age:
            return f"gave up: undelivered after {self.max_age / 60:.0f} minutes"
        if attempts >= self.max_attempts:
            return f"gave up after {attempts} attempts"
        return None
