"""``GET /metrics``: the worker's Prometheus metrics, observed and collected at scrape time.

Gated by the ``monitoring:read`` permission on the web port, not served on a separate port:
its labels name datasets and topics, which the access lists keep from users who may not see
them; one port is one thing to expose and secure; and every scrape is audited like any read.
Prometheus sends the key with ``http_headers`` (see docs/deployment.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from atlas_streams.runtime import Atlas
from atlas_streams.web.catalog import merged_profiles
from atlas_streams.web.context import ATLAS

__all__ = ["WorkerCollector", "routes"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


class WorkerCollector(Collector):
    """Read, when scraped, what the worker holds: rows per dataset, lag, tables, Faust's counts."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas

    def describe(self) -> list[Metric]:
        """Describe nothing up front: collecting touches Faust's consumer, so only at scrape."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families read from the tables and Faust's monitor."""
        try:
            yield from self._datasets()
            yield from self._consumer()
            yield from self._tables()
        except Exception:  # a scrape must answer; a failed read shows as missing series
            log.exception("could not collect the worker's metrics")

    def _datasets(self) -> Iterator[Metric]:
        rows = CounterMetricFamily("atlas_dataset_rows", "Rows profiled, per dataset",
                                   labels=["dataset"])
        invalid = CounterMetricFamily(
            "atlas_dataset_invalid_messages", "Malformed messages dead-lettered, per dataset",
            labels=["dataset"])
        for name, profile in sorted(merged_profiles(self.atlas).items()):
            rows.add_metric([name], profile.row_count)
            invalid.add_metric([name], profile.invalid_count)
        yield rows
        yield invalid

    def _consumer(self) -> Iterator[Metric]:
        app = self.atlas.app
        monitor = app.monitor
        lag = GaugeMetricFamily(
            "atlas_consumer_lag", "Messages not yet committed by this worker, per assigned "
            "partition (end offset minus committed offset)", labels=["topic", "partition"])
        consumer = app.consumer
        # Faust keeps the committed offsets it acts on in this dict and reads no other copy.
        committed: dict[Any, int | None] = dict(consumer._committed_offset)
        for tp in sorted(consumer.assignment()):
            done = committed.get(tp)
            try:
                end = consumer.highwater(tp)
            except Exception:  # not fetched yet: no end offset to compare with
                continue
            if done is not None and end is not None:
                lag.add_metric([tp.topic, str(tp.partition)], max(0, end - done))
        yield lag
        received = CounterMetricFamily("atlas_faust_messages_received",
                                       "Messages Faust received, per topic", labels=["topic"])
        for topic, count in sorted(monitor.messages_received_by_topic.items()):
            received.add_metric([topic], count)
        yield received
        yield CounterMetricFamily("atlas_faust_events", "Events Faust's streams processed",
                                  value=monitor.events_total)

    def _tables(self) -> Iterator[Metric]:
        keys = GaugeMetricFamily("atlas_table_keys", "Keys held in this worker's copy, per table",
                                 labels=["table"])
        for name, table in sorted(self.atlas.app.tables.items()):
            keys.add_metric([name], len(table))
        yield keys


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Return the worker's metrics in the Prometheus text format."""
    body = generate_latest(request.app[ATLAS].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
