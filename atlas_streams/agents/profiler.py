"""The profiler agent: every dataset topic, a batch at a time, into partial profiles.

An agent body is decode -> domain -> table write -> emit. Per batch and per source partition it
reads the partial once, skips replays below the offset watermark, decodes all new messages with
one JSON parse, updates the profile with all rows at once, writes the partial once, and publishes
it for every worker's query view. Malformed messages go to the dead-letter topic and are counted.
A partition's offsets are applied without holes: a missing range is read from the broker.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import faust
from aiokafka.errors import KafkaError

from atlas_streams.agents.backfill import BackfillStalled, read_range
from atlas_streams.agents.batching import take_events_bounded
from atlas_streams.agents.context import current_event
from atlas_streams.agents.deadletter import dead_letter
from atlas_streams.metrics import WorkerMetrics
from atlas_streams.profiling import ProfileOptions
from atlas_streams.settings import Settings
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import PartialProfile, applied_offset, plan_batch
from atlas_streams.wire import decode_batch

__all__ = ["partial_key", "register_profiler"]

log = logging.getLogger(__name__)

DECODE_CHUNK_BYTES = 4 << 20  # bytes of message values decoded and profiled at a time, at most
REPUBLISH_INTERVAL = 2.0  # s between checks that the view has every partial this worker holds
HOLE_CHECK_INTERVAL = 2.0  # s between comparisons of committed offsets with the watermarks


def partial_key(dataset: str, partition: int) -> str:
    """Return the table key of a dataset's partial profile for one source partition."""
    return f"{dataset}/{partition}"  # "/" cannot occur in a Kafka topic name


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
    """Register the profiler agent and its two timers on ``app``; return the agent."""
    observed = metrics if metrics is not None else WorkerMetrics()  # unscraped when not given
    published: dict[str, bytes] = {}  # partial key -> the value last sent to the view topic

    @app.agent(channel, name="atlas-profiler")
    async def profiler(stream: faust.StreamT) -> None:
        # The loop body awaits only to read a hole from the broker. A take acknowledges the
        # whole batch when the agent is stopped at an await inside it, so the partitions not yet
        # handled are committed unprofiled; their next reader finds the hole and reads it too.
        # Sends are buffered (send_soon), and Faust flushes the producer before it commits.
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
                profile = functools.partial(
                    _profile_partition, dataset, partition, tables=tables, deadletter=deadletter,
                    view_topic=view_topic, settings=settings, options=options,
                    published=published,
                )
                with current_event(group[-1]):
                    hole = profile([event.message for event in group])
                if hole is not None:
                    end = max(event.message.offset for event in group) + 1
                    await _backfill(profile, group[-1], settings, topic, partition, hole, end)
            observed.batch_size.observe(len(events))
            observed.batch_latency.observe(time.perf_counter() - started)

    @app.timer(REPUBLISH_INTERVAL, name="atlas-profile-republish")
    async def republish() -> None:
        # A partial restored from its changelog may be newer than the merged view: the worker
        # that wrote it died before its view message went out, and with every message applied
        # nothing new arrives to send it again. Send each partial of this worker's partitions
        # (a Table lists only those) that it has not sent yet; the view ignores equal values.
        if app.rebalancing:
            return
        for key, value in list(tables.partials.items()):
            if value and published.get(key) != value:
                await view_topic.send(key=key, value=value)
                published[key] = value

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
            stored = tables.partials.get(partial_key(dataset, tp.partition)) if dataset else None
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

    return profiler


