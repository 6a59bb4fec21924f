"""Decide what one column's decoded JSON values feed to each sketch.

This is the only module that looks at raw values. Rules:

- **Kinds.** ``int`` and ``float`` are NUMERIC (``bool`` is not), ``str`` is STRING, ``bool`` is
  BOOLEAN. A string that is an ISO-8601 date or time (``2026-11-10``, ``2026-11-10T10:00:00Z``,
  with an optional fraction and offset; no offset means UTC) is DATETIME, and so is every number
  of a column named a datetime column (epoch seconds times its unit). An ``int`` beyond 64 bits
  (outside [-2**63, 2**63)) is BIGINT: counted exactly, never turned into a float. Nested JSON
  that reaches a column (deeper than the flattening depth, or inside arrays) is canonicalised to
  its compact JSON text with sorted keys and counted as STRING; any other Python object (not
  produced by a JSON decoder) is counted as STRING via ``str()``.
- **Nulls.** ``None``, a missing key, and numbers that are not finite as float64 (NaN, +-Infinity)
  are nulls: orjson writes non-finite floats as ``null``.
- **Numbers** are float64 with ``-0.0`` folded into ``0.0``; datetimes are float64 epoch seconds
  and share the numeric sketches. A column is *integral* while every number it saw is a whole
  number within +-2**53; its min, max, quantiles and top values are then reported as ints.
- **Strings** with lone surrogates (possible from ``json.loads``) are repaired with U+FFFD,
  because the sketches only accept valid UTF-8. String length is ``len(str)`` in code points.
- **Wire size.** ``memory_bytes`` is the sum over non-null values of the length of their compact
  JSON encoding.

What a value is keyed by in the exact tables and the sketches is decided in ``exact``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import IntFlag
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import orjson

__all__ = [
    "CanonicalBatch",
    "Kind",
    "canonicalise",
    "format_datetime",
]

FloatArray = npt.NDArray[np.float64]

_NONE_TYPE = type(None)
_NUMERIC_TYPES = frozenset({int, float})
_MAX_EXACT_INT = float(2**53)
_INT64_LIMIT = 2**63
#: 10**1 ... 10**16 as float64 (exact): a whole number with j of them at or below it has j+1 digits.
_POWERS_OF_TEN = 10.0 ** np.arange(1, 17)
_NESTED_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
#: One ISO-8601 date or date-time a line; ``fromisoformat`` then decides (it refuses 25:00).
_ISO_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d(?::?\d\d)?)?)?$",
    re.MULTILINE,
)


class Kind(IntFlag):
    """Kinds of non-null value a column has seen (a bit set)."""

    NONE = 0
    NUMERIC = 1
    STRING = 2
    BOOLEAN = 4
    DATETIME = 8
    BIGINT = 16


@dataclass(frozen=True, slots=True)
class CanonicalBatch:
    """One column's values from one batch, split by kind and ready to sketch.

    ``numbers`` holds the numeric values and then the datetimes (epoch seconds):
    ``numbers[:numeric_count]`` are NUMERIC, the rest DATETIME.
    """

    null_count: int
    memory_bytes: int
    numbers: FloatArray
    numeric_count: int
    integral: bool
    strings: dict[str, int]
    true_count: int
    false_count: int
    bigints: dict[int, int] = field(default_factory=dict)
    #: The column's values as given, when its strings are exactly its non-null values (no
    #: datetime among them, nothing repaired): counting them again is cheaper than merging
    #: thousands of distinct counts.
    plain_strings: Sequence[Any] | None = None

    @property
    def datetime_count(self) -> int:
        """Return how many of ``numbers`` are datetimes."""
        return int(self.numbers.size) - self.numeric_count

    @property
    def bigint_count(self) -> int:
        """Return how many values were integers beyond 64 bits."""
        return sum(self.bigints.values())

    @property
    def count(self) -> int:
        """Return the number of non-null values."""
        strings = sum(self.strings.values())
        return int(self.numbers.size) + strings + self.true_count + self.false_count + \
            self.bigint_count

    @property
    def kinds(self) -> Kind:
        """Return the kinds present in this batch."""
        kinds = Kind.NONE
        if self.numeric_count:
            kinds |= Kind.NUMERIC
        if self.datetime_count:
            kinds |= Kind.DATETIME
        if self.strings:
            kinds |= Kind.STRING
        if self.true_count or self.false_count:
            kinds |= Kind.BOOLEAN
        if self.bigints:
            kinds |= Kind.BIGINT
        return kinds


def canonicalise(values: Sequence[Any], datetime_unit: float | None = None,
                 types: set[type] | None = None) -> CanonicalBatch:
    """Split one column's values of a batch by kind (None means null); see the module rules.

    With ``datetime_unit`` (seconds per unit: 1.0, 1e-3, ...) the column's numbers are
    datetimes in that unit since the epoch. ``types``, when the caller has it, is the set of
    the values' types.
    """
    types = set(map(type, values)) if types is None else types - {_NONE_TYPE}
    types.discard(_NONE_TYPE)
    if not types:
        return _batch(len(values), 0)
    batch: CanonicalBatch | None = None
    if types <= _NUMERIC_TYPES:
        batch = _numeric_batch(values, int in types, float in types)
    elif types == {str}:
        batch = _string_batch(values)
    elif types == {bool}:
        trues, falses = values.count(True), values.count(False)
        nulls = len(values) - trues - falses
        batch = _batch(nulls, 4 * trues + 5 * falses, true_count=trues, false_count=falses)
    if batch is None:
        batch = _mixed_batch(values)
    if datetime_unit is not None and batch.numeric_count:
        batch = _as_datetimes(batch, datetime_unit)
    return batch


def format_datetime(seconds: float) -> str:
    """Return epoch seconds as an ISO-8601 UTC string ending in ``Z``."""
    try:
        text = datetime.fromtimestamp(seconds, tz=UTC).isoformat()
    except (OverflowError, ValueError, OSError):  # beyond year 9999: say the number
        return f"{seconds!r} s since 1970-01-01T00:00:00Z"
    return text.removesuffix("+00:00") + "Z"


def _batch(
    nulls: int,
    memory: int,
    numbers: FloatArray | None = None,
    numeric_count: int | None = None,
    integral: bool = True,
    strings: dict[str, int] | None = None,
    true_count: int = 0,
    false_count: int = 0,
    bigints: dict[int, int] | None = None,
) -> CanonicalBatch:
    """Build a CanonicalBatch with empty defaults."""
    numbers = np.empty(0, dtype=np.float64) if numbers is None else numbers
    return CanonicalBatch(
        null_count=nulls,
        memory_bytes=memory,
        numbers=numbers,
        numeric_count=int(numbers.size) if numeric_count is None else numeric_count,
        integral=integral,
        strings={} if strings is None else strings,
        true_count=true_count,
        false_count=false_count,
        bigints={} if bigints is None else bigints,
    )


def _numeric_batch(values: Sequence[Any], has_ints: bool, has_floats: bool) -> CanonicalBatch | None:
    """Canonicalise ints, floats and Nones; None when some int is beyond 64 bits."""
    try:
        numbers = np.array(values, dtype=np.float64)  # None becomes NaN: both are nulls
    except OverflowError:  # an int beyond float64's range
        return None
    finite = np.isfinite(numbers)
    nulls = numbers.size - int(np.count_nonzero(finite))
    if nulls:
        numbers = numbers[finite]
    if has_ints and numbers.size and float(np.abs(numbers).max()) >= _INT64_LIMIT:
        return None  # maybe ints beyond 64 bits: the value-by-value path tells them apart
    numbers += 0.0  # fold -0.0 into 0.0 so it sketches, keys and reports as 0.0
    integral = _is_integral(numbers, not has_floats)
    if has_floats or not integral:
        # orjson writes None, NaN and +-Infinity as "null": 4 bytes each to take off.
        memory = _wire_bytes(values) - 4 * nulls
    else:  # ints within +-2**53: count their digits in numpy instead of formatting them
        memory = _int_wire_bytes(numbers)
    return _batch(nulls, memory, numbers=numbers, integral=integral)


def _int_wire_bytes(numbers: FloatArray) -> int:
    """Return the summed decimal length of whole numbers within +-2**53 (and their signs)."""
    magnitudes = np.abs(numbers)
    digits = np.searchsorted(_POWERS_OF_TEN, magnitudes, side="right")
    return int(digits.sum()) + int(numbers.size) + int(np.count_nonzero(numbers < 0))


def _is_integral(numbers: FloatArray, all_ints: bool) -> bool:
    """Return whether every number is whole and within +-2**53."""
    if not numbers.size:
        return True
    if float(np.abs(numbers).max()) > _MAX_EXACT_INT:
        return False
    return all_ints or bool((numbers == np.trunc(numbers)).all())


def _string_batch(values: Sequence[str | None]) -> CanonicalBatch:
    """Canonicalise strings and Nones: repair lone surrogates, tell datetimes apart."""
    counts = Counter(values)
    nulls = counts.pop(None, 0)
    repaired = False
    try:
        memory = _orjson_wire_bytes(values) - 4 * nulls
    except orjson.JSONEncodeError:
        strings = [s for s in values if s is not None]
        memory = _json_wire_bytes(strings)
        counts = Counter(s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                         for s in strings)
        repaired = True
    plain = cast("dict[str, int]", counts)
    times = _datetimes(plain)
    batch = _batch(nulls, memory, numbers=times, numeric_count=0, strings=plain)
    if times.size or repaired:
        return batch
    return replace(batch, plain_strings=values)


def _datetimes(strings: dict[str, int]) -> FloatArray:
    """Move the ISO-8601 strings out of ``strings``; return their instants, one per value."""
    if not strings:
        return np.empty(0, dtype=np.float64)
    # One regex pass over all distinct strings in C; a string holding a newline could make a
    # line look like a date, so each match must also be a key.
    found = [text for text in _ISO_LINE.findall("\n".join(strings)) if text in strings]
    seconds: list[float] = []
    repeats: list[int] = []
    for text in found:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds.append(moment.timestamp() + 0.0)
        repeats.append(strings.pop(text))
    return np.repeat(np.array(seconds, dtype=np.float64), repeats)


def _as_datetimes(batch: CanonicalBatch, unit: float) -> CanonicalBatch:
    """Return the batch with its numeric values read as epoch times in ``unit`` seconds."""
    numbers = batch.numbers.copy()
    numbers[: batch.numeric_count] *= unit
    return CanonicalBatch(batch.null_count, batch.memory_bytes, numbers, 0, batch.integral,
                          batch.strings, batch.true_count, batch.false_count, batch.bigints)


def _mixed_batch(values: Sequence[Any]) -> CanonicalBatch:
    """Canonicalise a batch of several kinds or of nested values, one value at a time."""
    numbers: list[float] = []
    number_values: list[Any] = []
    strings: list[str | None] = []
    string_values: list[Any] = []
    bigints: Counter[int] = Counter()
    trues = falses = nulls = 0
    for value in values:
        if value is None:
            nulls += 1
        elif value is True:
            trues += 1
        elif value is False:
            falses += 1
        elif isinstance(value, int) and not -_INT64_LIMIT <= value < _INT64_LIMIT:
            bigints[int(value)] += 1
        elif isinstance(value, int | float):
            number = float(value)
            if math.isfinite(number):
                numbers.append(number)
                number_values.append(value)
            else:
                nulls += 1
        else:
            strings.append(_to_text(value))
            string_values.append(value)
    number_array = np.array(numbers, dtype=np.float64) + 0.0
    text = _string_batch(strings)
    memory = (_wire_bytes(number_values) + _wire_bytes(string_values) + 4 * trues + 5 * falses
              + sum(len(str(n)) * c for n, c in bigints.items()))
    return _batch(
        nulls,
        memory,
        numbers=np.concatenate([number_array, text.numbers]),
        numeric_count=len(numbers),
        integral=_is_integral(number_array, False),
        strings=text.strings,
        true_count=trues,
        false_count=falses,
        bigints=dict(bigints),
    )


def _to_text(value: Any) -> str:
    """Return a non-numeric, non-boolean value as the text that is sketched."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
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
    """Return the summed encoded length one value at a time (a batch orjson refuses).

    Each value orjson takes is measured by orjson, as in a batch it takes whole: the json
    module writes some floats a byte longer (``6.1e-05``, not ``6.1e-5``), so a float counted
    next to an integer beyond 64 bits counted a byte more than alone (found by the merge law).
    """
    total = 0
    for value in values:
        try:
            total += len(orjson.dumps(value))
            continue
        except orjson.JSONEncodeError:
            pass
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        total += len(text.encode("utf-8", "surrogatepass"))
    return total
