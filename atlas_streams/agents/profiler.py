"""The profiler agent: every dataset topic, a batch at a time, into partial profiles.

An agent body is decode -> domain -> table write -> emit. Per batch and per source partition it
reads the partial once, skips replays below the offset watermark, decodes all new messages with
one JSON parse, updates the profile with all rows at once, writes the partial once, and publishes
it for every worker's query view. Malformed messages go to the dead-letter topic and are counted.
"""

from __future__ import annotations

import base64
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import faust
import orjson

from atlas_streams.agents.context import current_event
from atlas_streams.profiling import ProfileOptions
from atlas_streams.settings import Settings
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import PartialProfile, plan_batch
from atlas_streams.wire import Rejected, decode_batch

__all__ = ["partial_key", "register_profiler"]

log = logging.getLogger(__name__)

DEADLETTER_SAMPLE_BYTES = 262_144  # bytes of a bad value copied into its dead letter, at most
DECODE_CHUNK_BYTES = 4 << 20  # bytes of message values decoded and profiled at a time, at most
REPUBLISH_INTERVAL = 2.0  # s between checks that the view has every partial this worker holds


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
) -> Any:
    """Register the profiler agent (and its republish timer) on ``app``; return the agent."""
    published: dict[str, bytes] = {}  # partial key -> the value last sent to the view topic

    @app.agent(channel, name="atlas-profiler")
    async def profiler(stream: faust.StreamT) -> None:
        # The loop body never awaits: take_events acknowledges the whole batch when the agent
        # is stopped at an await inside it, so a partition handled after that await would have
        # its messages committed unprofiled. Sends are buffered (send_soon), and Faust flushes
        # the producer before it commits.
        async for events in stream.take_events(settings.batch_size, within=settings.batch_timeout):
            groups: dict[tuple[str, int], list[faust.EventT]] = defaultdict(list)
            for event in events:
                groups[(event.message.topic, event.message.partition)].append(event)
            for (topic, partition), group in groups.items():
                dataset = settings.dataset_of_topic(topic)
                if dataset is None:
                    continue
                with current_event(group[-1]):
                    _profile_partition(
                        dataset, partition, group, tables, deadletter, view_topic, settings,
                        options, published,
                    )

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

    return profiler


def _profile_partition(
    dataset: str,
    partition: int,
    events: Sequence[faust.EventT],
    tables: CatalogTables,
    deadletter: faust.TopicT,
    view_topic: faust.TopicT,
    settings: Settings,
    options: ProfileOptions,
    published: dict[str, bytes],
) -> None:
    key = partial_key(dataset, partition)
    stored = tables.partials.get(key)
    state = PartialProfile.from_bytes(stored) if stored else PartialProfile.zero(options)
    messages = [event.message for event in events]
    offsets = [m.offset for m in messages]
    stamps = [int((m.timestamp or 0) * 1000) for m in messages]
    plan = plan_batch(state, offsets, stamps)
    log.debug("dataset %s partition %d: %d messages, %d new", dataset, partition, len(offsets),
              len(plan.apply))
    if not plan.apply:
        if stored:
            # Only replays: the last run died after writing this value but before its
            # offsets were committed (Faust flushes the producer before it commits), so the
            # changelog or view copy may be missing. Write both again; the value is the same.
            tables.partials[key] = stored
            view_topic.send_soon(key=key, value=stored)
            published[key] = stored
        return
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
            deadletter.send_soon(value=_dead_letter(chunk[rejected.index], rejected))
        state.profile.update(decoded.rows, time.time())
        if decoded.rejected:
            state.profile.add_invalid(len(decoded.rejected))
    state.offset = applied[-1].offset
    state.max_timestamp = max(state.max_timestamp, max(stamps[i] for i in plan.apply))
    data = state.to_bytes()
    tables.partials[key] = data
    view_topic.send_soon(key=key, value=data)
    published[key] = data


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


def _dead_letter(message: Any, rejected: Rejected) -> bytes:
    value: bytes = message.value or b""
    body: dict[str, Any] = {
        "reason": rejected.reason,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "timestamp": message.timestamp,
        "size": len(value),
        "truncated": len(value) > DEADLETTER_SAMPLE_BYTES,
    }
    sample = value[:DEADLETTER_SAMPLE_BYTES]
    try:
        body["value"] = sample.decode("utf-8")
    except UnicodeDecodeError:
        body["value_base64"] = base64.b64encode(sample).decode("ascii")
    return orjson.dumps(body)
