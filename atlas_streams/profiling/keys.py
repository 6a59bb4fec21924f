"""How each canonical value is keyed: exact-table keys, distinct-sketch keys, top-value tokens.

The rest of canonicalisation (which kind a raw value is) lives in ``canonical``; this module
decides what identifies a value once its kind is known. Rules:

- **Exact keys.** Numbers (and datetimes) are their float64; booleans are two counters; an
  integer beyond 64 bits is its decimal text; a string is itself while it has at most
  ``max_chars`` code points, else its first ``max_chars`` plus ``"\\x00"`` and the hex of a
  64-bit BLAKE2b of the whole text, so long strings stay distinct values but keep a bounded
  size (reports show the prefix).
- **Distinct-sketch keys** (CPC): numbers as float64, strings as their exact key, booleans as
  two int64 values whose bit patterns are NaN payloads (no finite float64 and no valid UTF-8
  string hashes to them), big integers as ``"\\x00i"`` plus their decimal text. DataSketches
  hashes ``update(1)`` and ``update(1.0)`` differently: numbers are only ever passed as floats.
- **Top-value tokens** (frequent-items sketch): ``repr(float)`` for numbers, ``"s" + key`` for
  strings, ``"btrue"``/``"bfalse"`` for booleans and ``"i" + decimal`` for big integers (a float
  repr never starts with ``s``, ``b`` or ``i``: ``inf`` and ``nan`` are nulls), so values come
  back typed.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b

import numpy as np
import numpy.typing as npt
import orjson

__all__ = [
    "FALSE_KEY",
    "TRUE_KEY",
    "Decoder",
    "bigint_sketch_key",
    "decode_token",
    "display",
    "number_tokens",
    "string_keys",
]

FloatArray = npt.NDArray[np.float64]
#: A function from a sketched float64 to the value a report shows (int, float or ISO text).
Decoder = Callable[[float], int | float | str]

#: int64 keys for booleans: NaN bit patterns with payloads 1 and 2, never a finite float64.
TRUE_KEY = 0x7FF0000000000001
FALSE_KEY = 0x7FF0000000000002
#: Smallest nonzero magnitude whose orjson text equals its repr (below, orjson drops exponents).
_MIN_ORJSON_REPR = 1e-4


def string_keys(counts: dict[str, int], max_chars: int) -> dict[str, int]:
    """Return string counts keyed by exact key: long strings become prefix plus hash."""
    if not counts or max(map(len, counts)) <= max_chars:  # nothing to cut: the common case
        return counts
    keyed: dict[str, int] = {}
    for text, count in counts.items():
        key = text if len(text) <= max_chars else _long_key(text, max_chars)
        keyed[key] = keyed.get(key, 0) + count
    return keyed


def _long_key(text: str, max_chars: int) -> str:
    """Return the bounded key of a string longer than ``max_chars``."""
    digest = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{text[:max_chars]}\x00{digest}"


def display(key: str, max_chars: int) -> str:
    """Return the text a report shows for a string key (the prefix of a long string)."""
    if len(key) > max_chars and key[max_chars] == "\x00":
        return key[:max_chars]
    return key


def bigint_sketch_key(decimal: str) -> str:
    """Return the distinct-sketch key of an integer beyond 64 bits, given as decimal text."""
    return "\x00i" + decimal


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


def decode_token(token: str, number: Decoder, max_chars: int) -> str | bool | int | float:
    """Return the typed value a top-value token stands for; ``number`` decodes floats."""
    head = token[:1]
    if head == "s":
        return display(token[1:], max_chars)
    if head == "b":
        return token == "btrue"
    if head == "i":
        return int(token[1:])
    return number(float(token))
