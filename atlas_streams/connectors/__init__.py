"""Connectors: read from and write to an existing Kafka cluster from plain Python (no Faust)."""

from atlas_streams.connectors.config import ConsumerOptions, KafkaSecurity, parse_consumer_config
from atlas_streams.connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    ConnectorUnreachable,
)
from atlas_streams.connectors.kafka import (
    ConsumedMessage,
    Delivery,
    KafkaConsumerConnector,
    KafkaProducerConnector,
    MessageBatch,
    RejectedMessage,
)

__all__ = [
    "ConnectorConfigError",
    "ConnectorError",
    "ConnectorUnreachable",
    "ConsumedMessage",
    "ConsumerOptions",
    "Delivery",
    "KafkaConsumerConnector",
    "KafkaProducerConnector",
    "KafkaSecurity",
    "MessageBatch",
    "RejectedMessage",
    "parse_consumer_config",
]
