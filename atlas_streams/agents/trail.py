"""One worker's part of the audit trail: record decisions at once, ship them, read the chain back.

A request's decision is written to the worker's :class:`~atlas_streams.tables.outbox.Outbox`
before its response is sent (``record``: a local RocksDB write, no Kafka on the request path).
:class:`OutboxShipper` seals each record with the signing key and sends it, in order, to the raw
decisions topic, whose one consumer chains them (``agents/access.py``); records are forgotten
only once Kafka acknowledged them. :class:`AuditReader` reads this deployment's chain back from
``atlas.audit`` into the worker's :class:`~atlas_streams.tables.audit_index.AuditIndex`, which
checks every link as it stores it and answers the access-log queries.

Both services use their own Kafka clients, not Faust's: Faust's producer is busy (or stalled)
while the group rebalances, and neither service needs the group.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from mode import Service

from atlas_streams import topics
from atlas_streams.connectors.security import client_options
from atlas_streams.rbac import ChainHead, LogQuery, seal
from atlas_streams.settings import Secrets, Settings
from atlas_streams.tables.audit_index import AuditIndex
from atlas_streams.tables.outbox import Outbox

__all__ = ["AuditReader", "AuditTrail", "OutboxShipper", "decision_purpose"]

log = logging.getLogger(__name__)

SHIP_BATCH = 500  # records sent per round
STOP_FLUSH_SECONDS = 3.0  # a stopping worker tries this long to send what it holds
RETRY_SECONDS = 1.0  # after a failed send or an unreachable broker
EXPIRE_INTERVAL = 600.0  # s between retention passes over the queryable copy
CLIENT_STOP_SECONDS = 2.0


def decision_purpose(app_id: str) -> str:
    """Return what a raw decision's seal is bound to: its topic."""
    return f"topic:{topics.internal(app_id, topics.AUDIT_DECISIONS)}"


class AuditTrail:
    """The worker's outbox and queryable chain, and the two services that move between them."""

    def __init__(self, settings: Settings, secrets: Secrets, fetch_wait_ms: int) -> None:
        self.settings = settings
        self.secrets = secrets
        self.outbox = Outbox(settings.data_dir / "outbox")
        self.index = AuditIndex(
            settings.data_dir / "audit-index", secrets.audit, settings.app_id,
            timedelta(days=settings.audit_retention_days),
        )
        self.shipper = OutboxShipper(self)
        self.reader = AuditReader(self, fetch_wait_ms)

    def record(self, event: dict[str, Any]) -> int:
        """Make one decision durable on this worker and have it shipped; return its number."""
        origin = self.outbox.origin
        seq = self.outbox.append(
            lambda n: orjson.dumps({**event, "origin": origin, "origin_seq": n})
        )
        self.shipper.wake()
        return seq

    def query(self, query: LogQuery) -> list[dict[str, Any]]:
        """Return the chained decisions matching ``query``, newest first."""
        return self.index.query(query)

    def close(self) -> None:
        """Close both databases."""
        self.outbox.close()
        self.index.close()


