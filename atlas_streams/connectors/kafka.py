"""Read batches from and write messages to any Kafka cluster, with aiokafka and orjson.

    async with KafkaConsumerConnector(config) as consumer:
        batch = await consumer.get_data()        # up to batch_size within batch_timeout_ms
        for msg in batch: print(msg["topic"], msg.value)  # a mapping, and attributes

    async with KafkaProducerConnector("localhost:9092") as producer:
        await producer.send("orders", {"id": 1}, key="1")

Delivery is at least once. Offsets are never committed automatically: :meth:`get_data` first
commits the batch it returned last time (the caller asking for more means it is done with it),
:meth:`KafkaConsumerConnector.commit` commits it now, and leaving the ``async with`` block
normally commits it too. After a crash or an exception in the block, the last batch is read
again by whichever consumer of the group takes its partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError, KafkaError

from atlas_streams.connectors.config import (
    ConsumerOptions,
    KafkaSecurity,
    parse_bootstrap_servers,
    parse_consumer_config,
    parse_security,
)
from atlas_streams.connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnreachable,
)
from atlas_streams.connectors.security import client_options
from atlas_streams.kafka_compat import leave_groups_of_generation_zero

__all__ = [
    "ConsumedMessage",
    "Delivery",
    "KafkaConsumerConnector",
    "KafkaProducerConnector",
    "MessageBatch",
    "RejectedMessage",
    "encode_value",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumedMessage(Mapping[str, Any]):
    """One message: its position, raw key, decoded value and timestamp (ms since the epoch).

    Read it by attribute (``msg.value``) or, as the platform we replace documents, as a
    mapping (``msg['topic']``, ``msg['value']``, ``dict(msg)``) with the same six keys.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: Any
    timestamp: int

    def __getitem__(self, name: str) -> Any:
        if name not in MESSAGE_FIELDS:
            raise KeyError(f"{name!r}: a message has {', '.join(MESSAGE_FIELDS)}")
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(MESSAGE_FIELDS)

    def __len__(self) -> int:
        return len(MESSAGE_FIELDS)


MESSAGE_FIELDS = ("topic", "partition", "offset", "key", "value", "timestamp")


@dataclass(frozen=True)
class RejectedMessage:
    """A message the deserializer could not decode, with the reason; it is committed too."""

    topic: str
    partition: int
    offset: int
    reason: str


@dataclass(frozen=True)
class MessageBatch:
    """The messages of one :meth:`KafkaConsumerConnector.get_data` call, in partition order."""

    messages: list[ConsumedMessage]
    rejected: list[RejectedMessage] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[ConsumedMessage]:
        return iter(self.messages)


@dataclass(frozen=True)
class Delivery:
    """Where the broker stored a sent message."""

    topic: str
    partition: int
    offset: int


def _decode(deserializer: str, value: bytes | None) -> Any:
    if value is None or deserializer == "bytes":
        return value
    if deserializer == "string":
        return value.decode("utf-8")
    return orjson.loads(value)


