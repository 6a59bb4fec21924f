"""The worker's Prometheus metrics that code observes as things happen (prometheus-client).

One :class:`WorkerMetrics` per worker, with its own registry (never the library's global one,
so two apps in one process, as in tests, never collide). What is read rather than observed
(rows per dataset, consumer lag, table sizes, Faust's own counters) is collected when scraped,
by :mod:`atlas_streams.web.metrics`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["WorkerMetrics"]

# Seconds: from a cached read (~1 ms) to a registry write that waits on an agent (~1-10 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Messages in one profiler batch: up to ATLAS_BATCH_SIZE (2,000 by default).
BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)


class WorkerMetrics:
    """The counters and histograms one worker observes; ``registry`` is what /metrics shows."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "atlas_http_requests", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.http_latency = Histogram(
            "atlas_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.audit_decisions = Counter(
            "atlas_audit_decisions", "Access decisions (401s and 429s as reason unauthenticated)",
            ["decision", "reason"], registry=self.registry,
        )
        self.registry_commands = Counter(
            "atlas_registry_commands", "Model-registry commands, by action and outcome",
            ["action", "outcome"], registry=self.registry,
        )
        self.batch_size = Histogram(
            "atlas_profiler_batch_messages", "Messages in one profiler batch",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )
        self.batch_latency = Histogram(
            "atlas_profiler_batch_duration_seconds",
            "Time to decode, profile and store one profiler batch",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
