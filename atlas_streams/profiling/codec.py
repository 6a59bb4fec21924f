"""Profile bytes: one format-version byte, then a msgpack document (never pickle).

Format 2: each column's state is its own zstd-compressed msgpack document inside the dataset
document, so the size of each column is known when a profile must fit a byte budget. zstd
because it is fast and shrinks exact value tables and frequent-items sketches 3-6x; a full KLL
sketch of real data (prices, counts, times) about 2.5x; only random float64 mantissas stay near
their size. Level 1, not zstd's default 3: a worker writes every partial after every batch, and
on a 20-column partial of 100,000 rows compressing took 5.2 ms at level 1 against 8.7 ms at 3,
for 5% more bytes (263 vs 249 KB).

Format 1 (before exact value tables) is still read: its columns come back with their distinct
count and top values in sketch form (format 1 kept no values to rebuild exact tables from), the
rest unchanged, and the profile merges with format 2 ones.
"""

from __future__ import annotations

import sys
from typing import Any

import msgpack

from atlas_streams.profiling.errors import ProfileFormatError
from atlas_streams.profiling.options import ProfileOptions

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = ["FORMAT_VERSION", "decode", "encode", "pack_column", "unpack_column"]

#: Bump when the state layout changes; ``decode`` refuses every other version.
FORMAT_VERSION = 2
_ZSTD_LEVEL = 1


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
    if data[0] not in (1, FORMAT_VERSION):
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
    if data[0] == 1:
        try:
            return _from_format_1(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileFormatError(f"format 1 profile bytes have an invalid layout: {exc}") from exc
    return state


#: Options of format 1 that mean the same in format 2 (its distinct settings are superseded).
_KEPT_OPTIONS = ("kll_k", "top_values_lg_max_map_size", "top_values_min", "histogram_bins",
                 "max_value_chars", "bound_std_devs")


def _from_format_1(state: dict[str, Any]) -> dict[str, Any]:
    """Return a format 1 profile state in the format 2 layout."""
    old = state["options"]
    options = {**ProfileOptions().to_state(), **{key: old[key] for key in _KEPT_OPTIONS}}
    columns = []
    for name, column in state["columns"]:
        distinct, exact = column["distinct"], column["distinct"]["exact"]
        # Its exact distinct count (8 bytes a hash), or more than its exact limit: a floor.
        known = len(exact) // 8 if exact is not None else int(old["exact_distinct_limit"]) + 1
        new = {
            "counts": [*column["counts"], 0, 0],  # no integers beyond 64 bits, not array items
            "moments": column["moments"],
            "lengths": column["lengths"],
            "kll": column["kll"],
            "values": {"cpc": [distinct["cpc"], known], "frequent": [column["top"], 0]},
        }
        columns.append([name, pack_column(new)])
    return {**state, "options": options, "columns": columns}
