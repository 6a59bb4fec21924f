"""Send the rows of a file to a dataset's topic, acknowledged, with a progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from tqdm import tqdm

from atlas_streams.connectors.security import client_options
from atlas_streams.settings import Settings
from atlas_streams.sources import count_rows, read_rows
from atlas_streams.topics import dataset_topic
from atlas_streams.wire import encode_rows

__all__ = ["BrokerUnreachable", "ensure_topic", "produce_file", "produce_values"]

IN_FLIGHT = 20_000  # messages sent but not yet acknowledged, at most


class BrokerUnreachable(ConnectionError):
    """No broker answered at the configured address."""


async def ensure_topic(settings: Settings, topic: str, partitions: int | None = None) -> None:
    """Create ``topic`` with the configured partition count unless it exists."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **client_options(settings.kafka_security)
    )
    try:
        await admin.start()
    except KafkaConnectionError:
        raise BrokerUnreachable(f"cannot reach the broker at {settings.broker}") from None
    try:
        if topic in set(await admin.list_topics()):
            return
        new = NewTopic(topic, partitions or settings.topic_partitions, replication_factor=1)
        await admin.create_topics([new])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def produce_values(
    settings: Settings, topic: str, values: Iterable[bytes], rows_per_value: int = 1,
    total_rows: int | None = None, progress: bool = True,
) -> int:
    """Send message values to ``topic``; return the number acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20,
        max_batch_size=1_048_576, max_request_size=8 * 1_048_576, acks="all",
        **client_options(settings.kafka_security),
    )
    try:
        await producer.start()
    except KafkaConnectionError:
        await producer.stop()
        raise BrokerUnreachable(f"cannot reach the broker at {settings.broker}") from None
    bar = tqdm(total=total_rows, unit="row", desc=topic, disable=not progress, unit_scale=True)
    pending: set[asyncio.Future[object]] = set()
    acked = 0
    try:
        for value in values:
            if len(pending) >= IN_FLIGHT:
                acked += await _drain(pending, bar, rows_per_value, until=IN_FLIGHT // 2)
            pending.add(await producer.send(topic, value))
        acked += await _drain(pending, bar, rows_per_value, until=0)
    finally:
        bar.close()
        await producer.stop()
    return acked


async def _drain(
    pending: set[asyncio.Future[object]], bar: tqdm, rows_per_value: int, until: int
) -> int:
    done_count = 0
    while len(pending) > until:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            pending.discard(future)
            future.result()  # raises the broker's error for a refused message
            done_count += 1
        bar.update(len(done) * rows_per_value)
    return done_count


async def produce_file(
    settings: Settings, path: Path, dataset: str, fmt: str, rows_per_message: int = 1,
    progress: bool = True,
) -> int:
    """Send every row of ``path`` to the dataset's topic; return the number of rows sent."""
    topic = dataset_topic(settings.dataset_prefix, dataset)
    await ensure_topic(settings, topic)
    total = count_rows(path, fmt)
    rows = 0

    def counted() -> Iterable[dict[str, object]]:
        nonlocal rows
        for row in read_rows(path, fmt):
            rows += 1
            yield row

    try:
        await produce_values(
            settings, topic, encode_rows(counted(), rows_per_message), rows_per_message,
            total_rows=total, progress=progress,
        )
    except KafkaError as exc:
        raise BrokerUnreachable(f"the broker refused a message: {exc}") from None
    return rows
