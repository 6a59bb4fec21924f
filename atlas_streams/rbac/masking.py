"""Column masking with the Apache Ranger mask types, for single values and column profiles.

``null`` hides values; ``hash`` replaces them with a keyed hash (equal values stay equal, so
joins and counts still work); ``show_last_4`` keeps the last four characters; ``redact``
turns letters into ``x``/``X`` and digits into ``0``. A masked column profile keeps its counts
and drops every field that carries values (min, max, mean, quantiles, histogram edges, ...).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "HASH_HEX_CHARS",
    "MaskType",
    "mask_column_report",
    "mask_key",
    "mask_profile",
    "mask_value",
]

HASH_HEX_CHARS = 16  # 64 bits of HMAC-SHA256: collisions are negligible in top-value lists


class MaskType(StrEnum):
    """How a masked column's values are shown (Apache Ranger's names)."""

    NULL = "null"
    HASH = "hash"
    SHOW_LAST_4 = "show_last_4"
    REDACT = "redact"


# Fields of a column profile that count things and never carry a value of the column; so do
# extra fields named after them (``distinct_upper_bound``, ``count_bounds``, ...). Anything
# else is dropped from a masked report: an unknown field may carry values.
_COUNT_FIELDS = frozenset(
    {"count", "null_count", "null_percent", "distinct_estimate", "memory_bytes"}
)
_COUNT_PREFIXES = ("count_", "null_", "distinct_")


def mask_key(pepper: bytes) -> bytes:
    """Return the key for ``hash`` masks derived from the deployment pepper (never the pepper)."""
    return hmac.new(pepper, b"atlas-mask-key", hashlib.sha256).digest()


def mask_value(value: Any, mask_type: MaskType | str, key: bytes) -> Any:
    """Return ``value`` as ``mask_type`` shows it; None (a missing value) stays None.

    Values a mask cannot keep the shape of (booleans, lists, objects under ``show_last_4`` or
    ``redact``) are hidden as None rather than half-shown.
    """
    kind = MaskType(mask_type)
    if value is None or kind is MaskType.NULL:
        return None
    if kind is MaskType.HASH:
        return _keyed_hash(value, key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if kind is MaskType.REDACT:
        return _redact(value)
    return _show_last_4(value if isinstance(value, str) else str(value))


def _keyed_hash(value: Any, key: bytes) -> str:
    # JSON text keeps 1, 1.0, "1" and true apart while equal values hash equally.
    data = orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def _redact(value: str | int | float) -> str | int | float:
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    return "".join(_redact_char(c) for c in value)


def _redact_char(char: str) -> str:
    if char.isalpha():
        return "X" if char.isupper() else "x"
    if char.isalnum():  # digits and other numerals (², ¼, Ⅻ) alike
        return "0"
    return char


def _show_last_4(text: str) -> str:
    # A value of four characters or fewer would be shown whole: hide it all instead.
    if len(text) <= 4:
        return "x" * len(text)
    return "x" * (len(text) - 4) + text[-4:]


def mask_column_report(
    column: Mapping[str, Any], mask_type: MaskType | str, key: bytes
) -> dict[str, Any]:
    """Return a new column profile with values masked and counts kept; never mutate ``column``.

    Every mask drops min, max, mean, std, median, quantiles and histogram edges. ``null``
    also drops top values; the other masks keep them with each value masked.
    """
    kind = MaskType(mask_type)
    report: dict[str, Any] = {}
    if isinstance(column.get("type"), str):
        report["type"] = column["type"]
    report.update(_count_fields(column))
    histogram = column.get("histogram")
    if isinstance(histogram, Mapping) and isinstance(histogram.get("counts"), list):
        report["histogram"] = {"counts": [c for c in histogram["counts"] if _is_number(c)]}
    lengths = column.get("string_length")
    if isinstance(lengths, Mapping):
        report["string_length"] = _numbers_only(lengths)
    top = column.get("top_values")
    if kind is not MaskType.NULL and isinstance(top, list):
        report["top_values"] = [_mask_top_value(item, kind, key) for item in top]
    report["masked"] = True
    report["mask_type"] = kind.value
    return report


def mask_profile(
    profile: Mapping[str, Any], masks: Mapping[str, MaskType | str], key: bytes
) -> dict[str, Any]:
    """Return a new dataset profile whose ``columns`` named in ``masks`` are masked reports.

    A column flattened out of a masked one (``user.email``, ``tags[]`` and ``tags.length`` under
    ``user`` and ``tags``) is masked like it: masking ``user`` hid its JSON text before nested
    objects became columns, and must still hide every part of it.
    """
    columns = profile.get("columns")
    result = dict(profile)
    if isinstance(columns, Mapping):
        result["columns"] = {}
        for name, column in columns.items():
            mask = _mask_of(name, masks)
            masked = mask_column_report(column, mask, key) if mask is not None else dict(column)
            result["columns"][name] = masked
    return result


def _mask_of(name: str, masks: Mapping[str, MaskType | str]) -> MaskType | str | None:
    """Return the mask of a column or of the nearest column it was flattened out of."""
    while name not in masks:
        if name.endswith("[]"):
            name = name[:-2]
            continue
        parent, dot, _ = name.rpartition(".")
        if not dot or not parent:
            return None
        name = parent
    return masks[name]


def _count_fields(column: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in column.items():
        if name not in _COUNT_FIELDS and not name.startswith(_COUNT_PREFIXES):
            continue
        if isinstance(value, Mapping):
            kept[name] = _numbers_only(value)
        elif _is_number(value):
            kept[name] = value
    return kept


def _mask_top_value(item: Any, kind: MaskType, key: bytes) -> dict[str, Any]:
    entry: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
    counts = _count_fields({k: v for k, v in entry.items() if k != "value"})  # count_bounds too
    return {"value": mask_value(entry.get("value"), kind, key), **counts}


def _numbers_only(fields: Mapping[str, Any]) -> dict[str, Any]:
    # Counts and bounds are numbers; anything else might be a value of the column.
    return {name: value for name, value in fields.items() if _is_number(value)}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
