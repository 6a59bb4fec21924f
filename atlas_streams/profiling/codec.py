"""Profile bytes: one format-version byte, then a msgpack document (never pickle).

Format 2: each column's state is its own zstd-compressed msgpack document inside the dataset
document, so the size of each column is known when a profile must fit a byte budget. zstd
(level 3) because it is fast and shrinks exact value tables and frequent-items sketches 3-6x;
a full KLL sketch of real data (prices, counts, times) about 2.5x; only random float64 mantissas
stay near their size. Format 1 (before exact value tables) is refused with what to do.
"""

from __future__ import annotations

import sys
from typing import Any

import msgpack

from atlas_streams.profiling.errors import ProfileFormatError

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = ["FORMAT_VERSION", "decode", "encode", "pack_column", "unpack_column"]

#: Bump when the state layout changes; ``decode`` refuses every other version.
FORMAT_VERSION = 2
_ZSTD_LEVEL = 3


def encode(state: dict[str, Any]) -> bytes:
    """Return the version byte followed by the msgpack encoding of ``state``."""
    payload: bytes = msgpack.packb(state, use_bin_type=True)
    return bytes([FORMAT_VERSION]) + payload


def pack_column(state: dict[str, Any]) -> bytes:
    """Return one column's state as compressed bytes."""
    return zstd.compress(msgpack.packb(state, use_bin_type=True), _ZSTD_LEVEL)


def unpack_column(data: bytes) -> dict[str, Any]:
    """Return one column's state from ``pack_column`` bytes; raise ValueError if unreadable."""
    try:
        state = msgpack.unpackb(zstd.decompress(data), raw=False, strict_map_key=True)
    except (zstd.ZstdError, msgpack.UnpackException, TypeError) as exc:
        raise ValueError(f"a column's bytes are corrupt: {exc}") from exc
    if not isinstance(state, dict):
        raise ValueError("a column's bytes do not hold a column document")
    return state


def decode(data: bytes) -> dict[str, Any]:
    """Return the state dict inside profile bytes; raise ProfileFormatError if unreadable."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProfileFormatError(f"profile must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ProfileFormatError("profile bytes are empty; expected a format-version byte")
    if data[0] == 1:
        raise ProfileFormatError(
            "profile format version 1 was written by an older atlas-streams (before exact value "
            "tables); this build reads version 2. Profile the dataset again: start the workers "
            "with a new ATLAS_APP_ID (or delete their data dirs and internal topics), and they "
            "re-read every dataset topic from its earliest offset"
        )
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
