"""Unit tests of connector configuration parsing: defaults, every check, secrets kept out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas_streams.connectors import ConnectorConfigError, parse_consumer_config
from atlas_streams.connectors.config import parse_bootstrap_servers, parse_security


def config(**params: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"bootstrap_servers": "localhost:9092", "topics": ["orders"]}
    params = {**base, **params}
    return {"source_type": "kafka", "source_name": "orders", "additional_params": params}


def test_defaults() -> None:
    opts = parse_consumer_config(config())

    assert opts.bootstrap_servers == ["localhost:9092"]
    assert opts.topics == ["orders"]
    assert opts.group_id == "orders"  # the source name
    assert (opts.deserializer, opts.auto_offset_reset) == ("json", "latest")
    assert (opts.batch_size, opts.batch_timeout_ms) == (500, 1000)
    assert opts.security.protocol == "PLAINTEXT"


def test_every_key_is_read() -> None:
    opts = parse_consumer_config(config(
        bootstrap_servers=["b1:9092", "kafka://b2:9093"], topics=["a", "b"], group_id="g",
        deserializer="string", auto_offset_reset="earliest", batch_size=10,
        batch_timeout_ms=0, security_protocol="sasl_ssl", sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u", sasl_password="p", ssl_cafile="/ca.pem",
    ))

    assert opts.bootstrap_servers == ["b1:9092", "b2:9093"]
    assert (opts.group_id, opts.deserializer) == ("g", "string")
    assert opts.auto_offset_reset == "earliest"
    assert (opts.batch_size, opts.batch_timeout_ms) == (10, 0)
    sec = opts.security
    assert (sec.protocol, sec.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert sec.sasl_username == "u"
    assert sec.sasl_password is not None and sec.sasl_password.get_secret_value() == "p"
    assert sec.uses_sasl and sec.uses_ssl


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"source_type": "kafka", "source_name": "x", "additional_params": {}, "extra": 1},
         "extra"),
        ({"source_type": "s3", "source_name": "x", "additional_params": {}}, "source_type"),
        ({"source_type": "kafka", "source_name": "", "additional_params": {}}, "source_name"),
        ({"source_type": "kafka", "source_name": "x", "additional_params": []},
         "additional_params"),
        (config(topic=["a"]), "additional_params.topic"),
        (config(topics=[]), "additional_params.topics"),
        (config(topics="orders"), "additional_params.topics"),
        (config(topics=["bad topic"]), "additional_params.topics"),
        (config(bootstrap_servers="localhost"), "additional_params.bootstrap_servers"),
        (config(bootstrap_servers=9092), "additional_params.bootstrap_servers"),
        (config(deserializer="avro"), "additional_params.deserializer"),
        (config(auto_offset_reset="none"), "additional_params.auto_offset_reset"),
        (config(batch_size=0), "additional_params.batch_size"),
        (config(batch_size=True), "additional_params.batch_size"),
        (config(batch_timeout_ms=-1), "additional_params.batch_timeout_ms"),
        (config(security_protocol="TLS"), "additional_params.security_protocol"),
        (config(security_protocol="SASL_SSL", sasl_username="u"),
         "additional_params.sasl_password"),
        (config(security_protocol="SASL_PLAINTEXT", sasl_password="p"),
         "additional_params.sasl_username"),
        (config(sasl_username="u"), "additional_params.sasl_username"),
        (config(ssl_cafile="/ca.pem"), "additional_params.ssl_cafile"),
        (config(security_protocol="SSL", ssl_certfile="/c.pem"), "additional_params.ssl_keyfile"),
        (config(security_protocol="SASL_SSL", sasl_mechanism="GSSAPI", sasl_username="u",
                sasl_password="p"), "additional_params.sasl_mechanism"),
    ],
)
def test_bad_configuration_names_the_key(cfg: dict[str, Any], key: str) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        parse_consumer_config(cfg)

    assert caught.value.key == key
    assert str(caught.value).startswith(f"invalid connector setting {key}: ")


def test_missing_required_keys_are_named() -> None:
    for key in ("bootstrap_servers", "topics"):
        cfg = config()
        del cfg["additional_params"][key]
        with pytest.raises(ConnectorConfigError, match=f"additional_params.{key}: required"):
            parse_consumer_config(cfg)


def test_password_never_shows_in_reprs_or_errors() -> None:
    secret = "hunter2-very-secret"
    opts = parse_consumer_config(config(
        security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password=secret,
    ))
    assert secret not in repr(opts)
    with pytest.raises(ConnectorConfigError) as caught:
        parse_consumer_config(config(sasl_password=secret))  # PLAINTEXT: not used
    assert secret not in str(caught.value)
    with pytest.raises(ConnectorConfigError) as caught:
        parse_security({"security_protocol": "SASL_SSL", "sasl_password": secret})
    assert secret not in str(caught.value)


def test_bootstrap_servers_forms() -> None:
    assert parse_bootstrap_servers("a:1, b:2,") == ["a:1", "b:2"]
    assert parse_bootstrap_servers(["[::1]:9092"]) == ["[::1]:9092"]
    with pytest.raises(ConnectorConfigError):
        parse_bootstrap_servers("")


def test_client_options_read_tls_files(tmp_path: Path) -> None:
    from atlas_streams.connectors.security import client_options

    sec = parse_security({"security_protocol": "SSL", "ssl_cafile": str(tmp_path / "none.pem")})
    with pytest.raises(ConnectorConfigError, match="ssl_cafile: cannot read"):
        client_options(sec)
    sasl = parse_security({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
                           "sasl_username": "u", "sasl_password": "p"})
    assert client_options(sasl) == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "u", "sasl_plain_password": "p",
    }
