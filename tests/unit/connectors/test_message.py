"""A consumed message reads both as attributes and, as the seed documents, as a mapping."""

from __future__ import annotations

import pytest

from atlas_streams.connectors import KafkaConsumerConnector  # noqa: F401 (the public import)
from atlas_streams.connectors.kafka import ConsumedMessage, MessageBatch


def test_message_reads_as_a_mapping_and_by_attribute() -> None:
    message = ConsumedMessage("events", 2, 41, b"k", {"user_id": 123}, 1_700_000_000_000)
    assert message["topic"] == message.topic == "events"
    assert message["value"] == message.value == {"user_id": 123}
    assert dict(message) == {"topic": "events", "partition": 2, "offset": 41, "key": b"k",
                             "value": {"user_id": 123}, "timestamp": 1_700_000_000_000}
    assert message.get("partition") == 2 and "offset" in message and len(message) == 6


def test_unknown_field_names_the_fields_there_are() -> None:
    message = ConsumedMessage("events", 0, 0, None, None, 0)
    with pytest.raises(KeyError, match="topic, partition, offset, key, value, timestamp"):
        message["headers"]
    assert message.get("headers") is None


def test_a_batch_iterates_its_messages() -> None:
    messages = [ConsumedMessage("t", 0, n, None, {"n": n}, 0) for n in range(3)]
    batch = MessageBatch(messages)
    assert [msg["value"]["n"] for msg in batch] == [0, 1, 2] and len(batch) == 3
