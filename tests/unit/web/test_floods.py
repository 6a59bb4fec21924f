"""Failed authentications: a budget per client address, and one audit event per client a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from atlas_streams.web.floods import MAX_CLIENTS, FailureLimiter, FailureSummary

START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_may_fail_its_budget_then_waits_for_the_refill() -> None:
    clock = Clock()
    limiter = FailureLimiter(per_minute=30, clock=clock)
    for _ in range(30):
        assert limiter.retry_after("10.0.0.1") is None
        limiter.failed("10.0.0.1")

    assert limiter.retry_after("10.0.0.1") == 2  # 30 a minute: one token every 2 s
    assert limiter.retry_after("10.0.0.2") is None  # another address has its own budget
    clock.now += 2.0
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 2


def test_the_budget_refills_to_its_capacity_and_no_further() -> None:
    clock = Clock()
    limiter = FailureLimiter(per_minute=6, clock=clock)
    clock.now += 3600
    for _ in range(6):
        assert limiter.retry_after("c") is None
        limiter.failed("c")
    assert limiter.retry_after("c") == 10


def test_failures_fold_into_one_event_per_client_per_flush() -> None:
    recorded: list[dict[str, Any]] = []
    summary = FailureSummary(recorded.append)
    for i in range(40):
        summary.add("10.0.0.9", "unknown_key", START + timedelta(seconds=i))
    summary.add("10.0.0.9", "missing_key", START + timedelta(seconds=50))
    summary.add("10.0.0.7", "rate_limited", START)

    assert summary.flush() == 2 and summary.flush() == 0
    by_client = {event["client"]: event for event in recorded}
    assert by_client["10.0.0.9"]["count"] == 41
    assert by_client["10.0.0.9"]["reasons"] == {"missing_key": 1, "unknown_key": 40}
    assert by_client["10.0.0.9"]["ts"] == (START + timedelta(seconds=50)).isoformat()
    assert by_client["10.0.0.7"]["status"] == 401 and not by_client["10.0.0.7"]["allowed"]


def test_tracked_clients_are_bounded() -> None:
    recorded: list[dict[str, Any]] = []
    summary = FailureSummary(recorded.append)
    for i in range(MAX_CLIENTS + 5):
        summary.add(f"c{i}", "unknown_key", START)

    assert len(recorded) == 5  # the oldest were summarised early, nothing was dropped
    assert summary.flush() == MAX_CLIENTS
