"""What goes to ``atlas.deadletter``: the reason, the source position and the value, sampled."""

from __future__ import annotations

import base64
from typing import Any

import orjson

__all__ = ["DEADLETTER_SAMPLE_BYTES", "dead_letter"]

DEADLETTER_SAMPLE_BYTES = 262_144  # bytes of a bad value copied into its dead letter, at most


def dead_letter(message: Any, reason: str) -> bytes:
    """Return the dead letter of a Faust message or Kafka record refused for ``reason``."""
    value: bytes = message.value or b""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    body: dict[str, Any] = {
        "reason": reason,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "timestamp": message.timestamp,
        "size": len(value),
        "truncated": len(value) > DEADLETTER_SAMPLE_BYTES,
    }
    sample = value[:DEADLETTER_SAMPLE_BYTES]
    try:
        body["value"] = sample.decode("utf-8")
    except UnicodeDecodeError:
        body["value_base64"] = base64.b64encode(sample).decode("ascii")
    return orjson.dumps(body)
