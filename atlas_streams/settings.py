"""Typed, frozen settings from command-line flags and ``ATLAS_*`` environment variables.

This is the only module that reads the environment. Tests build ``Settings(...)`` directly.
Precedence: a flag given on the command line, then ``ATLAS_<NAME>``, then the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "load_settings"]


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
    batch_timeout: float = Field(0.5, gt=0, le=60, description="seconds to wait to fill a batch")
    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="larger dataset messages are dead-lettered"
    )
    discovery_interval: float = Field(
        2.0, gt=0, le=3600, description="seconds between looks for new dataset topics"
    )
    demo_keys: bool = Field(False, description="create the four well-known demo users and keys")
    admin_key: SecretStr | None = Field(None, description="the first admin key when not in demo mode")
    key_pepper: SecretStr = Field(
        SecretStr("atlas-streams-default-pepper"),
        description="per-deployment secret mixed into stored key hashes",
    )
    log_level: str = Field("info", description="debug, info, warning or error")

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str) -> str:
        for url in value.split(","):
            parts = urlsplit(url.strip() if "://" in url else f"kafka://{url.strip()}")
            if parts.scheme not in {"kafka", "aiokafka"} or not parts.hostname or not parts.port:
                raise ValueError(f"expected kafka://HOST:PORT[,kafka://HOST:PORT...], got {url!r}")
        return value

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
    def table_dir(self) -> Path:
        """Return the directory Faust keeps its RocksDB tables in."""
        return self.data_dir / "tables"


def load_settings(**flags: Any) -> Settings:
    """Build settings from flags (``None`` means "not given") over the environment.

    Raises:
        SettingsError: naming the first bad setting and its environment variable.
    """
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "settings"
        raise SettingsError(
            f"invalid setting {name} (flag --{name.replace('_', '-')} or ATLAS_{name.upper()}): "
            f"{err['msg']}"
        ) from None
