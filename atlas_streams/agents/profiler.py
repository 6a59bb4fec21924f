"""The profiler agent: every dataset topic, a batch at a time, into partial profiles.

An agent body moves bytes: per batch and per source partition it takes the partition's latest
partial (its own, or every worker's copy of ``profile_state`` after a partition moved here), runs
the pure step (``tables/step.py``) in a worker thread, publishes the new partial on the
profile-view topic and dead-letters the malformed messages. The step runs off the event loop:
profiling a batch of 2,000 rows on it held every HTTP request for ~0.3 s.

Nothing here is co-partitioned with the dataset topics, so a topic may have any number of
partitions: the view agent stores the partials (``agents/catalog.py``). A partition's offsets are
applied in order without holes: when the copy this worker starts from lags behind the committed
offset, or the consumer skips offsets, the missing range is read from the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import faust
from aiokafka.errors import KafkaError

from atlas_streams.agents.backfill import BackfillStalled, read_range
from atlas_streams.agents.batching import take_events_bounded
from atlas_streams.agents.deadletter import dead_letter
from atlas_streams.metrics import WorkerMetrics
from atlas_streams.profiling import ProfileOptions
from atlas_streams.settings import Settings
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import PartialProfile, applied_offset
from atlas_streams.tables.step import Message, profile_messages

__all__ = ["Partials", "partial_key", "register_profiler"]

log = logging.getLogger(__name__)

HOLE_CHECK_INTERVAL = 2.0  # s between comparisons of committed offsets with the watermarks


def partial_key(dataset: str, partition: int) -> str:
    """Return the key of a dataset's partial profile for one source partition."""
    return f"{dataset}/{partition}"  # "/" cannot occur in a Kafka topic name


class Partials:
    """The latest partial of each source partition this worker holds, by key.

    A partition's first batch on this worker starts from every worker's copy of the state table
    (which may lag: the offset watermark tells); after that this worker's own latest value is
    the truth. A partition that leaves this worker is forgotten, so if it comes back its value is
    read from the table again (another worker may have moved it on meanwhile).
    """

    def __init__(self, tables: CatalogTables) -> None:
        self.tables = tables
        self.latest: dict[str, bytes] = {}
        self.decoded: dict[str, PartialProfile] = {}  # the latest values, decoded

    def get(self, key: str) -> bytes | None:
        """Return the partial to continue from."""
        return self.latest.get(key) or self.tables.state.get(key)

    def take_decoded(self, key: str) -> PartialProfile | None:
        """Return (and give up) the decoded form of the latest partial, if this worker has it."""
        return self.decoded.pop(key, None) if key in self.latest else None

    def keep(self, key: str, value: bytes, decoded: PartialProfile | None) -> None:
        """Record this worker's new latest partial of ``key``."""
        self.latest[key] = value
        if decoded is not None:
            self.decoded[key] = decoded
        else:
            self.decoded.pop(key, None)

    def keep_only(self, keys: set[str]) -> None:
        """Forget the partials of partitions no longer assigned to this worker."""
        for key in set(self.latest) - keys:
            del self.latest[key]
            self.decoded.pop(key, None)


