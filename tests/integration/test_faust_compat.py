"""The consumer workarounds of faust_compat against the real broker and a real aiokafka consumer.

Faust's consumer thread is stood in by a small object with the three things the workaround
uses (``app``, ``consumer``, ``call_thread``, ``_ensure_consumer``); everything it calls is real.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from atlas_streams.broker import EmbeddedBroker
from atlas_streams.faust_compat import apply_workarounds

RECORDS = 5
_names = itertools.count()


class _Thread:
    """Faust's consumer thread around a real aiokafka consumer, as the workaround sees it."""

    def __init__(self, consumer: AIOKafkaConsumer, changelogs: set[str], reset: str) -> None:
        self.app = SimpleNamespace(tables=SimpleNamespace(changelog_topics=changelogs),
                                   conf=SimpleNamespace(consumer_auto_offset_reset=reset))
        self._consumer = consumer
        self.consumer = SimpleNamespace(_committed_offset={})  # Faust's consumer

    def _ensure_consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    async def call_thread(self, fun: Callable[..., Any], *args: Any) -> Any:
        result = fun(*args)
        return await result if asyncio.iscoroutine(result) else result


async def _read_everything(broker: EmbeddedBroker, reset: str) -> tuple[
    AIOKafkaConsumer, TopicPartition, TopicPartition
]:
    """Return a consumer of a new group that has read every record of a stream and a changelog
    partition without committing (as Faust's drain loop reads records it then drops)."""
    name = f"compat-{next(_names)}-{broker.port}"
    stream, changelog = TopicPartition(name, 0), TopicPartition(f"{name}-changelog", 0)
    producer = AIOKafkaProducer(bootstrap_servers=f"{broker.host}:{broker.port}")
    await producer.start()
    try:
        for tp in (stream, changelog):
            for index in range(RECORDS):
                await producer.send_and_wait(tp.topic, b"%d" % index, partition=tp.partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=f"{broker.host}:{broker.port}", group_id=name,
                                enable_auto_commit=False, auto_offset_reset=reset)
    await consumer.start()
    consumer.assign([stream, changelog])
    await consumer.seek_to_beginning(stream, changelog)
    read = {stream: 0, changelog: 0}
    while min(read.values()) < RECORDS:
        for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
            read[tp] += len(records)
    return consumer, stream, changelog


def test_aiokafka_leaves_a_partition_without_commits_after_what_was_read(
    broker: EmbeddedBroker,
) -> None:
    # What the workaround is for; if this fails, aiokafka changed and the workaround may go.
    async def run() -> None:
        consumer, stream, _ = await _read_everything(broker, "earliest")
        try:
            assert (await consumer.seek_to_committed())[stream] is None
            assert await consumer.position(stream) == RECORDS
        finally:
            await consumer.stop()

    asyncio.run(run())


@pytest.mark.parametrize(("reset", "start"), [
    ("earliest", 0),  # every record is delivered again
    ("latest", RECORDS),  # left where it is, as "latest" skips what came before
])
def test_a_stream_partition_without_commits_starts_where_the_reset_policy_says(
    broker: EmbeddedBroker, reset: str, start: int,
) -> None:
    apply_workarounds()

    async def run() -> None:
        consumer, stream, changelog = await _read_everything(broker, reset)
        try:
            thread = _Thread(consumer, {changelog.topic}, reset)
            committed = await AIOKafkaConsumerThread.seek_to_committed(thread)
            assert committed == {stream: None, changelog: None}
            assert await consumer.position(stream) == start
            assert await consumer.position(changelog) == RECORDS  # Faust's own: untouched
            assert thread.consumer._committed_offset == {stream: start}  # where reading starts
        finally:
            await consumer.stop()

    asyncio.run(run())
