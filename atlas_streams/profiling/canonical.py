"""Decide what one column's decoded JSON values feed to each sketch.

This is the only module that looks at raw values. Rules:

- **Kinds.** ``int`` and ``float`` are NUMERIC (``bool`` is not), ``str`` is STRING, ``bool`` is
  BOOLEAN. Nested JSON (``dict``, ``list``) is canonicalised to its compact JSON text with sorted
  keys and counted as STRING; any other Python object (not produced by a JSON decoder) is
  counted as STRING via ``str()``.
- **Nulls.** ``None``, a missing key, and numbers that are not finite as float64 (NaN, +-Infinity,
  integers beyond the float64 range) are nulls: orjson writes non-finite floats as ``null``.
- **Numbers** are float64 with ``-0.0`` folded into ``0.0``. A column is *integral* while every
  number it saw is a whole number within +-2**53; its min, max, quantiles and top values are then
  reported as ints.
- **Strings** with lone surrogates (possible from ``json.loads``) are repaired with U+FFFD,
  because the sketches only accept valid UTF-8. String length is ``len(str)`` in code points.
- **Wire size.** ``memory_bytes`` is the sum over non-null values of the length of their compact
  JSON (orjson) encoding.
- **Distinct-count keys** (CPC): numbers as float64, strings as str, booleans as two int64 values
  whose bit patterns are NaN payloads, which no finite float64 and no valid UTF-8 string hashes
  to. (DataSketches hashes ``update(1)`` and ``update(1.0)`` differently; we only ever pass floats.)
- **Exact distinct hashes**: a stable 64-bit hash per value (never the salted ``hash()``):
  splitmix64 of the float64 bits for numbers (a bijection, so no collisions), blake2b-64 of the
  UTF-8 text for strings, two fixed constants for booleans.
- **Top-value tokens** (frequent-items sketch): ``"s" + text[:max_value_chars]`` for strings,
  ``"btrue"``/``"bfalse"`` for booleans and ``repr(float)`` for numbers (which never starts with
  ``s`` or ``b``), so values come back typed. Strings sharing a truncated prefix share a token.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntFlag
from hashlib import blake2b
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import orjson

__all__ = [
    "CanonicalBatch",
    "DistinctValues",
    "Kind",
    "canonicalise",
    "decode_number",
    "decode_token",
    "number_tokens",
    "stable_hashes",
]

FloatArray = npt.NDArray[np.float64]
HashArray = npt.NDArray[np.uint64]

_NONE_TYPE = type(None)
_NUMERIC_TYPES = frozenset({int, float})
_MAX_EXACT_INT = float(2**53)
#: Smallest nonzero magnitude whose orjson text equals its repr (below, orjson drops exponents).
_MIN_ORJSON_REPR = 1e-4
_NESTED_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
#: int64 keys for booleans: NaN bit patterns with payloads 1 and 2, never a finite float64.
_TRUE_KEY = 0x7FF0000000000001
_FALSE_KEY = 0x7FF0000000000002
_TRUE_HASH = np.uint64(0x9E3779B97F4A7C15)
_FALSE_HASH = np.uint64(0xC2B2AE3D27D4EB4F)


class Kind(IntFlag):
    """Kinds of non-null value a column has seen (a bit set)."""

    NONE = 0
    NUMERIC = 1
    STRING = 2
    BOOLEAN = 4


@dataclass(frozen=True, slots=True)
class CanonicalBatch:
    """One column's values from one batch, split by kind and ready to sketch."""

    null_count: int
    memory_bytes: int
    numbers: FloatArray
    integral: bool
    strings: dict[str, int]
    true_count: int
    false_count: int

    @property
    def kinds(self) -> Kind:
        """Return the kinds present in this batch."""
        kinds = Kind.NONE
        if self.numbers.size:
            kinds |= Kind.NUMERIC
        if self.strings:
            kinds |= Kind.STRING
        if self.true_count or self.false_count:
            kinds |= Kind.BOOLEAN
        return kinds

    def distinct(self) -> DistinctValues:
        """Return the batch's distinct values with their counts."""
        numbers, number_counts = np.unique(self.numbers, return_counts=True)
        return DistinctValues(
            numbers=numbers,
            number_counts=number_counts.tolist(),
            strings=list(self.strings),
            string_counts=list(self.strings.values()),
            true_count=self.true_count,
            false_count=self.false_count,
        )


