"""Send a few messages with the producer connector, then read them back in batches.

Run against any Kafka-compatible broker (start one with ``atlas-streams broker --port 9092``):

    python examples/kafka_connector.py --bootstrap-servers localhost:9092 --topic demo.orders

Prints one line per message read and exits 0 once every sent message came back.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from atlas_streams.connectors import KafkaConsumerConnector, KafkaProducerConnector


async def main(bootstrap_servers: str, topic: str, count: int) -> int:
    """Send ``count`` orders to ``topic``, read them back and return how many came back."""
    async with KafkaProducerConnector(bootstrap_servers) as producer:
        for number in range(count):
            order = {"order_id": number, "amount": 10.5 * number, "currency": "EUR"}
            await producer.send(topic, order, key=str(number))

    config = {
        "source_type": "kafka",
        "source_name": "orders-example",
        "additional_params": {
            "bootstrap_servers": bootstrap_servers,
            "topics": [topic],
            "group_id": f"orders-example-{uuid.uuid4().hex[:8]}",  # a fresh group: read all
            "auto_offset_reset": "earliest",
            "deserializer": "json",
            "batch_size": 100,
            "batch_timeout_ms": 1000,
        },
    }
    seen = 0
    async with KafkaConsumerConnector(config) as consumer:
        for _ in range(30):  # at most ~30 s
            batch = await consumer.get_data()  # commits the previous batch first
            for message in batch.messages:
                print(f"{message.topic}[{message.partition}]@{message.offset} "
                      f"key={message.key!r} value={message.value}")
            seen += len(batch.messages)
            if seen >= count:
                break
    return seen


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="localhost:9092")
    parser.add_argument("--topic", default="demo.orders")
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()
    received = asyncio.run(main(args.bootstrap_servers, args.topic, args.count))
    print(f"read {received} of {args.count} messages")
    raise SystemExit(0 if received >= args.count else 1)
