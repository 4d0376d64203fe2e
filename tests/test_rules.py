"""The mechanics under alerts, with explicit event times: windows, rule lifecycle, outbox."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from alerts.outbox import Drainer
from alerts.retry import RetryPolicy
from tracker.config.settings import RuleSettings
from tracker.errors import DeliveryError
from tracker.models import Alert, AlertEvent, ClaimKind, Sample, Status
from tracker.rules.monitor import Rule, decide, measure, spread_reason
from tracker.rules.rates import narrative_rate
from tracker.store import Store
from tracker.store.outbox import DeliveryState

T0 = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rule(**changes: object) -> Rule:
    base = {"name": "r", "window_minutes": 10.0, "cooldown_minutes": 20.0,
            "resolve_after_minutes": 30.0}
    return Rule.from_settings(RuleSettings.model_validate({**base, **changes}))


def test_window_counts_posts_after_its_start_up_to_its_end_each_author_once() -> None:
    samples = [
        Sample(at(0), "a", 100), Sample(at(1), "a", 150), Sample(at(5), "b", 10, verified=True),
        Sample(at(10), None), Sample(at(10), None), Sample(at(10.01), "c", 5),
    ]
    rate = narrative_rate(samples, at(10), 10)
    assert rate.posts == 4  # minute 0 is the window's open start; 10.01 is after its end
    assert rate.authors == 3  # a, b, and the authorless posts counted once together
    assert rate.reach == 160  # a's largest follower count (150) once, plus b's 10
    assert rate.per_minute == pytest.approx(0.4)
    assert rate.verified_share == pytest.approx(0.25)


def test_verified_floor_severity_bands_and_verified_share() -> None:
    r = rule(severity={"low": 3.0, "high": 10.0})
    six = [Sample(at(i), f"u{i}") for i in range(1, 7)]
    m = measure(r, narrative_rate(six, at(6), 10), verified_posts=0)
    assert m.verified_rate == 0 and m.ratio == pytest.approx(3.0) and m.holds
    assert r.severity(m.ratio) == "low" and r.severity(12) == "high" and r.severity(1) == "low"
    busy_newsrooms = measure(r, narrative_rate(six, at(6), 10), verified_posts=5)
    assert busy_newsrooms.ratio == pytest.approx(1.2) and not busy_newsrooms.holds
    relayed = [Sample(at(i), f"u{i}", verified=i <= 3) for i in range(1, 7)]
    assert not measure(r, narrative_rate(relayed, at(6), 10), 0).holds  # half is reporting
    two_authors = [Sample(at(i), f"u{i % 2}") for i in range(1, 7)]
    assert not measure(r, narrative_rate(two_authors, at(6), 10), 0).holds


def test_lifecycle_raise_quiet_escalate_cool_and_raise_again() -> None:
    r = rule()
    ids = iter(f"id{i}" for i in range(10))

    def step(state, minute: float, posts: int, watched: bool = True):  # type: ignore[no-untyped-def]
        samples = [Sample(at(minute), f"u{i}") for i in range(posts)]
        m = measure(r, narrative_rate(samples, at(minute), 10), 0)
        return decide(r, state, m, watched, at(minute), lambda: next(ids))

    state, event = step(None, 0, 4)
    assert event is None and state is None  # below min_posts
    state, event = step(state, 1, 6)
    assert event is AlertEvent.RAISED and state.open_alert == "id0"
    state, event = step(state, 5, 30)  # 3/min, five times the raise, inside the cooldown
    assert event is None
    state, event = step(state, 21, 11)  # cooldown over, but 1.1/min < 2 x 0.6
    assert event is None
    state, event = step(state, 22, 12)  # 1.2/min = 2 x the rate at the last alert
    assert event is AlertEvent.ESCALATED and state.open_alert == "id0"
    state, event = step(state, 30, 0)
    assert event is None and state.below_since == at(30)
    state, event = step(state, 59, 0)
    assert event is None
    state, event = step(state, 60, 0)  # 30 minutes below the rule
    assert event is AlertEvent.RESOLVED and state.open_alert is None
    state, event = step(state, 70, 20)  # holds again, inside the cooldown after resolving
    assert event is None
    state, event = step(state, 80, 20)
    assert event is AlertEvent.RAISED and state.open_alert == "id1"
    state, event = step(state, 81, 20, watched=False)  # a finding decided the narrative
    assert event is AlertEvent.RESOLVED


def test_kinds_and_statuses_a_rule_watches() -> None:
    r = rule(kinds=("attribution",))
    assert r.watches(ClaimKind.ATTRIBUTION, Status.SPECULATIVE)
    assert not r.watches(ClaimKind.CASUALTY, Status.SPECULATIVE)
    assert not r.watches(ClaimKind.ATTRIBUTION, Status.CONFIRMED)


def _alert(alert_id: str) -> Alert:
    return Alert(
        alert_id=alert_id, event=AlertEvent.RAISED, rule="r", incident_id="i",
        incident_title="I", narrative_id=1, label="TTP is behind it",
        kind=ClaimKind.ATTRIBUTION, actors=("TTP",), status=Status.SPECULATIVE,
        severity="low", at=T0, spread_rate=0.6, verified_rate=0.0, ratio=3.0, posts=6,
        authors=6, reach=600, window_minutes=10.0, first_seen=T0, minutes_since_incident=20.0,
    )


def test_an_alert_and_its_deliveries_commit_together_or_not_at_all(store_target: str) -> None:
    store = Store(store_target)
    with pytest.raises(RuntimeError), store.transaction():
        store.outbox.enqueue(_alert("a1"), ["desk", "mail"])
        raise RuntimeError("crash before commit")
    assert store.outbox.alerts() == []
    with store.transaction():
        store.outbox.enqueue(_alert("a2"), ["desk", "mail"])
    [(alert, deliveries)] = store.outbox.alerts()
    assert alert == _alert("a2")
    assert [(d.channel, d.state) for d in deliveries] == [
        ("desk", DeliveryState.PENDING), ("mail", DeliveryState.PENDING)
    ]
    store.close()
    reopened = Store(store_target)  # a restart finds them pending
    assert reopened.outbox.counts()["pending"] == 2
    reopened.close()


class Flaky:
    """A channel failing ``failures`` times (permanently when asked), then accepting."""

    def __init__(self, name: str, failures: int, permanent: bool = False) -> None:
        self.name, self.failures, self.permanent = name, failures, permanent
        self.keys: list[str] = []

    async def send(self, alert: Alert, key: str) -> str:
        self.keys.append(key)
        if len(self.keys) <= self.failures:
            raise DeliveryError(f"{self.name}: HTTP 503", permanent=self.permanent)
        return "HTTP 200"


async def test_retries_back_off_then_give_up_and_refusals_are_dead_at_once(
    store_target: str,
) -> None:
    store = Store(store_target)
    outbox = store.outbox
    outbox.enqueue(_alert("a1"), ["ok", "flaky", "down", "refuses"])
    channels = {"ok": Flaky("ok", 0), "flaky": Flaky("flaky", 2), "down": Flaky("down", 99),
                "refuses": Flaky("refuses", 1, permanent=True)}
    policy = RetryPolicy(max_attempts=4, max_age=3600, backoff=0.01, max_backoff=0.02,
                         jitter=0.5)
    drainer = Drainer(outbox, channels, policy, rng=random.Random(7))
    report = await drainer.drain_until_settled(timeout=5)
    assert report.sent == 2 and report.dead == 2
    states = {d.channel: d for _, ds in outbox.alerts() for d in ds}
    assert states["ok"].state is DeliveryState.SENT and states["ok"].attempts == 1
    assert states["flaky"].state is DeliveryState.SENT and states["flaky"].attempts == 3
    assert states["down"].state is DeliveryState.DEAD and states["down"].attempts == 4
    assert "gave up after 4 attempts" in (states["down"].last_error or "")
    assert states["refuses"].state is DeliveryState.DEAD and states["refuses"].attempts == 1
    assert set(channels["flaky"].keys) == {"a1"}  # one idempotency key for every attempt
    delays = [policy.delay(n, random.Random(n)) for n in (1, 2, 3, 4)]
    assert all(0.005 <= d <= 0.03 for d in delays)
    store.close()


async def test_a_delivery_too_old_to_retry_is_dead_and_says_so(store_target: str) -> None:
    store = Store(store_target)
    outbox = store.outbox
    outbox.enqueue(_alert("old"), ["down"])
    policy = RetryPolicy(max_attempts=100, max_age=0.0, backoff=0.01)
    report = await Drainer(outbox, {"down": Flaky("down", 99)}, policy).drain()
    assert report.dead == 1
    [(_, [delivery])] = outbox.alerts()
    assert delivery.state is DeliveryState.DEAD
    assert "undelivered after" in (delivery.last_error or "")
    store.close()


def test_min_reach_raises_on_one_unverified_post_followed_by_millions() -> None:
    """A hedged claim from an account followed by millions is spread at once: with
    ``min_reach`` the rule holds on it before any repost, never on verified reporting,
    and the reason says so with the figures."""
    r = rule(min_posts=3, min_authors=2, min_reach=1_000_000)
    wire = [Sample(at(1), "bigdesk", 2_400_000)]
    m = measure(r, narrative_rate(wire, at(1), 10), verified_posts=0)
    assert m.holds and m.by_reach
    reason = spread_reason(r, ClaimKind.CASUALTY, m)
    assert reason.startswith("1 post from 1 author in 10 minutes, reaching 2,400,000 "
                             "followers (at least 1,000,000):"), reason
    # the same post without the setting, from a smaller account, or confirmed: no
    assert not measure(rule(min_posts=3, min_authors=2),
                       narrative_rate(wire, at(1), 10), 0).holds
    small = [Sample(at(1), "localdesk", 40_000)]
    assert not measure(r, narrative_rate(small, at(1), 10), 0).holds
    confirmed = [Sample(at(1), "bigdesk", 2_400_000, verified=True)]
    assert not measure(r, narrative_rate(confirmed, at(1), 10), 0).holds
    # held by its count as usual: the reason does not speak of reach
    crowd = [Sample(at(i), f"u{i}", 10) for i in range(1, 7)]
    counted = measure(r, narrative_rate(crowd, at(6), 10), 0)
    assert counted.holds and not counted.by_reach
    assert "reaching" not in spread_reason(r, ClaimKind.CASUALTY, counted)
