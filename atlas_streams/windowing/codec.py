"""Window state bytes: one format-version byte, then a msgpack document (never pickle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgpack

from atlas_streams.windowing.errors import WindowStateError

__all__ = ["decode", "encode", "read"]

T = TypeVar("T")


def encode(version: int, document: list[Any]) -> bytes:
    """Return the version byte followed by the msgpack encoding of ``document``."""
    payload: bytes = msgpack.packb(document, use_bin_type=True)
    return bytes([version]) + payload


def decode(data: bytes, version: int, what: str) -> list[Any]:
    """Return the document inside ``what``'s bytes; raise WindowStateError if unreadable."""
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        raise WindowStateError(f"{what} bytes are empty or not bytes; rebuild it from its topic")
    data = bytes(data)
    if data[0] != version:
        raise WindowStateError(
            f"{what} format version {data[0]} is not supported (this build reads {version}); "
            "upgrade atlas-streams or rebuild the state from its topic"
        )
    try:
        document = msgpack.unpackb(data[1:], raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise WindowStateError(f"{what} bytes are corrupt or truncated: {exc}") from exc
    if not isinstance(document, list):
        raise WindowStateError(f"{what} bytes do not hold a {what}")
    return document


def read(data: bytes, version: int, what: str, build: Callable[[list[Any]], T]) -> T:
    """Return ``build`` of the document in ``what``'s bytes; a malformed layout is one error."""
    document = decode(data, version, what)
    try:
        return build(document)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise WindowStateError(
            f"{what} bytes have an invalid layout ({type(exc).__name__}: {exc}); rebuild the "
            "state from its topic"
        ) from exc