@dataclass(frozen=True, slots=True)
class DistinctValues:
    """Distinct values of one batch of a column, each with how often it occurred."""

    numbers: FloatArray
    number_counts: list[int]
    strings: list[str]
    string_counts: list[int]
    true_count: int
    false_count: int

    def sketch_keys(self) -> list[float | str | int]:
        """Return one distinct-count sketch key per distinct value."""
        keys: list[float | str | int] = [*self.numbers.tolist(), *self.strings]
        if self.true_count:
            keys.append(_TRUE_KEY)
        if self.false_count:
            keys.append(_FALSE_KEY)
        return keys

    def tokens(self, max_chars: int) -> list[tuple[str, int]]:
        """Return (top-value token, count) for each distinct value."""
        pairs = list(zip(number_tokens(self.numbers), self.number_counts, strict=True))
        pairs += zip(_string_tokens(self.strings, max_chars), self.string_counts, strict=True)
        if self.true_count:
            pairs.append(("btrue", self.true_count))
        if self.false_count:
            pairs.append(("bfalse", self.false_count))
        return pairs

    def hashes(self) -> HashArray:
        """Return the stable 64-bit hash of each distinct value."""
        parts = [stable_hashes(self.numbers)]
        if self.strings:
            digests = b"".join(blake2b(s.encode(), digest_size=8).digest() for s in self.strings)
            parts.append(np.frombuffer(digests, dtype="<u8").astype(np.uint64))
        if self.true_count:
            parts.append(np.array([_TRUE_HASH], dtype=np.uint64))
        if self.false_count:
            parts.append(np.array([_FALSE_HASH], dtype=np.uint64))
        return np.concatenate(parts)


