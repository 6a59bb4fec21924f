"""Unit tests of how the producer connector encodes values and refuses bad keys."""

from __future__ import annotations

import orjson
import pytest

from atlas_streams.connectors import ConnectorConfigError, KafkaProducerConnector
from atlas_streams.connectors.kafka import encode_value


def test_encode_value() -> None:
    assert orjson.loads(encode_value({"a": [1, 2]}) or b"") == {"a": [1, 2]}
    assert encode_value([1, "x"]) == b'[1,"x"]'
    assert encode_value("héllo") == "héllo".encode()
    assert encode_value(b"\x00\xff") == b"\x00\xff"
    assert encode_value(None) is None
    with pytest.raises(TypeError, match="cannot send a int"):
        encode_value(3)


def test_producer_checks_its_settings_and_hides_the_password() -> None:
    with pytest.raises(ConnectorConfigError, match="acks"):
        KafkaProducerConnector("localhost:9092", acks=1)
    producer = KafkaProducerConnector(
        ["localhost:9092"], security_protocol="SASL_SSL", sasl_username="u", sasl_password="pw-42"
    )
    assert "pw-42" not in repr(producer)
    assert "pw-42" not in repr(producer.security)
