"""Read a range of one dataset partition straight from the broker, for the profiler.

The profiler applies a partition's messages in offset order without holes (see
``tables/partial.py``). When a batch skips offsets, Faust's consumer lost messages on the way
(a graceful stop or a rebalance acknowledged them unprocessed), and asking that consumer again
races with what it has buffered. A short-lived consumer of our own, outside the group, reads the
range instead: it commits nothing and disturbs no assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from atlas_streams.connectors.security import client_options
from atlas_streams.settings import Settings

__all__ = ["BackfillStalled", "Record", "read_range"]

READ_CHUNK_RECORDS = 2_000  # records handed to the caller at a time, at most
IDLE_TIMEOUT = 10.0  # s without a record before a read gives up


class BackfillStalled(RuntimeError):
    """The broker returned nothing for too long; the range was not read to its end."""


@dataclass(frozen=True, slots=True)
class Record:
    """One message as the profiler reads it, with Faust's units (timestamp in seconds)."""

    topic: str
    partition: int
    offset: int
    timestamp: float | None
    value: bytes | None


async def read_range(
    settings: Settings, topic: str, partition: int, start: int, end: int,
    idle_timeout: float = IDLE_TIMEOUT,
) -> AsyncGenerator[list[Record], None]:
    """Yield the messages of ``topic``/``partition`` with ``start <= offset < end``, in order.

    Offsets that hold no message (deleted by retention, transaction markers) are simply absent.

    Raises:
        BackfillStalled: no record came for ``idle_timeout`` seconds before ``end``.
        aiokafka.errors.KafkaError: the broker cannot be reached.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", client_id="atlas-backfill",
        max_partition_fetch_bytes=max(1 << 20, settings.max_message_bytes + (64 << 10)),
        **client_options(settings.kafka_security),
    )
    tp = TopicPartition(topic, partition)
    try:
        # Every wait on the broker is bounded: a backfill that hung once (all threads idle, no
        # error logged, 45-60 s; kill -9 restarts under load, 2 runs in 9) held the profiler's
        # agent, which awaits it, and no partition moved. Raised, the hole is found again and
        # read again (agents/profiler.py).
        async with asyncio.timeout(idle_timeout):
            await consumer.start()
        consumer.assign([tp])
        consumer.seek(tp, start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + idle_timeout
        while await _position(consumer, tp, idle_timeout) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=READ_CHUNK_RECORDS)
            records = [
                Record(topic, partition, r.offset,
                       r.timestamp / 1000.0 if r.timestamp is not None else None, r.value)
                for r in batch.get(tp, ()) if r.offset < end
            ]
            if records:
                deadline = loop.time() + idle_timeout
                yield records
            elif loop.time() > deadline:
                raise BackfillStalled(
                    f"{topic}[{partition}]: nothing read for {idle_timeout:g} s at offset "
                    f"{await consumer.position(tp)} of {start}..{end - 1}"
                )
    except TimeoutError:
        raise BackfillStalled(
            f"{topic}[{partition}]: the broker did not answer within {idle_timeout:g} s while "
            f"reading {start}..{end - 1}") from None
    finally:
        try:
            async with asyncio.timeout(idle_timeout):
                await consumer.stop()
        except TimeoutError:
            pass


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition, timeout: float) -> int:
    async with asyncio.timeout(timeout):
        return await consumer.position(tp)
