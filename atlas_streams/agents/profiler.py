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
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import faust
from aiokafka.errors import KafkaError

from atlas_streams.agents.backfill import BackfillStalled, read_range
from atlas_streams.agents.batching import take_events_bounded
from atlas_streams.agents.deadletter import dead_letter
from atlas_streams.agents.windows import windowing_of
from atlas_streams.faust_compat import IDLE_HEAD_CHECKS, read_idle_heads_again
from atlas_streams.metrics import WorkerMetrics
from atlas_streams.profiling import ProfileError, ProfileOptions
from atlas_streams.settings import Settings
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import (
    Lineage,
    PartialFormatError,
    PartialProfile,
    applied_offset,
    caught_up_of,
    lineage_of,
    position,
)
from atlas_streams.tables.step import Message, WindowAcks, profile_messages
from atlas_streams.tables.windows import acks_from_bytes

__all__ = ["Partials", "partial_key", "register_profiler"]

log = logging.getLogger(__name__)

HOLE_CHECK_INTERVAL = 2.0  # s between comparisons of committed offsets with the watermarks
# A partition's partial is published at most this often. Published after every batch, the
# partials of small batches filled Faust's producer buffer: 100-message batches of a 12,000-row
# dataset made ~480 messages of ~30 KB each (exact value tables), and the first merged profile
# came 10 s after the worker had applied every row. What is not yet published when a worker
# dies its successor reads again from the broker: the watermark shows where it ends.
PUBLISH_INTERVAL = 0.5
IDLE_HEAD_SLOW_CHECKS = 15  # quiet checks of a head while this worker's partial lacks messages


def partial_key(dataset: str, partition: int) -> str:
    """Return the key of a dataset's partial profile for one source partition."""
    return f"{dataset}/{partition}"  # "/" cannot occur in a Kafka topic name


@dataclass
class Held:
    """A partition's partial on the worker that holds the partition."""

    published: bytes | None  # the last value published (or the table's copy when it came here)
    state: PartialProfile | None = None  # the partial now, decoded; ahead of ``published``
    dirty: bool = False  # ``state`` has rows ``published`` lacks
    published_at: float = 0.0  # monotonic time of the last publication
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one step or flush at a time
    # This worker's lineage for the partition (tables.partial.continues): a session of its own,
    # and the position of the stored value it started from.
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    base: tuple[int, int] | None = None
    seen: bytes | None = None  # the table copy last checked for another lineage

    def __post_init__(self) -> None:
        if self.published is not None and self.base is None:
            self.base = _position(self.published)
        self.seen = self.published

    @property
    def lineage(self) -> Lineage:
        """Return the lineage this worker writes into the partition's partials."""
        return Lineage(self.session, self.base)

    def left_behind(self, copy: bytes | None) -> bool:
        """Start again from the table's ``copy`` if the view stored another owner's value.

        The view stores a value of another session past this worker's start only when this
        worker's lineage is not the one it follows (this worker started from a copy that
        lagged, or another owner still published): this worker's values will be refused, so it
        drops its rows since and reads them again from the broker on top of ``copy``.
        """
        if copy is None or copy == self.seen or copy == self.published:
            return False
        self.seen = copy
        try:
            lineage, at = lineage_of(copy), position(copy)
        except PartialFormatError:
            return False
        if lineage is None or lineage.session == self.session or (
                self.base is not None and at <= self.base):
            return False
        self.published, self.state, self.dirty, self.base = copy, None, False, at
        return True

    @property
    def watermark(self) -> int:
        """Return the offset watermark of what this worker has applied."""
        if self.state is not None:
            return self.state.offset
        return applied_offset(self.published) if self.published else -1


def _position(value: bytes) -> tuple[int, int] | None:
    try:
        return position(value)
    except PartialFormatError:
        return None


