"""The wire format of dataset messages, both ways.

A message value is one JSON object (one row) or a JSON array of objects (several rows). The
producer encodes rows this way and the profiler decodes them; anything else is malformed and goes
to the dead-letter topic with the reason :func:`decode_batch` gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "PLAIN_COLUMN", "DecodedBatch", "Rejected", "decode_batch", "decode_message", "encode_rows"
]

PLAIN_COLUMN = "value"  # the one column of a string or bytes message
PLAIN_DESERIALIZERS = ("string", "bytes")
# An integer of 20 digits or more may be beyond 64 bits, which orjson turns into a float. To
# find one, bytes are mapped so that digits become "0", a decimal point or exponent "." and
# everything else " ": such an integer is then " " + 20 x "0" (a fraction's digits follow a
# "."). A regex for 20 digits took ~25% of decoding and profiling 100-row messages: it ran at
# ~70 MB/s over numeric JSON, and the fractions of small floats (0.0000777...) matched it;
# translating and searching runs at ~1.5 GB/s.
_INT_MARKS = bytes(
    ord("0") if chr(i).isdigit() and i < 128 else ord(".") if chr(i) in ".eE" else ord(" ")
    for i in range(256)
)
_LONG_INT = b" " + b"0" * 20


def _may_hold_a_huge_int(value: bytes) -> bool:
    """Return whether ``value`` may hold an integer beyond 64 bits (never False when it does)."""
    return _LONG_INT in value.translate(_INT_MARKS)


@dataclass(frozen=True)
class Rejected:
    """A message that could not be decoded, with its index in the batch and the reason."""

    index: int
    reason: str


@dataclass(frozen=True)
class DecodedBatch:
    """The rows of a batch, which message each row came from, and the rejected messages."""

    rows: list[dict[str, Any]]
    row_message: list[int]  # index of the source message of each row
    rejected: list[Rejected]


def decode_message(value: bytes | None, max_bytes: int) -> list[dict[str, Any]]:
    """Return the rows of one message value.

    Raises:
        ValueError: saying why the value is not a row or an array of rows.
    """
    if value is None:
        raise ValueError("empty message (null value)")
    if len(value) > max_bytes:
        raise ValueError(f"message of {len(value)} bytes is over the limit of {max_bytes}")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    return _rows_of(_exact_ints(value, doc))


def _exact_ints(value: bytes, doc: Any) -> Any:
    """Return ``doc``, parsed again keeping exact ints when ``value`` may hold a huge one.

    orjson decodes an integer beyond 64 bits as a float, which would turn its column into
    floats; the standard library keeps it an int. Only values with an integer of 20 digits or
    more (rare) pay for the second parse; the check costs ~0.7 ms per MB.
    """
    if not _may_hold_a_huge_int(value):
        return doc
    return json.loads(value)


def _rows_of(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list) and doc and all(isinstance(row, dict) for row in doc):
        return doc
    if isinstance(doc, list) and not doc:
        raise ValueError("an empty JSON array holds no rows")
    raise ValueError(f"expected a JSON object or an array of objects, got {type(doc).__name__}")


def decode_batch(
    values: Sequence[bytes | None], max_bytes: int, deserializer: str = "json"
) -> DecodedBatch:
    """Decode a batch of message values, fast when all are well formed.

    With ``deserializer="json"`` (the default) a value is a row or an array of rows. With
    ``"string"`` (UTF-8 text) or ``"bytes"`` (shown as hex) each value is one row of a single
    column named ``value``.

    The fast path parses every value in one ``map`` with no per-message error handling; only
    when one fails (or a value is over ``max_bytes``) is each message decoded alone to give the
    bad ones their reasons.
    """
    if deserializer != "json":
        return _decode_plain(values, max_bytes, deserializer)
    fast = _decode_all(values, max_bytes)
    if fast is not None:
        return fast
    rows: list[dict[str, Any]] = []
    row_message: list[int] = []
    rejected: list[Rejected] = []
    for index, value in enumerate(values):
        try:
            message_rows = decode_message(value, max_bytes)
        except ValueError as exc:
            rejected.append(Rejected(index, str(exc)))
            continue
        rows.extend(message_rows)
        row_message.extend([index] * len(message_rows))
    return DecodedBatch(rows, row_message, rejected)


def _decode_plain(
    values: Sequence[bytes | None], max_bytes: int, deserializer: str
) -> DecodedBatch:
    if deserializer not in PLAIN_DESERIALIZERS:
        raise ValueError(f"unknown deserializer {deserializer!r}: use json, string or bytes")
    rows: list[dict[str, Any]] = []
    row_message: list[int] = []
    rejected: list[Rejected] = []
    for index, value in enumerate(values):
        if value is None:
            rejected.append(Rejected(index, "empty message (null value)"))
        elif len(value) > max_bytes:
            reason = f"message of {len(value)} bytes is over the limit of {max_bytes}"
            rejected.append(Rejected(index, reason))
        elif deserializer == "bytes":
            rows.append({PLAIN_COLUMN: value.hex()})
            row_message.append(index)
        else:
            try:
                rows.append({PLAIN_COLUMN: value.decode("utf-8")})
            except UnicodeDecodeError as exc:
                reason = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
                rejected.append(Rejected(index, reason))
                continue
            row_message.append(index)
    return DecodedBatch(rows, row_message, rejected)


def _decode_all(values: Sequence[bytes | None], max_bytes: int) -> DecodedBatch | None:
    if any(v is None or len(v) > max_bytes for v in values):
        return None
    # Not one parse of the values joined into an array: a message split in two plus a message
    # of two documents would parse as well-formed rows. map() is as fast and cannot mix them.
    try:
        docs = list(map(orjson.loads, values))  # type: ignore[arg-type]  # no None, checked above
    except orjson.JSONDecodeError:
        return None
    if _may_hold_a_huge_int(b"".join(values)):  # type: ignore[arg-type]  # no None here
        # Each value ends with "}" or "]", so no run of digits spans two of them.
        docs = [_exact_ints(value, doc) for value, doc in zip(values, docs, strict=True)]  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    row_message: list[int] = []
    for index, doc in enumerate(docs):
        try:
            message_rows = _rows_of(doc)
        except ValueError:
            return None
        rows.extend(message_rows)
        row_message.extend([index] * len(message_rows))
    return DecodedBatch(rows, row_message, [])


def encode_rows(rows: Iterable[Mapping[str, Any]], rows_per_message: int = 1) -> Iterator[bytes]:
    """Yield message values: one JSON object each, or arrays of up to ``rows_per_message``."""
    if rows_per_message < 1:
        raise ValueError("rows_per_message must be at least 1")
    if rows_per_message == 1:
        for row in rows:
            yield orjson.dumps(row, default=str, option=orjson.OPT_SERIALIZE_NUMPY)
        return
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == rows_per_message:
            yield orjson.dumps(chunk, default=str, option=orjson.OPT_SERIALIZE_NUMPY)
            chunk = []
    if chunk:
        yield orjson.dumps(chunk, default=str, option=orjson.OPT_SERIALIZE_NUMPY)
