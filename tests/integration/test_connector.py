"""The Kafka connectors against the real embedded broker: batches, commits, encodings."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from atlas_streams.broker import EmbeddedBroker
from atlas_streams.connectors import (
    ConnectorUnreachable,
    KafkaConsumerConnector,
    KafkaProducerConnector,
)
from atlas_streams.producer import ensure_topic
from atlas_streams.settings import Settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def consumer_config(
    broker: EmbeddedBroker, topic: str, group: str, **params: Any
) -> dict[str, Any]:
    return {
        "source_type": "kafka", "source_name": "test",
        "additional_params": {
            "bootstrap_servers": f"{broker.host}:{broker.port}", "topics": [topic],
            "group_id": group, "auto_offset_reset": "earliest", "batch_timeout_ms": 1500,
            **params,
        },
    }


async def read_all(config: dict[str, Any], want: int, rounds: int = 20) -> list[Any]:
    async with KafkaConsumerConnector(config) as consumer:
        got: list[Any] = []
        for _ in range(rounds):
            got.extend((await consumer.get_data()).messages)
            if len(got) >= want:
                break
        return got


async def test_send_then_read_in_batches_committing_each(broker: EmbeddedBroker) -> None:
    topic, group = f"conn.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await ensure_topic(Settings(broker=broker.url), topic, partitions=1)
    async with KafkaProducerConnector(f"{broker.host}:{broker.port}") as producer:
        delivered = [await producer.send(topic, {"n": n}, key=f"k{n}") for n in range(25)]
        await producer.send(topic, "plain text")
        await producer.send(topic, b"\xff\x00")
    assert [d.offset for d in delivered] == list(range(25))

    config = consumer_config(broker, topic, group, batch_size=10)
    with pytest.raises(RuntimeError):
        async with KafkaConsumerConnector(config) as consumer:
            first = await consumer.get_data()
            assert [m.value for m in first.messages] == [{"n": n} for n in range(10)]
            assert first.messages[0].key == b"k0" and first.messages[0].timestamp > 0
            second = await consumer.get_data()  # commits the first batch
            assert [m.offset for m in second.messages] == list(range(10, 20))
            # Leaving with an error: the second batch stays uncommitted.
            raise RuntimeError("the caller failed while handling the batch")

    again = await read_all(config, want=15)  # same group: resumes after the first batch
    assert [m.offset for m in again] == list(range(10, 25))  # the last two are not JSON
    tail = await read_all(consumer_config(broker, topic, f"{group}-s", deserializer="string"), 26)
    assert [m.value for m in tail][-2:] == ['{"n":24}', "plain text"]
    assert len(tail) == 26  # b"\xff\x00" is not UTF-8: rejected, not lost
    raw = await read_all(consumer_config(broker, topic, f"{group}-b", deserializer="bytes"), 27)
    assert raw[-1].value == b"\xff\x00"


async def test_rejected_messages_are_reported(broker: EmbeddedBroker) -> None:
    topic = f"conn.{uuid.uuid4().hex[:8]}"
    await ensure_topic(Settings(broker=broker.url), topic, partitions=1)
    async with KafkaProducerConnector(f"{broker.host}:{broker.port}") as producer:
        await producer.send_many(topic, [{"ok": 1}, "not json", {"ok": 2}])
    async with KafkaConsumerConnector(consumer_config(broker, topic, uuid.uuid4().hex)) as c:
        batch = await c.get_data()
        for _ in range(10):
            if len(batch.messages) + len(batch.rejected) >= 3:
                break
            more = await c.get_data()
            batch = type(batch)(batch.messages + more.messages, batch.rejected + more.rejected)
    assert [m.value for m in batch.messages] == [{"ok": 1}, {"ok": 2}]
    assert len(batch.rejected) == 1 and batch.rejected[0].reason.startswith("not json")


async def test_unreachable_broker_is_one_clear_error() -> None:
    from atlas_streams.broker import free_port

    producer = KafkaProducerConnector(f"127.0.0.1:{free_port()}")
    with pytest.raises(ConnectorUnreachable, match="cannot connect to Kafka at 127.0.0.1:"):
        await asyncio.wait_for(producer.start(), 60)


def test_example_runs(broker: EmbeddedBroker) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "kafka_connector.py"), "--bootstrap-servers",
         f"{broker.host}:{broker.port}", "--topic", f"example.{uuid.uuid4().hex[:8]}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "read 5 of 5 messages" in result.stdout