class Partials:
    """The partials of the source partitions this worker holds, by key.

    A partition's first batch on this worker starts from every worker's copy of the state table
    (which may lag: the offset watermark tells); after that this worker's own latest value is
    the truth. A partition that leaves this worker is forgotten, so if it comes back its value is
    read from the table again (another worker may have moved it on meanwhile).
    """

    def __init__(self, tables: CatalogTables) -> None:
        self.tables = tables
        self.held: dict[str, Held] = {}

    def get(self, key: str) -> Held:
        """Return the partition's partial, from the table's copy the first time."""
        held = self.held.get(key)
        if held is None:
            held = self.held[key] = Held(self.tables.state.get(key))
        return held

    def rebase_if_left_behind(self, key: str, held: Held) -> bool:
        """Start ``held`` again from the table's copy when its lineage was left behind."""
        started = held.base
        if held.left_behind(self.tables.state.get(key)):
            log.warning("partial %s: the view stored another owner's value at %s after this "
                        "worker started from %s; starting again from it", key, held.base,
                        started)
            return True
        return False

    def current(self, key: str) -> Held:
        """Return the partition's partial, read from the table again while none was applied here.

        A partition taken over from a stopped or killed worker shows its predecessor's last
        partial only once the view agent has stored it; a copy cached at the first look stayed
        behind, and the idle head waited 30 s instead of 6 s (scale-out test, CI).
        """
        held = self.get(key)
        if held.state is None and not held.dirty and not held.lock.locked():
            copy = self.tables.state.get(key)
            if copy != held.published:
                held = self.held[key] = Held(copy)
        return held

    def keep_only(self, keys: set[str]) -> None:
        """Forget the partials of partitions no longer assigned to this worker."""
        for key in set(self.held) - keys:
            del self.held[key]


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

    def acks_of(key: str) -> WindowAcks | None:
        value = tables.window_acks.get(key) if tables.window_acks is not None else None
        return acks_from_bytes(value) if value else None

    async def profile(dataset: str, partition: int, messages: Sequence[Any],
                      contiguous: bool = False, caught_up: bool = False,
                      first_offset: int | None = None) -> int | None:
        """Apply messages to one partition's partial; return where to backfill from, or None."""
        key = partial_key(dataset, partition)
        held = partials.get(key)
        async with held.lock:
            partials.rebase_if_left_behind(key, held)
            # A range read for a hole is published at once: it is rare, and it carries the
            # refusals of a profile over its budget (tables/step.py).
            encode = contiguous or time.monotonic() - held.published_at >= PUBLISH_INTERVAL
            step = await asyncio.to_thread(
                profile_messages, held.published, messages, decoded=held.state, encode=encode,
                options=replace(options, datetime_columns=settings.datetime_columns_of(dataset)),
                max_message_bytes=settings.max_message_bytes,
                deserializer=settings.deserializer_of(dataset), contiguous=contiguous,
                label=f"dataset {dataset} partition {partition}", first_offset=first_offset,
                windowing=windowing_of(tables, dataset), acks=acks_of(key),
                caught_up=caught_up, lineage=held.lineage,
            )
            for warning in step.warnings:
                log.warning("%s", warning)
            for index, reason in (*step.rejected, *step.window_rejected):
                deadletter.send_soon(value=dead_letter(messages[index], reason))
            held.state = step.state
            if step.partial is not None:
                _published(held, step.partial, view_topic, key)
            elif step.applied:
                held.dirty = True
            elif step.replays and held.published is not None and not held.dirty:
                # Replays only: the last run died after publishing but before its offsets were
                # committed; publishing again is harmless (the view keeps the newer of equals).
                _published(held, held.published, view_topic, key)
            return step.backfill_from

    @app.timer(PUBLISH_INTERVAL / 2, name="atlas-profile-publish")
    async def publish_due() -> None:
        # A partition's partial is published at most every PUBLISH_INTERVAL; the last rows of
        # a partition that then goes quiet are published here.
        now = time.monotonic()
        for key, held in list(partials.held.items()):
            if not held.lock.locked():
                partials.rebase_if_left_behind(key, held)
            if held.dirty and now - held.published_at >= PUBLISH_INTERVAL:
                await _publish(held, view_topic, key)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[Any], **kwargs: Any) -> None:
        # Publish what this worker applied before its offsets are committed and the partitions
        # move on; whatever is lost here its next owner reads again from the broker.
        for tp in revoked:
            dataset = settings.dataset_of_topic(tp.topic)
            held = partials.held.get(partial_key(dataset, tp.partition)) if dataset else None
            if held is not None and held.dirty:
                await _publish(held, view_topic, partial_key(dataset, tp.partition))

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
                # Where the group starts reading the partition (its commit, or the log's start
                # put there by faust_compat): a first batch after it has a hole.
                start = app.consumer._committed_offset.get(messages[0].tp)  # noqa: SLF001
                hole = await profile(dataset, partition, messages, first_offset=start,
                                     caught_up=_caught_up(app, group[-1].message))
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

    _find_tail_holes(app, partials, settings, view_topic)
    return profiler


