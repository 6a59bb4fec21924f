"""Parse and check connector configuration: plain dicts in, frozen options out, no I/O.

A consumer is configured with the seed's dict::

    {"source_type": "kafka", "source_name": "orders",
     "additional_params": {"bootstrap_servers": "localhost:9092", "topics": ["orders"], ...}}

Every key is checked: an unknown key or a bad value raises :class:`ConnectorConfigError` naming
the key. Secrets are kept in :class:`pydantic.SecretStr` so they never show in a repr or an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from atlas_streams.connectors.errors import ConnectorConfigError

__all__ = [
    "AUTO_OFFSET_RESETS",
    "DESERIALIZERS",
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "ConsumerOptions",
    "KafkaSecurity",
    "parse_bootstrap_servers",
    "parse_consumer_config",
    "parse_security",
]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DESERIALIZERS = ("json", "string", "bytes")
AUTO_OFFSET_RESETS = ("earliest", "latest")
SECURITY_KEYS = (
    "security_protocol", "sasl_mechanism", "sasl_username", "sasl_password",
    "ssl_cafile", "ssl_certfile", "ssl_keyfile",
)
CONSUMER_KEYS = (
    "bootstrap_servers", "topics", "group_id", "deserializer", "auto_offset_reset",
    "batch_size", "batch_timeout_ms", *SECURITY_KEYS,
)
TOP_LEVEL_KEYS = ("source_type", "source_name", "additional_params")
MAX_BATCH_SIZE = 100_000
MAX_BATCH_TIMEOUT_MS = 600_000
_HOST_PORT = re.compile(r"\A\[?[A-Za-z0-9._:-]+\]?:\d{1,5}\Z")
_TOPIC = re.compile(r"\A[A-Za-z0-9._-]{1,249}\Z")


@dataclass(frozen=True)
class KafkaSecurity:
    """How clients authenticate and encrypt: protocol, SASL user, TLS files (paths, unread)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        """Return True when the protocol authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        """Return True when the protocol encrypts with TLS."""
        return self.protocol in ("SSL", "SASL_SSL")


@dataclass(frozen=True)
class ConsumerOptions:
    """A checked consumer configuration."""

    source_name: str
    bootstrap_servers: list[str]
    topics: list[str]
    group_id: str
    deserializer: str = "json"
    auto_offset_reset: str = "latest"
    batch_size: int = 500
    batch_timeout_ms: int = 1000  # wait at most this long to fill a batch
    security: KafkaSecurity = field(default_factory=KafkaSecurity)


def _choice(key: str, value: Any, choices: tuple[str, ...], upper: bool = False) -> str:
    text = value.upper() if upper and isinstance(value, str) else value
    if text not in choices:
        raise ConnectorConfigError(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return str(text)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConnectorConfigError(key, "expected a non-empty string")
    return value.strip()


def _int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConnectorConfigError(key, f"expected an integer from {low} to {high}, got {value!r}")
    return value


def _check_known(keys: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in known:
            raise ConnectorConfigError(
                f"{where}{key}", f"unknown key; known keys are {', '.join(known)}"
            )


def parse_bootstrap_servers(value: Any, key: str = "bootstrap_servers") -> list[str]:
    """Return ``host:port`` strings from a comma-separated string or a list of them."""
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise ConnectorConfigError(key, "expected 'host:port[,host:port...]' or a list of them")
    servers = [item.strip().split("://", 1)[-1] for item in items]
    if not servers:
        raise ConnectorConfigError(key, "expected at least one host:port")
    for server in servers:
        if not _HOST_PORT.match(server):
            raise ConnectorConfigError(key, f"expected host:port, got {server!r}")
    return servers


def parse_security(params: Mapping[str, Any], where: str = "") -> KafkaSecurity:
    """Return the security options in ``params`` (keys of :data:`SECURITY_KEYS`), checked.

    Raises:
        ConnectorConfigError: naming the first key that is missing, unneeded or invalid.
    """
    protocol = _choice(
        f"{where}security_protocol", params.get("security_protocol") or "PLAINTEXT",
        SECURITY_PROTOCOLS, upper=True,
    )
    mechanism = _choice(
        f"{where}sasl_mechanism", params.get("sasl_mechanism") or "PLAIN", SASL_MECHANISMS,
        upper=True,
    )
    password = params.get("sasl_password")
    if isinstance(password, SecretStr):
        password = password.get_secret_value()
    texts = {
        key: None if params.get(key) is None else _text(f"{where}{key}", params[key])
        for key in ("sasl_username", "ssl_cafile", "ssl_certfile", "ssl_keyfile")
    }
    if password is not None and (not isinstance(password, str) or not password):
        raise ConnectorConfigError(f"{where}sasl_password", "expected a non-empty string")
    security = KafkaSecurity(
        protocol, mechanism, texts["sasl_username"],
        SecretStr(password) if password is not None else None,
        texts["ssl_cafile"], texts["ssl_certfile"], texts["ssl_keyfile"],
    )
    _check_consistent(security, params, where)
    return security


def _check_consistent(security: KafkaSecurity, params: Mapping[str, Any], where: str) -> None:
    protocol = security.protocol
    if security.uses_sasl:
        for key in ("sasl_username", "sasl_password"):
            if params.get(key) is None:
                raise ConnectorConfigError(f"{where}{key}", f"required with {protocol}")
    else:
        for key in ("sasl_mechanism", "sasl_username", "sasl_password"):
            if params.get(key) is not None:
                raise ConnectorConfigError(
                    f"{where}{key}", f"only used with SASL_PLAINTEXT or SASL_SSL, not {protocol}"
                )
    if not security.uses_ssl:
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            if params.get(key) is not None:
                raise ConnectorConfigError(
                    f"{where}{key}", f"only used with SSL or SASL_SSL, not {protocol}"
                )
    if (security.ssl_certfile is None) != (security.ssl_keyfile is None):
        missing = "ssl_keyfile" if security.ssl_keyfile is None else "ssl_certfile"
        raise ConnectorConfigError(
            f"{where}{missing}", "a client certificate needs both ssl_certfile and ssl_keyfile"
        )


def parse_consumer_config(config: Mapping[str, Any]) -> ConsumerOptions:
    """Return the checked options of a Kafka consumer connector configuration dict.

    Raises:
        ConnectorConfigError: naming the first unknown, missing or invalid key.
    """
    if not isinstance(config, Mapping):
        raise ConnectorConfigError("config", "expected a dict")
    _check_known(config, TOP_LEVEL_KEYS, "")
    if config.get("source_type") != "kafka":
        raise ConnectorConfigError(
            "source_type", f"expected 'kafka', got {config.get('source_type')!r}"
        )
    name = _text("source_name", config.get("source_name"))
    params = config.get("additional_params")
    where = "additional_params."
    if not isinstance(params, Mapping):
        raise ConnectorConfigError("additional_params", "expected a dict")
    _check_known(params, CONSUMER_KEYS, where)
    for key in ("bootstrap_servers", "topics"):
        if key not in params:
            raise ConnectorConfigError(f"{where}{key}", "required")
    topics = params["topics"]
    if not isinstance(topics, list | tuple) or not topics:
        raise ConnectorConfigError(f"{where}topics", 'expected a non-empty list, e.g. ["orders"]')
    for topic in topics:
        if not isinstance(topic, str) or not _TOPIC.match(topic):
            raise ConnectorConfigError(f"{where}topics", f"invalid topic name {topic!r}")
    return ConsumerOptions(
        source_name=name,
        bootstrap_servers=parse_bootstrap_servers(
            params["bootstrap_servers"], f"{where}bootstrap_servers"
        ),
        topics=list(topics),
        group_id=_text(f"{where}group_id", params.get("group_id", name)),
        deserializer=_choice(f"{where}deserializer", params.get("deserializer", "json"),
                             DESERIALIZERS),
        auto_offset_reset=_choice(f"{where}auto_offset_reset",
                                  params.get("auto_offset_reset", "latest"), AUTO_OFFSET_RESETS),
        batch_size=_int(f"{where}batch_size", params.get("batch_size", 500), 1, MAX_BATCH_SIZE),
        batch_timeout_ms=_int(f"{where}batch_timeout_ms", params.get("batch_timeout_ms", 1000),
                              0, MAX_BATCH_TIMEOUT_MS),
        security=parse_security(params, where),
    )