def _profile_partition(
    dataset: str,
    partition: int,
    messages: Sequence[Any],
    *,
    tables: CatalogTables,
    deadletter: faust.TopicT,
    view_topic: faust.TopicT,
    settings: Settings,
    options: ProfileOptions,
    published: dict[str, bytes],
    contiguous: bool = False,
) -> int | None:
    """Apply one partition's messages to its partial; return where to backfill from, or None.

    ``messages`` are Faust messages or backfill records of one source partition. Unless the
    caller read them ``contiguous`` from the partition itself, new offsets with a hole after the
    watermark are not applied: the offset to read from is returned instead.
    """
    key = partial_key(dataset, partition)
    stored = tables.partials.get(key)
    state = PartialProfile.from_bytes(stored) if stored else PartialProfile.zero(options)
    offsets = [m.offset for m in messages]
    stamps = [int((m.timestamp or 0) * 1000) for m in messages]
    plan = plan_batch(state, offsets, stamps)
    log.debug("dataset %s partition %d: %d messages, %d new", dataset, partition, len(offsets),
              len(plan.apply))
    if plan.backfill_from is not None:
        first = offsets[plan.apply[0]]
        if not contiguous:
            new = {offsets[i] for i in plan.apply}
            missing = [o for o in range(plan.backfill_from, max(new)) if o not in new]
            log.warning(
                "dataset %s partition %d: the consumer skipped %d offset(s) after the profiled "
                "%d (the first: %d); reading offsets %d..%d from the broker so that no row is "
                "lost", dataset, partition, len(missing), state.offset, missing[0],
                plan.backfill_from, max(new),
            )
            return plan.backfill_from
        if first > plan.backfill_from:
            log.warning(
                "dataset %s partition %d: offsets %d..%d hold no message (deleted by retention "
                "before they were profiled, or transaction markers); profiling from %d",
                dataset, partition, plan.backfill_from, first - 1, first,
            )
    if not plan.apply:
        if stored:
            # Only replays: the last run died after writing this value but before its
            # offsets were committed (Faust flushes the producer before it commits), so the
            # changelog or view copy may be missing. Write both again; the value is the same.
            tables.partials[key] = stored
            view_topic.send_soon(key=key, value=stored)
            published[key] = stored
        return None
    if plan.reset_at is not None:
        log.warning(
            "dataset %s partition %d: offset %d is at or below the applied watermark %d but newer "
            "than every applied message; the broker's log restarted (the embedded broker keeps "
            "topics in memory). Counting from here in a new epoch.",
            dataset, partition, plan.reset_at, state.offset,
        )
        state.epoch += 1
        state.resets.append(plan.reset_at)
    applied = [messages[i] for i in plan.apply]
    for chunk in _chunks(applied):
        decoded = decode_batch(
            [m.value for m in chunk], settings.max_message_bytes,
            settings.deserializer_of(dataset),
        )
        for rejected in decoded.rejected:
            deadletter.send_soon(value=dead_letter(chunk[rejected.index], rejected.reason))
        state.profile.update(decoded.rows, time.time())
        if decoded.rejected:
            state.profile.add_invalid(len(decoded.rejected))
    state.offset = applied[-1].offset
    state.max_timestamp = max(state.max_timestamp, max(stamps[i] for i in plan.apply))
    data = state.to_bytes()
    tables.partials[key] = data
    view_topic.send_soon(key=key, value=data)
    published[key] = data
    return None


async def _backfill(
    profile: Callable[..., int | None], event: faust.EventT, settings: Settings,
    topic: str, partition: int, start: int, end: int,
) -> None:
    """Read offsets ``start..end-1`` of a partition from the broker and apply them in order.

    Table writes go to the partition of ``event``, one of the batch's own. Each chunk is written
    as it is applied, so a read that fails part way keeps what it applied; the next batch of the
    partition (or its next owner) finds the rest of the hole and reads it again.
    """
    try:
        async with contextlib.aclosing(
            read_range(settings, topic, partition, start, end)
        ) as chunks:
            async for chunk in chunks:
                with current_event(event):
                    profile(chunk, contiguous=True)
    except (KafkaError, OSError, BackfillStalled) as exc:
        log.error(
            "%s[%d]: could not read offsets %d..%d from the broker (%s); they are read again "
            "with the partition's next batch", topic, partition, start, end - 1, exc,
        )


def _chunks(messages: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Split messages into runs of at most ``DECODE_CHUNK_BYTES`` of values (one at least).

    A batch of 2,000 messages of 100 rows each is 200,000 rows: decoded at once, their dicts
    alone take hundreds of MiB. Decoding and profiling a chunk at a time bounds that.
    """
    start, size = 0, 0
    for index, message in enumerate(messages):
        length = len(message.value or b"")
        if index > start and size + length > DECODE_CHUNK_BYTES:
            yield messages[start:index]
            start, size = index, 0
        size += length
    if start < len(messages):
        yield messages[start:]
