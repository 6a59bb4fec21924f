"""Typed, frozen settings from command-line flags and ``ATLAS_*`` environment variables.

This is the only module that reads the environment. Tests build ``Settings(...)`` directly.
Precedence: a flag given on the command line, then ``ATLAS_<NAME>``, then the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from atlas_streams.connectors.config import KafkaSecurity, parse_security
from atlas_streams.connectors.errors import ConnectorConfigError
from atlas_streams.rbac.signing import MIN_KEY_BYTES, Keyring
from atlas_streams.topics import dataset_of

__all__ = ["Secrets", "Settings", "SettingsError", "load_settings"]

# Secrets that may also be given as a file (``<name>_file``: Docker and Kubernetes secrets).
SECRET_FILES = ("sasl_password", "key_pepper", "signing_key", "audit_key")
# Demo mode only (ATLAS_DEMO_KEYS=1, never by default): secrets anyone can read here, so that a
# laptop demo and the tests run with no set-up. Outside demo mode a worker without its own
# secrets refuses to start.
DEMO_SECRETS = {
    "key_pepper": "atlas-demo-pepper-not-secret",
    "signing_key": "atlas-demo-signing-key-not-secret",
    "audit_key": "atlas-demo-audit-key-not-secret",
}


@dataclass(frozen=True)
class Secrets:
    """The worker's secrets, as the domain takes them."""

    pepper: bytes  # mixed into stored API-key hashes
    signing: Keyring  # seals internal commands and stored access records
    audit: Keyring  # keys the audit chain
    demo: bool  # True when the demo's published secrets are in use

# The error type of a check that involves several settings but blames one (its ``ctx`` names it).
_SETTING_ERROR = "atlas_setting"


#: Seconds per unit of epoch-time columns (ATLAS_DATETIME_COLUMNS).
_EPOCH_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class SettingsError(ValueError):
    """A setting has a value the worker cannot run with; the message names it."""


