"""Failed authentications are cheap and bounded: a rate limit per client, one audit event a minute.

Before this, a well-formed unknown key held its request 2 s, nothing limited the tries, and
every anonymous 401 was one more chained audit event, so an unauthenticated client could grow
the audit without bound. Now a client address has a budget of failed authentications
(``ATLAS_AUTH_FAILURES_PER_MINUTE``, a token bucket refilled continuously); past it, requests
that fail authentication get 429 with ``Retry-After``. Failures are not audited one by one:
:class:`FailureSummary` counts them per client and reason, and every
``ATLAS_AUTH_SUMMARY_SECONDS`` (60 by default, and when the worker stops) each client's count
becomes one audit event. Authenticated requests
are audited one by one, as before.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from atlas_streams.rbac import anonymous_summary

__all__ = ["FailureLimiter", "FailureSummary"]

MAX_CLIENTS = 10_000  # clients tracked at once; beyond it, the oldest are summarised early


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic time of the last refill


class FailureLimiter:
    """A token bucket per client address: each failed authentication takes one token."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, client: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.pop(client, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[client] = bucket  # most recently used last
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.pop(next(iter(self._buckets)))
        return bucket

    def retry_after(self, client: str) -> int | None:
        """Return the seconds until ``client`` may fail again, or None when it may now."""
        bucket = self._refilled(client)
        if bucket.tokens >= 1.0:
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def failed(self, client: str) -> None:
        """Take one token from ``client`` for a failed authentication."""
        bucket = self._refilled(client)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)


@dataclass
class _Failures:
    first: datetime
    last: datetime
    reasons: Counter[str] = field(default_factory=Counter)


class FailureSummary:
    """Count failed authentications per client; emit one audit event per client per interval."""

    def __init__(self, record: Callable[[dict[str, Any]], object]) -> None:
        self.record = record
        self._clients: dict[str, _Failures] = {}

    def add(self, client: str, reason: str, now: datetime | None = None) -> None:
        """Count one failure of ``client`` for ``reason`` (missing_key, unknown_key, ...)."""
        moment = now or datetime.now(UTC)
        failures = self._clients.get(client)
        if failures is None:
            if len(self._clients) >= MAX_CLIENTS:
                self._emit(next(iter(self._clients)))
            failures = self._clients[client] = _Failures(moment, moment)
        failures.last = moment
        failures.reasons[reason] += 1

    def flush(self) -> int:
        """Audit every client's failures counted since the last flush; return the events made."""
        clients = list(self._clients)
        for client in clients:
            self._emit(client)
        return len(clients)

    def _emit(self, client: str) -> None:
        failures = self._clients.pop(client)
        self.record(anonymous_summary(
            client=client or None, count=sum(failures.reasons.values()), first=failures.first,
            last=failures.last, reasons=dict(failures.reasons),
        ))