def encode_value(value: Any) -> bytes | None:
    """Return the bytes of a message value: dict/list as JSON, str as UTF-8, bytes as they are."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    raise TypeError(f"cannot send a {type(value).__name__}: use a dict, list, str or bytes")


class KafkaConsumerConnector:
    """Consume batches from the topics of a connector configuration, in a consumer group."""

    def __init__(self, config: Mapping[str, Any] | ConsumerOptions) -> None:
        self.options = config if isinstance(config, ConsumerOptions) else (
            parse_consumer_config(config)
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._pending: dict[TopicPartition, int] = {}  # next offset to commit, per partition

    def __repr__(self) -> str:
        opts = self.options
        return (
            f"KafkaConsumerConnector(source_name={opts.source_name!r}, topics={opts.topics!r}, "
            f"group_id={opts.group_id!r}, bootstrap_servers={opts.bootstrap_servers!r}, "
            f"security_protocol={opts.security.protocol!r})"
        )

    async def start(self) -> None:
        """Connect and join the consumer group."""
        if self._consumer is not None:
            raise ConnectorError("the consumer is already started")
        opts = self.options
        leave_groups_of_generation_zero()  # so a stop leaves the group on every broker
        consumer = AIOKafkaConsumer(
            *opts.topics, bootstrap_servers=opts.bootstrap_servers, group_id=opts.group_id,
            client_id=f"atlas-connector-{opts.source_name}", enable_auto_commit=False,
            auto_offset_reset=opts.auto_offset_reset, max_poll_records=opts.batch_size,
            **client_options(opts.security),
        )
        try:
            await consumer.start()
        except KafkaError as exc:
            await consumer.stop()
            raise ConnectorUnreachable(
                f"cannot connect to Kafka at {','.join(opts.bootstrap_servers)} "
                f"({opts.security.protocol}): {exc}"
            ) from None
        self._consumer = consumer

    async def get_data(self) -> MessageBatch:
        """Commit the previous batch, then return up to ``batch_size`` messages.

        Waits at most ``batch_timeout_ms`` to fill the batch; the batch may be empty.
        """
        consumer = self._require_started()
        await self.commit()
        opts = self.options
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + opts.batch_timeout_ms / 1000
        while len(records) < opts.batch_size:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            fetched = await consumer.getmany(
                timeout_ms=left_ms, max_records=opts.batch_size - len(records)
            )
            for partition_records in fetched.values():
                records.extend(partition_records)
            if left_ms == 0:
                break
        return self._batch_of(records)

    def _batch_of(self, records: list[ConsumerRecord[bytes, bytes]]) -> MessageBatch:
        messages: list[ConsumedMessage] = []
        rejected: list[RejectedMessage] = []
        for record in records:
            self._pending[TopicPartition(record.topic, record.partition)] = record.offset + 1
            try:
                value = _decode(self.options.deserializer, record.value)
            except (ValueError, UnicodeDecodeError) as exc:
                reason = f"not {self.options.deserializer}: {exc}"
                rejected.append(RejectedMessage(record.topic, record.partition, record.offset,
                                                reason))
                continue
            messages.append(ConsumedMessage(
                record.topic, record.partition, record.offset, record.key, value,
                record.timestamp,
            ))
        return MessageBatch(messages, rejected)

    async def commit(self) -> None:
        """Commit the offsets of every message returned so far."""
        consumer = self._require_started()
        if not self._pending:
            return
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in self._pending.items() if tp in assigned}
        self._pending = {}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group rebalanced: another member now owns these partitions and reads the
            # uncommitted messages again (at least once).
            log.warning("could not commit offsets after a rebalance: %s", exc)

    async def stop(self, commit: bool = True) -> None:
        """Commit the last batch (unless ``commit`` is False) and leave the group."""
        if self._consumer is None:
            return
        try:
            if commit:
                await self.commit()
        finally:
            await self._consumer.stop()
            self._consumer = None

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise ConnectorError("the consumer is not started: use `async with` or await start()")
        return self._consumer

    async def __aenter__(self) -> KafkaConsumerConnector:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(commit=exc_type is None)


class KafkaProducerConnector:
    """Send messages to Kafka and wait for each acknowledgement.

    ``params`` takes the security keys of a consumer configuration (``security_protocol``,
    ``sasl_*``, ``ssl_*``) and ``linger_ms``.
    """

    def __init__(self, bootstrap_servers: str | list[str], **params: Any) -> None:
        linger_ms = params.pop("linger_ms", 5)
        for key in params:
            if key not in ("security_protocol", "sasl_mechanism", "sasl_username",
                           "sasl_password", "ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                raise ConnectorConfigError(key, "unknown producer setting")
        if isinstance(linger_ms, bool) or not isinstance(linger_ms, int) or linger_ms < 0:
            raise ConnectorConfigError("linger_ms", "expected an integer of 0 or more")
        self.bootstrap_servers = parse_bootstrap_servers(bootstrap_servers)
        self.security: KafkaSecurity = parse_security(params)
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None

    def __repr__(self) -> str:
        return (
            f"KafkaProducerConnector(bootstrap_servers={self.bootstrap_servers!r}, "
            f"security_protocol={self.security.protocol!r})"
        )

    async def start(self) -> None:
        """Connect to the cluster."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=self.linger_ms,
            **client_options(self.security),
        )
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise ConnectorUnreachable(
                f"cannot connect to Kafka at {','.join(self.bootstrap_servers)} "
                f"({self.security.protocol}): {exc}"
            ) from None
        self._producer = producer

    async def send(
        self, topic: str, value: Any, key: str | bytes | None = None,
        partition: int | None = None,
    ) -> Delivery:
        """Send one message and wait until the broker has it; return where it was stored."""
        if self._producer is None:
            raise ConnectorError("the producer is not started: use `async with` or await start()")
        raw_key = key.encode("utf-8") if isinstance(key, str) else key
        try:
            meta = await self._producer.send_and_wait(
                topic, encode_value(value), key=raw_key, partition=partition
            )
        except KafkaConnectionError as exc:
            raise ConnectorUnreachable(f"lost the connection to Kafka: {exc}") from None
        return Delivery(meta.topic, meta.partition, meta.offset)

    async def send_many(self, topic: str, values: list[Any]) -> list[Delivery]:
        """Send several messages at once (batched by the client) and wait for them all."""
        if self._producer is None:
            raise ConnectorError("the producer is not started: use `async with` or await start()")
        futures = [await self._producer.send(topic, encode_value(v)) for v in values]
        metas = await asyncio.gather(*futures)
        return [Delivery(m.topic, m.partition, m.offset) for m in metas]

    async def stop(self) -> None:
        """Send what is buffered and disconnect."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> KafkaProducerConnector:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
