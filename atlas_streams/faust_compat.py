"""Workarounds for faust-streaming 0.15.3 bugs we measured; applied once by ``create_app``.

Each one is narrow, says what it fixes, and can be deleted when Faust fixes the bug.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka.errors import IllegalStateError, KafkaError
from faust.agents.replies import ReplyConsumer, ReplyPromise
from faust.stores.rocksdb import Store as RocksDBStore
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP
from faust.utils.functional import consecutive_numbers

from atlas_streams.kafka_compat import leave_groups_of_generation_zero

__all__ = ["STUCK_SECONDS", "apply_workarounds", "committable_offset", "read_idle_heads_again"]

log = logging.getLogger(__name__)

STUCK_SECONDS = 5.0  # a partition's unacked head this long outside a rebalance is read again

_applied = False


def apply_workarounds() -> None:
    """Apply every workaround (idempotent)."""
    global _applied
    if _applied:
        return
    _tolerate_revoked_highwater()
    _no_commit_between_subscription_and_assignment()
    _ignore_duplicate_replies()
    _subscribe_reply_topic_once()
    _never_commit_skipped_messages()
    _rewind_partitions_without_commits()
    _commit_only_from_the_head()
    _configurable_fetch_wait()
    _no_full_collection_per_table_on_revoke()
    leave_groups_of_generation_zero()
    _applied = True


def _tolerate_revoked_highwater() -> None:
    # Consumer.getmany asks for the highwater of each fetched record's partition, only to report
    # lag. When a rebalance revokes that partition in between, aiokafka asserts "Partition is not
    # assigned", the Fetcher service crashes and the whole worker stops (seen when a second
    # worker joins). A revoked partition has no highwater to report: answer -1 instead.
    original = AIOKafkaConsumerThread.highwater

    def highwater(self: Any, tp: Any) -> int | None:
        try:
            value = original(self, tp)
        except AssertionError:
            return -1
        # None until the partition's first fetch answers (aiokafka's "unknown"); every caller
        # reads None as "no end known yet". int(None) raised TypeError in a timer right after
        # an assignment, and a failing timer stops the whole worker (test_scaleout, CI).
        return None if value is None else int(value)

    AIOKafkaConsumerThread.highwater = highwater  # type: ignore[method-assign]


def _no_commit_between_subscription_and_assignment() -> None:
    # A new dataset topic changes the subscription; aiokafka then holds no assignment until the
    # group has rebalanced, and a commit in between raises IllegalStateError("No partitions
    # assigned"), which Faust's _commit answers by crashing the worker (CI: a worker stopped
    # while a second worker joined a new topic). Nothing is ours to commit then: answer "not
    # committed", as Faust does for a commit that lost a rebalance. The acked offsets are read
    # again from the committed one (_on_unacked_head, or the next assignment's seek).
    original = AIOKafkaConsumerThread._commit

    async def _commit(self: Any, offsets: Any) -> bool:
        if not has_assignment(self._ensure_consumer()):
            return False
        return bool(await original(self, offsets))

    AIOKafkaConsumerThread._commit = _commit  # type: ignore[method-assign]


def has_assignment(consumer: Any) -> bool:
    """Whether the aiokafka consumer holds an assignment it could commit for."""
    subscription = consumer._subscription.subscription  # noqa: SLF001 (no public reader)
    return subscription is not None and subscription.assignment is not None


def _ignore_duplicate_replies() -> None:
    # At-least-once delivery replays a command after a rebalance or crash, and the agent then
    # replies twice. The second reply's ReplyPromise.fulfill() sets the result of a finished
    # future: InvalidStateError crashes the ReplyConsumer and stops the worker. The first reply
    # has been delivered; a duplicate has nothing left to do.
    original = ReplyPromise.fulfill

    def fulfill(self: Any, correlation_id: str, value: Any) -> None:
        if self.done():
            return
        original(self, correlation_id, value)

    ReplyPromise.fulfill = fulfill  # type: ignore[method-assign]


def _subscribe_reply_topic_once() -> None:
    # ReplyConsumer._start_fetcher adds the reply topic to app.topics and then iterates it, and
    # iterating a topic subscribes a clone of it as well: every reply is delivered to two
    # channels, one of which nobody reads. That reply is never acknowledged, so the next
    # rebalance waits for it forever in Consumer.wait_empty (the worker never rejoins and the
    # group is stuck: seen as soon as a worker joins after a registry command), and after
    # stream_buffer_maxsize replies the unread channel's queue is full and blocks every topic.
    # Subscribe only through the iterator. (Faust also sleeps 3 s here, for no reason we need.)
    async def _start_fetcher(self: Any, topic_name: str) -> None:
        if topic_name not in self._fetchers:
            self._fetchers[topic_name] = None  # the key is the lock: start one fetcher only
            topic = self._reply_topic(topic_name)
            await topic.maybe_declare()
            self._fetchers[topic_name] = self.add_future(self._drain_replies(topic))

    ReplyConsumer._start_fetcher = _start_fetcher  # type: ignore[method-assign]


def _never_commit_skipped_messages() -> None:
    # A stream that reads a message while flow control is suspended (a rebalance or a graceful
    # stop has begun) or from an older generation skips it unprocessed, and then acknowledges
    # it like a filtered one: its offset is committed and the partition's next owner starts
    # after it (read while chasing a row lost on a graceful stop; that loss had another cause
    # too, so the profiler also reads any hole in a partition's offsets from the broker, see
    # tables/partial.py). Such a message was never tracked (streams track a
    # message only once they process it), so an ack of an untracked message on an acking topic
    # is not recorded: the offset stays uncommitted and the message is delivered again.
    original = Consumer.ack

    def ack(self: Any, message: Any) -> bool:
        if not message.tracked and self.app.topics.acks_enabled_for(message.topic):
            return False
        last = acked_up_to(self)
        last[message.tp] = max(last.get(message.tp, -1), message.offset)
        return bool(original(self, message))

    Consumer.ack = ack  # type: ignore[method-assign]


def acked_up_to(consumer: Any) -> dict[Any, int]:
    """Return the highest offset a stream acked on each partition (read_idle_heads_again).

    Faust's own record of acks is emptied when a commit is computed, before the commit is done:
    between the two, a partition that was fully processed looks as if nothing was.
    """
    last: dict[Any, int] = consumer.__dict__.setdefault("_atlas_acked_up_to", {})
    return last


def _rewind_partitions_without_commits() -> None:
    # Faust pauses partitions during recovery only in its own bookkeeping: aiokafka's fetcher
    # goes on fetching every assigned partition, and what Faust's drain loop reads while flow
    # is suspended it drops (yet records as read). After recovery Faust seeks stream
    # partitions to their committed offsets, but aiokafka's seek_to_committed seeks only where
    # a commit exists. A partition with no commit yet (a dataset topic created while workers
    # run, say) kept its position after the dropped records, and they were never delivered:
    # a worker that took over partitions of a new topic in the rebalance the topic caused never
    # profiled them (about 1 run in 5 of the two-worker new-topic test on a loaded machine;
    # aiokafka's debug log showed the records fetched during recovery, then no seek).
    # Put such partitions where a group without commits starts by Faust's setting: the
    # earliest offset (with auto_offset_reset="latest" they stay where they are, skipping
    # what came during recovery as "latest" skips what came before). Either way the position
    # is where reading starts, so it stands in for the missing commit (committable_offset).
    # Changelog partitions are left alone: Faust never commits them and positions them itself.
    original = AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed(self: Any) -> Any:
        committed = await original(self)
        changelogs = self.app.tables.changelog_topics
        never = [tp for tp, offset in committed.items()
                 if offset is None and tp.topic not in changelogs]
        if never:
            rewind = self.app.conf.consumer_auto_offset_reset == "earliest"
            starts = await self.call_thread(_start_positions, self._ensure_consumer(), never,
                                            rewind)
            for tp, position in starts.items():
                self.consumer._committed_offset[TP(tp.topic, tp.partition)] = position
        return committed

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]


async def _start_positions(consumer: Any, partitions: list[Any], rewind: bool) -> dict[Any, int]:
    """Seek partitions still assigned to their earliest offset if ``rewind``; return positions."""
    assigned = consumer.assignment()
    still = [tp for tp in partitions if tp in assigned]  # revoked since: its new owner seeks
    try:
        if still and rewind:
            await consumer.seek_to_beginning(*still)
        return {tp: await consumer.position(tp) for tp in still}
    except IllegalStateError:  # revoked while seeking: the next assignment seeks again
        return {}


def _configurable_fetch_wait() -> None:
    # Faust creates its worker consumer with fetch_max_wait_ms=1500, with no setting to change
    # it. Kafka answers a fetch as soon as records arrive, so the wait costs nothing there; the
    # embedded broker holds every fetch for the full wait, so each hop through a topic took
    # 0-1.5 s (a registry write, three hops, took 0.85-1.5 s). The app says what it needs in
    # ``atlas_fetch_max_wait_ms`` (None: Faust's value); aiokafka reads the attribute at start.
    original = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        wait_ms = getattr(self.app, "atlas_fetch_max_wait_ms", None)
        if wait_ms is not None:
            consumer._fetch_max_wait_ms = int(wait_ms)  # noqa: SLF001 (no public setter)
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


def _no_full_collection_per_table_on_revoke() -> None:
    # Faust's RocksDB store ends revoke_partitions with gc.collect(), for every table on every
    # rebalance, even when the table lost no partition. With the worker's 18 tables that held
    # the event loop ~1 s per rebalance (measured: every HTTP request stalled from "Executing
    # _on_partitions_assigned" to "Highwater for active changelog partitions"). The databases
    # it closes are dropped from the store's dict and freed by reference counting; if one were
    # still held, opening it again retries on its lock (_try_open_db_for_partition).
    def revoke_partitions(self: Any, table: Any, tps: Any) -> None:
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                if self._dbs.pop(tp.partition, None) is not None:
                    self.logger.info(f"closing db {tp.topic} partition {tp.partition}")

    RocksDBStore.revoke_partitions = revoke_partitions  # type: ignore[method-assign]


def _commit_only_from_the_head() -> None:
    # Faust commits the end of the first run of acked offsets, and checks that the run starts
    # at the committed offset only when that offset is truthy and then with an off-by-one
    # (it lets one missing offset through: the committed offset is the next one to read). A
    # message a stream skipped unprocessed (flow control suspended, an older generation; see
    # _never_commit_skipped_messages) is never acked, yet the acks after it committed it away,
    # and with no rebalance after the skip it was never delivered again: a new dataset's first
    # profile-view message was lost so, and that partition's rows were missing from every
    # worker's answer (two-worker new-topic test, aiokafka debug log). Here nothing is
    # committed past an offset that was not acked; _on_unacked_head reads such a head again.
    Consumer._new_offset = committable_offset  # type: ignore[method-assign]


def committable_offset(self: Any, tp: Any) -> int | None:
    """Return the offset to commit for ``tp``: the end of the acked run from its start."""
    acked = self._acked[tp]
    if not acked:
        return None
    _fill_known_gaps(self._gap[tp], acked)
    start = self._committed_offset[tp]  # the next offset to read, or None before the first seek
    # A set, in order, from the next offset to commit. An offset in the list twice (a gap Faust
    # records includes the offset of the message that showed it, and that message is acked
    # too) ends the consecutive run at the repeat, and a repeat left after a commit stays in
    # the list while its index entry goes, so a replay acks it once more: every offset twice,
    # and the commit crept one offset per commit cycle, 1,447 behind for 30 s after a worker
    # was killed (test_scaleout, CI; the creep seen in the worker's own state). An offset below
    # ``start`` is committed already: a run from it would commit backwards.
    acked[:] = sorted({offset for offset in acked if start is None or offset >= start})
    index = self._acked_index[tp]
    index.intersection_update(acked)
    if not acked:
        return None
    if start is not None and acked[0] > start:
        _on_unacked_head(self, tp, start, acked[0])
        return None
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    index.difference_update(batch)
    return int(batch[-1]) + 1


def _fill_known_gaps(gaps: Any, acked: list[int]) -> None:
    """Count offsets the log is known to lack (Faust's gap tree) as acked, as Faust does."""
    if not gaps:
        return
    highest = max(acked)
    ranges = sorted(gaps.overlap(0, highest), key=lambda interval: interval.begin)
    if ranges:
        filled = [offset for interval in ranges for offset in range(interval.begin, interval.end)]
        acked.extend(filled)
        gaps.chop(0, max(filled[-1], highest + 1))


def _on_unacked_head(self: Any, tp: Any, start: int, head: int) -> None:
    """Read a partition again from ``start`` once its head has stayed unacked for a while.

    Offsets ``start..head-1`` were never acked although later ones were: a stream skipped them
    unprocessed and, with no rebalance to seek back, they would never come again. After
    ``STUCK_SECONDS`` outside a rebalance the partition is read again from ``start`` (agents
    are idempotent: replays are what at-least-once delivery gives them anyway). If the head is
    still missing ``STUCK_SECONDS`` after that, the log holds no message there (deleted by
    retention, transaction markers): the range is recorded as a gap and committed past.
    """
    stuck: dict[Any, list[Any]] = self.__dict__.setdefault("_atlas_stuck", {})
    now = time.monotonic()
    seen = stuck.get(tp)
    if seen is None or seen[0] != start:
        stuck[tp] = [start, now, False]  # head offset, since when, read again already
        return
    if now - seen[1] < STUCK_SECONDS or self.app.rebalancing:
        return
    if not seen[2]:
        log.warning(
            "%s[%d]: offsets %d..%d were never processed, yet later ones were (Faust skipped "
            "them); reading from %d again", tp.topic, tp.partition, start, head - 1, start,
        )
        seen[1:] = [now, True]
        asyncio.ensure_future(self.seek(tp, start))
    else:
        log.warning(
            "%s[%d]: offsets %d..%d were read again and hold no message; committing past them",
            tp.topic, tp.partition, start, head - 1,
        )
        self._gap[tp].addi(start, head)  # the interval excludes its end
        del stuck[tp]


IDLE_HEAD_INTERVAL = 2.0  # s between checks of the partitions' heads
IDLE_HEAD_CHECKS = 3  # quiet checks before a partition is read again, by default


def read_idle_heads_again(
    app: Any, checks_for: Callable[[Any], int | None], name: str = "atlas-idle-heads"
) -> None:
    """Register a timer that reads again a partition whose last messages were skipped.

    A message a stream reads while flow control is suspended (recovery after an assignment)
    is skipped unprocessed and never acked (_never_commit_skipped_messages); _on_unacked_head
    reads it again once later messages are acked. When the skipped messages were the
    partition's last, nothing did until another message came: after a worker was killed, its
    successor kept two dataset partitions' commits 500-1,000 messages behind their end for
    minutes (every row was counted: the killed worker had published them). Only the profiler
    uses it, for its dataset topics: on the internal topics (commands, their replies) a run of
    the suite saw commits lag behind processing and the reader replay the user agent's commands
    and replies every 6 s while writes waited (test_defenses.py, CI).
    A partition whose committed offset stays below its end, whose last message was handed to
    (or skipped by) a stream, and whose last messages are neither in flight nor acked, for
    ``checks_for(tp)`` checks in a row outside a rebalance is read from that offset again.
    (Without the first and last conditions, a busy worker's view topic, its messages still queued
    behind a dataset's, was read again every 6 s: the first profile of a 300,000-message backlog
    came at the end, 41-46 s after the worker was ready, instead of after 9 s.) The reread is safe
    (agents tolerate replays: at-least-once delivery gives them anyway). ``checks_for`` returns
    None for partitions this timer leaves alone; changelogs and topics without acks are Faust's.
    """
    idle: dict[Any, tuple[int, int]] = {}  # partition -> (committed, checks unchanged)

    @app.timer(IDLE_HEAD_INTERVAL, name=name)
    async def reread_idle_heads() -> None:
        consumer = app.consumer
        acked = acked_up_to(consumer)
        if app.rebalancing:
            idle.clear()
            acked.clear()  # a partition may come back at an older commit: its acks start again
            return
        changelogs = app.tables.changelog_topics
        in_flight = {message.tp for message in list(consumer._unacked_messages)}  # noqa: SLF001
        for tp in consumer.assignment():
            if tp.topic in changelogs or not app.topics.acks_enabled_for(tp.topic):
                continue
            quiet = checks_for(tp)
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001 (no public reader)
            end = consumer.highwater(tp)
            read = consumer._read_offset.get(tp)  # noqa: SLF001 (handed to a stream, or skipped)
            if (quiet is None or committed is None or end is None or end <= committed
                    or read is None or read < end - 1 or tp in in_flight
                    or acked.get(tp, -1) >= end - 1):
                idle.pop(tp, None)
                continue
            last, checks = idle.get(tp, (committed, 0))
            checks = checks + 1 if last == committed else 1
            idle[tp] = (committed, checks)
            if checks % quiet == 0:
                log.warning("%s[%d]: committed at %d of %d with nothing in flight for %.0f s; "
                            "reading from %d again", tp.topic, tp.partition, committed, end,
                            checks * IDLE_HEAD_INTERVAL, committed)
                try:
                    await consumer.seek(tp, committed)
                except (KafkaError, AssertionError, IllegalStateError) as exc:  # revoked since
                    log.warning("could not seek %s[%d]: %r", tp.topic, tp.partition, exc)