class OutboxShipper(Service):
    """Send the outbox's records, sealed and in order, to the raw decisions topic."""

    def __init__(self, trail: AuditTrail, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trail = trail
        self.topic = topics.internal(trail.settings.app_id, topics.AUDIT_DECISIONS)
        self.purpose = decision_purpose(trail.settings.app_id)
        self._producer: AIOKafkaProducer | None = None
        self._ready = asyncio.Event()

    def wake(self) -> None:
        """Ship soon: a record was added."""
        self._ready.set()

    async def _connect(self) -> AIOKafkaProducer:
        settings = self.trail.settings
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, client_id="atlas-audit-shipper",
            acks="all", linger_ms=5, **client_options(settings.kafka_security),
        )
        await producer.start()
        return producer

    async def ship_once(self) -> int:
        """Send one round of pending records and wait for Kafka; return how many were sent."""
        batch = self.trail.outbox.pending(SHIP_BATCH)
        if not batch:
            return 0
        if self._producer is None:
            self._producer = await self._connect()
        keyring = self.trail.secrets.signing
        sent = [await self._producer.send(self.topic, seal(keyring, self.purpose, value))
                for _, value in batch]
        await asyncio.gather(*sent)  # one partition, sent in order: acked in order
        self.trail.outbox.ack(batch[-1][0])
        return len(batch)

    @Service.task
    async def _ship(self) -> None:
        while not self.should_stop:
            try:
                if await self.ship_once():
                    continue
            except (KafkaError, OSError) as exc:
                log.warning("audit shipper: %s; %d decisions wait on this worker, retrying",
                            exc, len(self.trail.outbox))
                await self.sleep(RETRY_SECONDS)
                continue
            self._ready.clear()
            await self.wait_first(self._ready.wait(), timeout=1.0)

    async def on_stop(self) -> None:
        """Try briefly to send what is left (it stays on disk either way), then disconnect."""
        try:
            await asyncio.wait_for(self._drain(), STOP_FLUSH_SECONDS)
        except (TimeoutError, KafkaError, OSError):
            left = len(self.trail.outbox)
            if left:
                log.warning("audit shipper: %d decisions stay on this worker; they are sent "
                            "when it starts again", left)
        producer, self._producer = self._producer, None
        await _stop_client(producer)

    async def _drain(self) -> None:
        while await self.ship_once():
            pass


class AuditReader(Service):
    """Read this deployment's chain from ``atlas.audit`` into the worker's index."""

    def __init__(self, trail: AuditTrail, fetch_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trail = trail
        self.fetch_wait_ms = fetch_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._caught_up = asyncio.Event()

    async def _connect(self) -> tuple[AIOKafkaConsumer, list[TopicPartition]] | None:
        settings = self.trail.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, client_id="atlas-audit-reader",
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_wait_ms, **client_options(settings.kafka_security),
        )
        await consumer.start()
        partitions = await consumer._client.fetch_all_metadata()  # noqa: SLF001 (fresh list)
        numbers = partitions.partitions_for_topic(topics.AUDIT)
        if not numbers:
            await consumer.stop()
            return None  # no decision chained yet: the topic does not exist
        tps = [TopicPartition(topics.AUDIT, p) for p in sorted(numbers)]
        consumer.assign(tps)
        positions = self.trail.index.positions()
        for tp in tps:
            if tp.partition in positions:
                consumer.seek(tp, positions[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        return consumer, tps

    @Service.task
    async def _read(self) -> None:
        while not self.should_stop:
            try:
                if self._consumer is None:
                    connected = await self._connect()
                    if connected is None:
                        await self.sleep(RETRY_SECONDS)
                        continue
                    self._consumer = connected[0]
                batch = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            except (KafkaError, OSError) as exc:
                log.warning("audit reader: %s; retrying", exc)
                await self._disconnect()
                await self.sleep(RETRY_SECONDS)
                continue
            for tp, records in batch.items():
                self.trail.index.ingest(tp.partition, [(r.offset, r.value) for r in records])
            if not batch:
                self._caught_up.set()

    @Service.timer(EXPIRE_INTERVAL)
    async def _expire(self) -> None:
        self.trail.index.expire(datetime.now(UTC))

    async def caught_up(self, head: ChainHead, timeout: float) -> bool:
        """Wait until the index holds the chain up to the writer's ``head`` (or ``timeout``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.trail.index.check.seq < head.seq and self.trail.index.check.broken is None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            self._caught_up.clear()
            try:
                await asyncio.wait_for(self._caught_up.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass
        return True

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        await _stop_client(consumer)

    async def on_stop(self) -> None:
        """Stop reading."""
        await self._disconnect()


async def _stop_client(client: AIOKafkaProducer | AIOKafkaConsumer | None) -> None:
    """Stop a Kafka client, giving up after 2 s (its broker may be gone: a stop must not hang)."""
    if client is None:
        return
    try:
        await asyncio.wait_for(client.stop(), CLIENT_STOP_SECONDS)
    except (TimeoutError, KafkaError, OSError):
        pass