class Settings(BaseSettings):
    """Every knob of a worker, a producer and the demo, read once and then frozen."""

    model_config = SettingsConfigDict(env_prefix="ATLAS_", frozen=True, extra="forbid")

    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap URL(s), comma-separated")
    app_id: str = Field("atlas-streams", description="Faust app id: consumer group and topic prefix")
    data_dir: Path = Field(Path("data"), description="where RocksDB tables and artifacts live")
    web_host: str = Field("127.0.0.1", description="address the web view binds")
    web_port: int = Field(6066, ge=0, le=65535, description="port of the web view (0 = any free)")
    dataset_prefix: str = Field("datasets.", min_length=1, description="topic prefix of datasets")
    topic_partitions: int = Field(4, ge=1, le=1024, description="partitions of topics we create")
    batch_size: int = Field(2000, ge=1, le=100_000, description="max messages per profiler batch")
    batch_bytes: int = Field(
        16 * 1_048_576, ge=1024, description="max bytes of message values per profiler batch"
    )
    batch_timeout: float = Field(0.5, gt=0, le=60, description="seconds to wait to fill a batch")
    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="larger dataset messages are dead-lettered"
    )
    broker_kind: Literal["auto", "embedded", "kafka"] = Field(
        "auto",
        description="embedded (the Tansu broker: its workarounds apply), kafka, or auto (ask it)",
    )
    session_timeout: float = Field(
        10.0, ge=2, le=300,
        description="Kafka group session timeout, s: how long a dead worker keeps its partitions",
    )
    discovery_interval: float = Field(
        2.0, gt=0, le=3600, description="seconds between looks for new dataset topics"
    )
    demo_keys: bool = Field(False, description="create the four well-known demo users and keys")
    admin_key: SecretStr | None = Field(None, description="the first admin key when not in demo mode")
    key_pepper: SecretStr | None = Field(
        None, description="per-deployment secret mixed into stored key hashes (16+ bytes)"
    )
    key_pepper_file: FilePath | None = Field(None, description="file holding the key pepper")
    signing_key: SecretStr | None = Field(
        None, description="secret that seals internal commands and stored access records"
    )
    signing_key_file: FilePath | None = Field(None, description="file holding the signing key")
    signing_previous_keys: SecretStr | None = Field(
        None, description="comma-separated signing keys being rotated out (still accepted)"
    )
    audit_key: SecretStr | None = Field(
        None, description="secret of the audit chain's HMAC (16+ bytes)"
    )
    audit_key_file: FilePath | None = Field(None, description="file holding the audit key")
    audit_previous_keys: SecretStr | None = Field(
        None, description="comma-separated audit keys rotated out (events they made still verify)"
    )
    audit_retention_days: float = Field(
        30.0, gt=0, le=36500, description="days of audit events each worker keeps queryable"
    )
    auth_summary_seconds: float = Field(
        60.0, gt=0, le=3600,
        description="failed authentications of a client are audited as one event this often",
    )
    auth_failures_per_minute: int = Field(
        30, ge=1, le=100_000,
        description="failed authentications a client address may make a minute before 429s",
    )
    log_level: str = Field("info", description="debug, info, warning or error")
    log_format: str = Field(
        "text", description="text, or json: one JSON object per log line with the request id"
    )
    artifacts_uri: str | None = Field(
        None, description="model artifact store: file:///dir or s3://bucket/prefix "
        "(default: <data_dir>/artifacts)"
    )
    max_artifact_bytes: int = Field(
        512 * 1024 * 1024, ge=1, description="larger artifact uploads are refused (413)"
    )
    # Kafka security and consumption (docs/settings.md). Checked together by _check_security.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="how clients talk to the brokers"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism (default PLAIN) with SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    sasl_password_file: FilePath | None = Field(
        None, description="file holding the SASL password (instead of sasl_password)"
    )
    ssl_cafile: FilePath | None = Field(None, description="CA bundle (PEM) to verify brokers")
    ssl_certfile: FilePath | None = Field(None, description="client certificate (PEM), mTLS")
    ssl_keyfile: FilePath | None = Field(None, description="client private key (PEM), mTLS")
    group_id: str | None = Field(
        None, min_length=1, description="Kafka consumer group of the workers (default: app_id)"
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="where a new group starts reading a dataset topic"
    )
    deserializers: Annotated[dict[str, Literal["json", "string", "bytes"]], NoDecode] = Field(
        default_factory=dict, description="dataset:deserializer pairs, e.g. logs:string,blobs:bytes"
    )
    topics: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="comma-separated dataset topics to profile instead of every prefixed topic"
    )
    flatten_depth: int = Field(
        3, ge=0, le=32,
        description="nested objects and arrays down to this level become columns (0: JSON text)",
    )
    datetime_columns: Annotated[dict[str, dict[str, float]], NoDecode] = Field(
        default_factory=dict,
        description="dataset:column[:unit] pairs of numeric epoch-time columns, unit s|ms|us|ns",
    )

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str) -> str:
        for url in value.split(","):
            parts = urlsplit(url.strip() if "://" in url else f"kafka://{url.strip()}")
            if parts.scheme not in {"kafka", "aiokafka"} or not parts.hostname or not parts.port:
                raise ValueError(f"expected kafka://HOST:PORT[,kafka://HOST:PORT...], got {url!r}")
        return value

    @field_validator("deserializers", mode="before")
    @classmethod
    def _parse_deserializers(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            dataset, sep, kind = item.partition(":")
            if not sep or not dataset.strip():
                raise ValueError(f"expected dataset:json|string|bytes pairs, got {item!r}")
            pairs[dataset.strip()] = kind.strip()
        return pairs

    @field_validator("datetime_columns", mode="before")
    @classmethod
    def _parse_datetime_columns(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs: dict[str, dict[str, float]] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            dataset, _, rest = item.partition(":")
            column, _, unit = rest.partition(":")
            if not dataset.strip() or not column.strip():
                raise ValueError(f"expected dataset:column[:s|ms|us|ns] pairs, got {item!r}")
            seconds = _EPOCH_UNITS.get(unit.strip() or "s")
            if seconds is None:
                raise ValueError(f"unknown unit {unit!r} in {item!r}: use s, ms, us or ns")
            pairs.setdefault(dataset.strip(), {})[column.strip()] = seconds
        return pairs

    @field_validator("topics", mode="before")
    @classmethod
    def _parse_topics(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        # Each file is read here, once; its content lives on only as a SecretStr.
        if not isinstance(data, dict):
            return data
        for name in SECRET_FILES:
            path = data.get(f"{name}_file")
            if path in (None, ""):
                continue
            if data.get(name) is not None:
                upper = name.upper()
                raise ValueError(f"set ATLAS_{upper} or ATLAS_{upper}_FILE, not both")
            try:
                secret = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                continue  # the field's own check names the file setting
            data = {**data, name: secret}
        return data

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        try:
            self.kafka_security  # noqa: B018 (checks the combination)
        except ConnectorConfigError as exc:
            # No command has a flag for these: load_settings names the flag only if one has.
            raise PydanticCustomError(
                _SETTING_ERROR, "{variable}: {problem}",
                {"setting": exc.key, "variable": f"ATLAS_{exc.key.upper()}", "problem": exc.problem},
            ) from None
        return self

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError("expected text or json")
        return value.lower()

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("expected one of debug, info, warning, error")
        return value.lower()

    @property
    def bootstrap_servers(self) -> list[str]:
        """Return the brokers as ``host:port`` strings for aiokafka."""
        return [url.strip().split("://", 1)[-1] for url in self.broker.split(",")]

    @property
    def kafka_security(self) -> KafkaSecurity:
        """Return the security options of every Kafka client of the worker and the producer."""
        given = {
            "security_protocol": self.security_protocol, "sasl_mechanism": self.sasl_mechanism,
            "sasl_username": self.sasl_username, "sasl_password": self.sasl_password,
            **{key: None if (path := getattr(self, key)) is None else str(path)
               for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")},
        }
        return parse_security(given)

    @property
    def consumer_group(self) -> str:
        """Return the Kafka consumer group of the workers."""
        return self.group_id or self.app_id

    def dataset_of_topic(self, topic: str) -> str | None:
        """Return the dataset a topic carries, or None when this deployment does not profile it.

        With ``topics`` set only those are profiled; a listed topic outside the prefix is a
        dataset of the same name. Otherwise every ``<dataset_prefix><name>`` topic is one.
        """
        prefixed = dataset_of(self.dataset_prefix, topic)
        if self.topics:
            return (prefixed or topic) if topic in self.topics else None
        return prefixed

    def deserializer_of(self, dataset: str) -> str:
        """Return how messages of ``dataset`` are decoded: json, string or bytes."""
        return self.deserializers.get(dataset, "json")

    def secrets(self) -> Secrets:
        """Return the worker's secrets; in demo mode, the demo's for any that is not set.

        Raises:
            SettingsError: outside demo mode, naming every secret that is missing or too short.
        """
        values: dict[str, bytes] = {}
        missing = []
        for name in ("key_pepper", "signing_key", "audit_key"):
            given: SecretStr | None = getattr(self, name)
            if given is not None and len(given.get_secret_value().encode()) >= MIN_KEY_BYTES:
                values[name] = given.get_secret_value().encode()
            elif given is None and self.demo_keys:
                values[name] = DEMO_SECRETS[name].encode()
            else:
                missing.append(f"ATLAS_{name.upper()}")
        if missing:
            raise SettingsError(
                f"set {', '.join(missing)} (or the *_FILE variants) to a secret of "
                f"{MIN_KEY_BYTES}+ bytes, the same on every worker, e.g. `openssl rand -hex 32`; "
                "a worker has no default secrets outside demo mode (ATLAS_DEMO_KEYS=1)"
            )
        return Secrets(
            pepper=values["key_pepper"],
            signing=Keyring.of(values["signing_key"], *_previous(self.signing_previous_keys)),
            audit=Keyring.of(values["audit_key"], *_previous(self.audit_previous_keys)),
            demo=any(values[name] == DEMO_SECRETS[name].encode() for name in DEMO_SECRETS),
        )

    def datetime_columns_of(self, dataset: str) -> tuple[tuple[str, float], ...]:
        """Return (column, seconds per unit) of each numeric epoch-time column of ``dataset``."""
        return tuple(sorted(self.datetime_columns.get(dataset, {}).items()))

    @property
    def table_dir(self) -> Path:
        """Return the directory Faust keeps its RocksDB tables in."""
        return self.data_dir / "tables"


def _previous(keys: SecretStr | None) -> list[bytes]:
    if keys is None:
        return []
    found = [part.strip().encode() for part in keys.get_secret_value().split(",") if part.strip()]
    if any(len(key) < MIN_KEY_BYTES for key in found):
        raise SettingsError(f"every previous key must have {MIN_KEY_BYTES}+ bytes")
    return found


def load_settings(**flags: Any) -> Settings:
    """Build settings from a command's flags (``None`` means "not given") over the environment.

    ``flags`` holds every settings flag of the command, given or not: an error names a
    setting's flag only when the command has that flag, and its ``ATLAS_*`` variable always
    (``ATLAS_MAX_MESSAGE_BYTES=10 atlas-streams worker`` must not send anyone looking for a
    ``--max-message-bytes`` that the command lacks).

    Raises:
        SettingsError: naming the first bad setting and where to change it.
    """
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors()[0], frozenset(flags))) from None


def _describe(err: ErrorDetails, flags: frozenset[str]) -> str:
    """Return one line saying which setting is bad, where to set it, and why."""
    context = err.get("ctx") or {}
    if err["type"] == _SETTING_ERROR:
        name, problem = str(context["setting"]), str(context["problem"])
    elif err["loc"]:
        name, problem = str(err["loc"][0]), err["msg"]
    else:  # a check of several settings together; its message names them
        return f"invalid settings: {err['msg'].removeprefix('Value error, ')}"
    variable = f"ATLAS_{name.upper()}"
    where = f"flag --{name.replace('_', '-')} or {variable}" if name in flags else variable
    return f"invalid setting {name} ({where}): {problem}"
