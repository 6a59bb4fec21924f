"""Profile bytes: one format-version byte, then a msgpack document (never pickle)."""

from __future__ import annotations

from typing import Any

import msgpack

from atlas_streams.profiling.errors import ProfileFormatError

__all__ = ["FORMAT_VERSION", "decode", "encode"]

#: Bump when the state layout changes; ``decode`` refuses every other version.
FORMAT_VERSION = 1


def encode(state: dict[str, Any]) -> bytes:
    """Return the version byte followed by the msgpack encoding of ``state``."""
    payload: bytes = msgpack.packb(state, use_bin_type=True)
    return bytes([FORMAT_VERSION]) + payload


def decode(data: bytes) -> dict[str, Any]:
    """Return the state dict inside profile bytes; raise ProfileFormatError if unreadable."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProfileFormatError(f"profile must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ProfileFormatError("profile bytes are empty; expected a format-version byte")
    if data[0] != FORMAT_VERSION:
        raise ProfileFormatError(
            f"profile format version {data[0]} is not supported (this build reads version "
            f"{FORMAT_VERSION}); rebuild the profile or upgrade atlas-streams"
        )
    try:
        state = msgpack.unpackb(data[1:], raw=False, strict_map_key=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ProfileFormatError(f"profile bytes are corrupt or truncated: {exc}") from exc
    if not isinstance(state, dict):
        raise ProfileFormatError("profile bytes do not hold a profile document")
    return state
