"""Workarounds for faust-streaming 0.15.3 bugs we measured; applied once by ``create_app``.

Each one is narrow, says what it fixes, and can be deleted when Faust fixes the bug.
"""

from __future__ import annotations

from typing import Any

from faust.agents.replies import ReplyConsumer, ReplyPromise
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

__all__ = ["apply_workarounds"]

_applied = False


def apply_workarounds() -> None:
    """Apply every workaround (idempotent)."""
    global _applied
    if _applied:
        return
    _tolerate_revoked_highwater()
    _ignore_duplicate_replies()
    _subscribe_reply_topic_once()
    _never_commit_skipped_messages()
    _applied = True


def _tolerate_revoked_highwater() -> None:
    # Consumer.getmany asks for the highwater of each fetched record's partition, only to report
    # lag. When a rebalance revokes that partition in between, aiokafka asserts "Partition is not
    # assigned", the Fetcher service crashes and the whole worker stops (seen when a second
    # worker joins). A revoked partition has no highwater to report: answer -1 instead.
    original = AIOKafkaConsumerThread.highwater

    def highwater(self: Any, tp: Any) -> int:
        try:
            return int(original(self, tp))
        except AssertionError:
            return -1

    AIOKafkaConsumerThread.highwater = highwater  # type: ignore[method-assign]


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
        return bool(original(self, message))

    Consumer.ack = ack  # type: ignore[method-assign]