def _find_tail_holes(app: faust.App, partials: Partials, settings: Settings,
                     view_topic: faust.TopicT) -> None:
    """Register the timer that re-reads what was committed but never profiled."""
    stuck: dict[Any, tuple[int, int]] = {}  # partition -> (watermark, committed) last seen
    seeks: set[tuple[Any, int, int]] = set()  # (partition, watermark, committed) sought back

    def quiet_checks(tp: Any) -> int | None:
        # Messages skipped while Faust recovered and never acked (faust_compat) are read again
        # after 3 quiet checks when this worker's partial (or the table's copy of the previous
        # owner's) already holds every message, so the reread only replays; after 15 otherwise
        # (a busy profiler can leave a partition's messages waiting that long in its queue).
        dataset = settings.dataset_of_topic(tp.topic)
        if dataset is None:
            return None
        end = app.consumer.highwater(tp)
        applied = end is not None and partials.current(partial_key(dataset, tp.partition)) \
            .watermark >= end - 1
        return IDLE_HEAD_CHECKS if applied else IDLE_HEAD_SLOW_CHECKS

    read_idle_heads_again(app, quiet_checks, name="atlas-profile-idle-heads")

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
            if (name := settings.dataset_of_topic(tp.topic)) is not None:
                known = partials.held.get(partial_key(name, tp.partition))
                if known is not None:
                    await _mark_caught_up(known, consumer, tp, view_topic,
                                          partial_key(name, tp.partition))
            dataset = settings.dataset_of_topic(tp.topic)
            # A partition with no batch here yet starts from the table's copy: a hole after its
            # last message shows only this way.
            held = partials.get(partial_key(dataset, tp.partition)) if dataset else None
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001 (no public reader)
            if held is None or committed is None:
                continue
            watermark = held.watermark
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


async def _mark_caught_up(held: Held, consumer: Any, tp: Any, view_topic: faust.TopicT,
                          key: str) -> None:
    """Publish that a partition's windows read it to the end, when its last batch did not know.

    A batch learns it from the consumer's highwater, which can lag the fetch that brought it:
    the partition's last batch then says "not caught up", and nothing later would correct it,
    so the dataset's last window would never close by the quiet rule.
    """
    end = consumer.highwater(tp)
    if end is None or held.watermark < 0 or held.watermark + 1 < end or held.lock.locked():
        return
    async with held.lock:
        state = held.state
        if state is None and held.published:
            if caught_up_of(held.published):
                return
            state = await asyncio.to_thread(PartialProfile.from_bytes, held.published)
        if state is None or state.windows is None or state.windows.caught_up:
            return
        state.windows = replace(state.windows, caught_up=True)
        state.lineage = held.lineage
        held.state, held.dirty = state, True
    await _publish(held, view_topic, key)


def _caught_up(app: faust.App, message: Any) -> bool:
    """Return whether ``message`` is its partition's last (the merger's idleness rule)."""
    try:
        end = app.consumer.highwater(message.tp)
    except Exception:  # noqa: BLE001 (no consumer yet, or the partition left: not caught up)
        return False
    return end is not None and message.offset + 1 >= end


def _published(held: Held, value: bytes, view_topic: faust.TopicT, key: str) -> None:
    held.published, held.dirty, held.published_at = value, False, time.monotonic()
    view_topic.send_soon(key=key, value=value)


async def _publish(held: Held, view_topic: faust.TopicT, key: str) -> None:
    """Publish a partition's unpublished rows now (its lock held while the value is written)."""
    async with held.lock:
        if not held.dirty or held.state is None:
            return
        try:
            value = await asyncio.to_thread(held.state.to_bytes)
        except ProfileError as exc:
            # Its rows since the last publication are read again from the broker when the
            # committed offset shows them missing (find_tail_holes), and refused there.
            log.warning("partial %s no longer fits its byte budget (%s); its rows since %d are "
                        "read again", key, exc, applied_offset(held.published or b"") if
                        held.published else -1)
            held.state, held.dirty = None, False
            return
        _published(held, value, view_topic, key)


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