def register_profiler(
    app: faust.App,
    channel: faust.TopicT,
    tables: CatalogTables,
    deadletter: faust.TopicT,
    view_topic: faust.TopicT,
    settings: Settings,
    options: ProfileOptions,
    metrics: WorkerMetrics | None = None,
) -> Any:
    """Register the profiler agent and its timer on ``app``; return the agent."""
    partials = Partials(tables)
    observed = metrics if metrics is not None else WorkerMetrics()  # unscraped when not given

    async def profile(dataset: str, partition: int, messages: Sequence[Any],
                      contiguous: bool = False) -> int | None:
        """Apply messages to one partition's partial; return where to backfill from, or None."""
        key = partial_key(dataset, partition)
        step = await asyncio.to_thread(
            profile_messages, partials.get(key), messages, decoded=partials.take_decoded(key),
            options=replace(options, datetime_columns=settings.datetime_columns_of(dataset)),
            max_message_bytes=settings.max_message_bytes,
            deserializer=settings.deserializer_of(dataset), contiguous=contiguous,
            label=f"dataset {dataset} partition {partition}",
        )
        for warning in step.warnings:
            log.warning("%s", warning)
        for index, reason in step.rejected:
            deadletter.send_soon(value=dead_letter(messages[index], reason))
        if step.partial is not None:
            partials.keep(key, step.partial, step.state)
            view_topic.send_soon(key=key, value=step.partial)
        elif step.replays and (value := partials.get(key)) is not None:
            # Replays only: the last run died after publishing but before its offsets were
            # committed; publishing again is harmless (the view keeps the newer of equal ones).
            partials.keep(key, value, None)
            view_topic.send_soon(key=key, value=value)
        return step.backfill_from

    @app.agent(channel, name="atlas-profiler")
    async def profiler(stream: faust.StreamT) -> None:
        # The step runs in a thread, so the body awaits. A take acknowledges the whole batch
        # when the agent is stopped at an await inside it: partitions not yet handled are
        # committed unprofiled, and their next reader finds the hole (their watermark is behind
        # the committed offset) and reads it from the broker. Sends are buffered (send_soon),
        # and Faust flushes the producer before it commits.
        batches = take_events_bounded(
            stream, settings.batch_size, settings.batch_bytes, settings.batch_timeout
        )
        async for events in batches:
            started = time.perf_counter()
            groups: dict[tuple[str, int], list[faust.EventT]] = defaultdict(list)
            for event in events:
                groups[(event.message.topic, event.message.partition)].append(event)
            for (topic, partition), group in groups.items():
                dataset = settings.dataset_of_topic(topic)
                if dataset is None:
                    continue
                messages = [event.message for event in group]
                hole = await profile(dataset, partition, messages)
                if hole is not None:
                    end = max(m.offset for m in messages) + 1
                    await _backfill(functools.partial(profile, dataset, partition),
                                    settings, topic, partition, hole, end)
            observed.batch_size.observe(len(events))
            observed.batch_latency.observe(time.perf_counter() - started)

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set[Any], **kwargs: Any) -> None:
        keep = {partial_key(d, tp.partition) for tp in assigned
                if (d := settings.dataset_of_topic(tp.topic)) is not None}
        partials.keep_only(keep)

    _find_tail_holes(app, partials, settings)
    return profiler


def _find_tail_holes(app: faust.App, partials: Partials, settings: Settings) -> None:
    """Register the timer that re-reads what was committed but never profiled."""
    stuck: dict[Any, tuple[int, int]] = {}  # partition -> (watermark, committed) last seen
    seeks: set[tuple[Any, int, int]] = set()  # (partition, watermark, committed) sought back

    @app.timer(HOLE_CHECK_INTERVAL, name="atlas-profile-tail-holes")
    async def find_tail_holes() -> None:
        # A hole shows as a batch that skips offsets; a hole after a partition's last message
        # shows in no batch. Faust's committed offset says it: committed beyond the watermark
        # + 1 for two checks in a row means acknowledged messages were never profiled. Ask
        # Faust's consumer to deliver them again, once for each such state.
        if app.rebalancing:
            stuck.clear()
            return
        consumer = app.consumer
        seen: dict[Any, tuple[int, int]] = {}
        for tp in consumer.assignment():
            dataset = settings.dataset_of_topic(tp.topic)
            stored = partials.get(partial_key(dataset, tp.partition)) if dataset else None
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001 (no public reader)
            if not stored or committed is None:
                continue
            watermark = applied_offset(stored)
            if watermark < 0 or committed <= watermark + 1:
                continue
            seen[tp] = (watermark, committed)
            if stuck.get(tp) == seen[tp] and (tp, watermark, committed) not in seeks:
                seeks.add((tp, watermark, committed))
                log.warning(
                    "dataset %s partition %d: offsets up to %d were committed but only up to %d "
                    "were profiled; reading from %d again", dataset, tp.partition, committed - 1,
                    watermark, watermark + 1,
                )
                try:
                    await consumer.seek(tp, watermark + 1)
                except (KafkaError, AssertionError) as exc:  # revoked since: its owner checks
                    log.warning("could not seek %s[%d]: %r", tp.topic, tp.partition, exc)
        stuck.clear()
        stuck.update(seen)


async def _backfill(
    profile: Callable[..., Any], settings: Settings, topic: str, partition: int, start: int,
    end: int,
) -> None:
    """Read offsets ``start..end-1`` of a partition from the broker and apply them in order.

    Each chunk is applied as it is read, so a read that fails part way keeps what it applied;
    the next batch of the partition (or its next owner) finds the rest of the hole and reads it.
    """
    try:
        async with contextlib.aclosing(
            read_range(settings, topic, partition, start, end)
        ) as chunks:
            async for chunk in chunks:
                records: Sequence[Message] = chunk
                await profile(records, contiguous=True)
    except (KafkaError, OSError, BackfillStalled) as exc:
        log.error(
            "%s[%d]: could not read offsets %d..%d from the broker (%s); they are read again "
            "with the partition's next batch", topic, partition, start, end - 1, exc,
        )