def number_tokens(numbers: FloatArray) -> list[str]:
    """Return ``repr(float(x))`` for each finite number, formatted in one C call."""
    if not numbers.size:
        return []
    # orjson writes the shortest round-trip digits exactly as repr does (pinned by
    # test_number_tokens_equal_repr), except below 1e-4 where it avoids exponent notation.
    contiguous = np.ascontiguousarray(numbers, dtype=np.float64)  # what orjson accepts
    tokens = orjson.dumps(contiguous, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
    small = np.abs(numbers) < _MIN_ORJSON_REPR
    if small.any():
        for index in np.flatnonzero(small & (numbers != 0.0)).tolist():
            tokens[index] = repr(float(numbers[index]))
    return tokens


def _string_tokens(strings: Sequence[str], max_chars: int) -> list[str]:
    """Return ``"s" + text[:max_chars]`` for each string."""
    if strings and max(map(len, strings)) <= max_chars:  # nothing to cut: concatenate in C
        return list(map("s".__add__, strings))
    return ["s" + s[:max_chars] for s in strings]


def stable_hashes(numbers: FloatArray) -> HashArray:
    """Return splitmix64 of each float64's bits: a stable, collision-free 64-bit hash."""
    z = numbers.view(np.uint64).copy()
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def canonicalise(values: Sequence[Any]) -> CanonicalBatch:
    """Split one column's values of a batch by kind (None means null); see the module rules."""
    types = set(map(type, values))
    types.discard(_NONE_TYPE)
    if not types:
        return _batch(len(values), 0)
    if types <= _NUMERIC_TYPES:
        try:
            return _numeric_batch(values, types == {int})
        except (OverflowError, orjson.JSONEncodeError):  # ints beyond 64 bits: go value by value
            pass
    elif types == {str}:
        return _string_batch(values)
    elif types == {bool}:
        trues, falses = values.count(True), values.count(False)
        nulls = len(values) - trues - falses
        return _batch(nulls, 4 * trues + 5 * falses, true_count=trues, false_count=falses)
    return _mixed_batch(values)


def decode_number(value: float, integral: bool) -> int | float:
    """Return a sketched float64 as it should be reported: int for integral columns."""
    return int(value) if integral else float(value)


def decode_token(token: str, integral: bool) -> str | bool | int | float:
    """Return the typed value a top-value token stands for."""
    if token.startswith("s"):
        return token[1:]
    if token.startswith("b"):
        return token == "btrue"
    return decode_number(float(token), integral)


def _batch(
    nulls: int,
    memory: int,
    numbers: FloatArray | None = None,
    integral: bool = True,
    strings: dict[str, int] | None = None,
    true_count: int = 0,
    false_count: int = 0,
) -> CanonicalBatch:
    """Build a CanonicalBatch with empty defaults."""
    return CanonicalBatch(
        null_count=nulls,
        memory_bytes=memory,
        numbers=np.empty(0, dtype=np.float64) if numbers is None else numbers,
        integral=integral,
        strings={} if strings is None else strings,
        true_count=true_count,
        false_count=false_count,
    )


def _numeric_batch(values: Sequence[Any], all_ints: bool) -> CanonicalBatch:
    """Canonicalise ints, floats and Nones; raise for ints beyond float64 or 64-bit JSON."""
    numbers = np.array(values, dtype=np.float64)  # None becomes NaN: both are nulls
    finite = np.isfinite(numbers)
    nulls = numbers.size - int(np.count_nonzero(finite))
    if nulls:
        numbers = numbers[finite]
    numbers += 0.0  # fold -0.0 into 0.0 so it sketches, hashes and reports as 0.0
    # orjson writes None, NaN and +-Infinity as "null": 4 bytes each to take off.
    memory = _orjson_wire_bytes(values) - 4 * nulls
    return _batch(nulls, memory, numbers=numbers, integral=_is_integral(numbers, all_ints))


def _is_integral(numbers: FloatArray, all_ints: bool) -> bool:
    """Return whether every number is whole and within +-2**53."""
    if not numbers.size:
        return True
    if float(np.abs(numbers).max()) > _MAX_EXACT_INT:
        return False
    return all_ints or bool((numbers == np.trunc(numbers)).all())


def _string_batch(values: Sequence[str | None]) -> CanonicalBatch:
    """Canonicalise strings and Nones, repairing lone surrogates if there are any."""
    counts = Counter(values)
    nulls = counts.pop(None, 0)
    try:
        memory = _orjson_wire_bytes(values) - 4 * nulls
    except orjson.JSONEncodeError:
        strings = [s for s in values if s is not None]
        memory = _json_wire_bytes(strings)
        counts = Counter(s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                         for s in strings)
    return _batch(nulls, memory, strings=cast("dict[str, int]", dict(counts)))


def _mixed_batch(values: Sequence[Any]) -> CanonicalBatch:
    """Canonicalise a batch of several kinds or of nested values, one value at a time."""
    numbers: list[float] = []
    number_values: list[Any] = []
    strings: list[str | None] = []
    string_values: list[Any] = []
    trues = falses = nulls = 0
    for value in values:
        if value is None:
            nulls += 1
        elif value is True:
            trues += 1
        elif value is False:
            falses += 1
        elif isinstance(value, int | float):
            number = _to_float(value)
            if math.isfinite(number):
                numbers.append(number)
                number_values.append(value)
            else:
                nulls += 1
        else:
            strings.append(_to_text(value))
            string_values.append(value)
    number_array = np.array(numbers, dtype=np.float64) + 0.0
    memory = _wire_bytes(number_values) + _wire_bytes(string_values) + 4 * trues + 5 * falses
    return _batch(
        nulls,
        memory,
        numbers=number_array,
        integral=_is_integral(number_array, False),
        strings=_string_batch(strings).strings,
        true_count=trues,
        false_count=falses,
    )


def _to_float(value: int | float) -> float:
    """Convert a number to float64, mapping ints beyond its range to infinity."""
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def _to_text(value: Any) -> str:
    """Return a non-numeric, non-boolean value as the text that is sketched."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        try:
            return orjson.dumps(value, option=_NESTED_OPTIONS).decode()
        except (orjson.JSONEncodeError, TypeError):
            return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _wire_bytes(values: Sequence[Any]) -> int:
    """Return the summed length of each value's compact JSON encoding."""
    try:
        return _orjson_wire_bytes(values)
    except orjson.JSONEncodeError:
        return _json_wire_bytes(values)


def _orjson_wire_bytes(values: Sequence[Any]) -> int:
    """Return the summed encoded length in one C call: drop the brackets and the commas."""
    if not values:
        return 0
    return len(orjson.dumps(values)) - 2 - (len(values) - 1)


def _json_wire_bytes(values: Sequence[Any]) -> int:
    """Return the summed encoded length one value at a time (values orjson refuses)."""
    total = 0
    for value in values:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        total += len(text.encode("utf-8", "surrogatepass"))
    return total
