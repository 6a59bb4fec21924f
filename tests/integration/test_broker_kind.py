"""The embedded broker is told from a Kafka cluster, and only it gets the broker workarounds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atlas_streams.app import EMBEDDED_FETCH_WAIT_MS, create_app
from atlas_streams.broker import EmbeddedBroker, free_port
from atlas_streams.connectors.cluster import detect_broker_kind, resolve_broker_kind
from atlas_streams.settings import Settings


def test_the_embedded_broker_is_detected(broker: EmbeddedBroker) -> None:
    settings = Settings(broker=broker.url)

    kind = asyncio.run(detect_broker_kind(settings.bootstrap_servers, settings.kafka_security))

    assert kind == "embedded"
    assert resolve_broker_kind("auto", settings.bootstrap_servers, settings.kafka_security) == (
        "embedded"
    )


def test_a_named_kind_is_taken_without_asking_and_an_unreachable_broker_counts_as_embedded() -> None:
    settings = Settings(broker=f"kafka://127.0.0.1:{free_port()}")  # nothing listens there
    servers, security = settings.bootstrap_servers, settings.kafka_security

    assert resolve_broker_kind("kafka", servers, security) == "kafka"
    assert resolve_broker_kind("embedded", servers, security) == "embedded"
    assert resolve_broker_kind("auto", servers, security) == "embedded"


def test_only_the_embedded_broker_gets_its_workarounds(broker: EmbeddedBroker, tmp_path: Path) -> None:
    def settings(name: str) -> Settings:  # a data dir each: two apps cannot share one
        return Settings(broker=broker.url, data_dir=tmp_path / name, demo_keys=True)

    faust_default = create_app(settings("kafka"), broker_kind="kafka").app
    detected = create_app(settings("auto")).app  # auto: asks the broker

    assert detected.conf.producer_max_batch_size == 1
    assert detected.conf.recovery_consistency_check is False
    assert detected.atlas_fetch_max_wait_ms == EMBEDDED_FETCH_WAIT_MS
    assert faust_default.conf.producer_max_batch_size > 1
    assert faust_default.conf.recovery_consistency_check is True
    assert faust_default.atlas_fetch_max_wait_ms is None
