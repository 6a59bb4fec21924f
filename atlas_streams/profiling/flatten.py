"""Turn a batch of rows (decoded JSON objects) into named columns, flattening nested values.

Rules, for a flattening depth ``d`` (``ProfileOptions.flatten_depth``, default 3):

- A top-level key is a column. Where a column's value is an object and the column is at most
  ``d`` levels deep (top-level columns are level 1), each of its keys is a column one level
  deeper, named ``parent.key`` (``user.country``); rows where the parent is not an object are
  null there. Deeper objects stay whole, as JSON text.
- Where a column's value is an array (at most ``d`` levels deep), ``name.length`` is a column of
  array lengths and ``name[]`` a column of the items themselves (objects and arrays among them
  as JSON text). An item column counts items, not rows: it is exempt from ``count + null_count
  == row_count``.
- The column itself stays, null in the rows that were flattened (so that the profile of a part
  where it was always null merges with one where it was nested); reports leave out such a
  column while it has no value (``DatasetProfile.report``).
- A missing key is a null, as an explicit null is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

__all__ = ["ITEMS_SUFFIX", "LENGTH_SUFFIX", "Column", "columns_of", "is_items_column"]

#: A column's values in row order, and the set of their types (computed once, used twice).
Column = tuple[list[Any], set[type]]

ITEMS_SUFFIX = "[]"
LENGTH_SUFFIX = ".length"
#: Rows per extraction block: a block's dicts (about 1 KB each at 20 columns) stay in cache.
_BLOCK_ROWS = 1024
_NESTED = (dict, list)
_NESTED_TYPES: set[type] = {dict, list}


def is_items_column(name: str) -> bool:
    """Return whether a column holds array items (and so counts items, not rows)."""
    return name.endswith(ITEMS_SUFFIX)


def columns_of(rows: Sequence[Mapping[str, Any]], names: list[str],
               depth: int) -> dict[str, Column]:
    """Return each column's values in row order (None where a row lacks it), flattened.

    ``names`` are the top-level keys to extract, in the order columns should appear.
    """
    columns: dict[str, Column] = {}
    for name, values in _top_level(rows, names).items():
        _expand(columns, name, values, 1, depth)
    return columns


def _top_level(rows: Sequence[Mapping[str, Any]], names: list[str]) -> dict[str, list[Any]]:
    """Return each named top-level column's values, None where a row lacks the key.

    Rows are read a block at a time, every column per block, so a block's dicts stay in the CPU
    cache across the column passes (one pass per column over 10,000 dicts misses it each row).
    """
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for start in range(0, len(rows), _BLOCK_ROWS):
        block = rows[start : start + _BLOCK_ROWS] if len(rows) > _BLOCK_ROWS else rows
        for name, values in columns.items():
            _extend_column(values, block, name)
    return columns


def _extend_column(values: list[Any], block: Sequence[Mapping[str, Any]], name: str) -> None:
    """Append one column's values from a block of rows, None where a row lacks the column."""
    done = len(values)
    try:
        values += map(itemgetter(name), block)  # a loop in C while every row has the column
    except KeyError:
        del values[done:]
        try:
            values += map(dict.get, block, repeat(name))  # type: ignore[arg-type]  # C loop too
        except TypeError:  # rows that are other mappings
            del values[done:]
            values += [row.get(name) for row in block]


def _expand(columns: dict[str, Column], name: str, values: list[Any], level: int,
            depth: int) -> None:
    """Add ``name`` and, for its objects and arrays within ``depth``, its child columns."""
    types = set(map(type, values))
    if level > depth or not types & _NESTED_TYPES:
        columns[name] = (values, types)
        return
    # The column stays, null where its value was flattened, even if nothing else is left: a
    # part of the rows where it was all null must merge with a part where it was nested.
    scalars = [None if type(v) in _NESTED else v for v in values]
    columns[name] = (scalars, types - _NESTED_TYPES | {type(None)})
    if dict in types:
        objects = [v if type(v) is dict else None for v in values]
        keys = dict.fromkeys(chain.from_iterable(v for v in objects if v is not None))
        for key in keys:
            child = [None if v is None else v.get(key) for v in objects]
            _expand(columns, f"{name}.{key}", child, level + 1, depth)
    if list in types:
        arrays = [v if type(v) is list else None for v in values]
        lengths = [None if v is None else len(v) for v in arrays]
        columns[name + LENGTH_SUFFIX] = (lengths, set(map(type, lengths)))
        items = list(chain.from_iterable(v for v in arrays if v is not None))
        if items:
            columns[name + ITEMS_SUFFIX] = (items, set(map(type, items)))
