"""A dataset's mergeable profile: row counts plus one ColumnProfile per column."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import chain
from types import MappingProxyType
from typing import Any

from atlas_streams.profiling import codec
from atlas_streams.profiling.canonical import CanonicalBatch, canonicalise
from atlas_streams.profiling.column import ColumnProfile
from atlas_streams.profiling.errors import (
    IncompatibleProfilesError,
    ProfileError,
    ProfileFormatError,
)
from atlas_streams.profiling.flatten import columns_of, is_items_column
from atlas_streams.profiling.options import ProfileOptions

__all__ = ["DatasetProfile"]

#: The smallest KLL k a profile over its byte budget shrinks a sketch to (rank error ~6.6%).
_MIN_KLL_K = 32


class DatasetProfile:
    """Profile of a dataset's rows; ``zero`` is the identity of ``merge``.

    Columns appear in the order first seen; nested objects and arrays become columns as
    ``flatten`` says. A column missing from a row counts as null for that row, including rows
    seen before the column first appeared, so for every column but the item columns of arrays
    (``tags[]``, which count items) ``count + null_count == row_count``.
    """

    __slots__ = ("_columns", "_invalid_count", "_options", "_row_count", "_updated_at")

    def __init__(
        self,
        options: ProfileOptions,
        row_count: int,
        invalid_count: int,
        updated_at: float | None,
        columns: dict[str, ColumnProfile],
    ) -> None:
        """Assemble a profile from its parts (use ``zero`` or ``from_bytes`` instead)."""
        self._options = options
        self._row_count = row_count
        self._invalid_count = invalid_count
        self._updated_at = updated_at
        self._columns = columns

    @classmethod
    def zero(cls, options: ProfileOptions | None = None) -> DatasetProfile:
        """Return the profile of no rows."""
        return cls(options or ProfileOptions(), 0, 0, None, {})

    @property
    def options(self) -> ProfileOptions:
        """Return the options every column sketch was built with."""
        return self._options

    @property
    def row_count(self) -> int:
        """Return the number of rows profiled."""
        return self._row_count

    @property
    def invalid_count(self) -> int:
        """Return the number of malformed messages counted by ``add_invalid``."""
        return self._invalid_count

    @property
    def updated_at(self) -> float | None:
        """Return the latest update time (epoch seconds), or None if never updated."""
        return self._updated_at

    @property
    def columns(self) -> Mapping[str, ColumnProfile]:
        """Return a read-only view of the column profiles, in first-seen order."""
        return MappingProxyType(self._columns)

    def update(self, rows: Sequence[Mapping[str, Any]], now: float) -> None:
        """Add a batch of rows (decoded JSON objects) seen at ``now`` (epoch seconds)."""
        _check_rows(rows)
        options = self._options
        names = set().union(*rows) if rows else set()
        known = {name.partition(".")[0] for name in self._columns}
        present = [name for name in dict.fromkeys(known) if name in names]
        present += _new_names(rows, names - known)
        # Canonicalise every column before changing anything, so a failure leaves no half-update.
        batches: dict[str, CanonicalBatch] = {
            name: canonicalise(values, options.datetime_unit(name), types)
            for name, (values, types) in columns_of(rows, present, options.flatten_depth).items()
        }
        for name, batch in batches.items():
            if name not in self._columns:
                self._columns[name] = self._nulls(name)
            self._columns[name].update(batch)
        for name, column in self._columns.items():
            if name not in batches and not column.counts.items:
                column.add_nulls(len(rows))
        self._row_count += len(rows)
        self._updated_at = _latest(self._updated_at, float(now))

    def add_invalid(self, count: int = 1) -> None:
        """Count ``count`` malformed messages (sent to the dead-letter topic)."""
        if count < 0:
            raise ValueError(f"invalid message count must be >= 0, got {count}")
        self._invalid_count += count

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """Return a new profile of both inputs' rows; neither input changes.

        Options must be equal, except ``kll_k``: KLL sketches of different k merge, with the
        smaller k's accuracy (profiles stored before a change of the default still merge).
        """
        options = _merged_options(self._options, other._options)
        columns: dict[str, ColumnProfile] = {}
        for name in chain(self._columns, other._columns):
            if name not in columns:
                mine = self._column_or_nulls(name)
                columns[name] = mine.merge(other._column_or_nulls(name))
        return DatasetProfile(
            options,
            self._row_count + other._row_count,
            self._invalid_count + other._invalid_count,
            _latest(self._updated_at, other._updated_at),
            columns,
        )

    def report(self, dataset_id: str, now: float | None = None) -> dict[str, Any]:
        """Return the profile JSON of the contract, plus ``invalid_count``.

        ``now`` (epoch seconds) gives datetime columns their ``freshness_seconds``.
        """
        updated = None
        if self._updated_at is not None:
            updated = datetime.fromtimestamp(self._updated_at, tz=UTC).isoformat()
        return {
            "dataset_id": dataset_id,
            "row_count": self._row_count,
            "invalid_count": self._invalid_count,
            "updated_at": updated,
            "columns": {name: column.report(now) for name, column in self._columns.items()
                        if column.count or not self._has_children(name)},
        }

    def to_bytes(self) -> bytes:
        """Return the profile as versioned bytes of at most ``options.max_profile_bytes``.

        Over the budget, the columns with the largest exact value tables give them up for
        sketches, largest first, and then the largest KLL sketches halve their k, until the
        profile fits. Estimates then carry their (wider) bounds; this profile is unchanged.
        """
        packed = {name: codec.pack_column(column.to_state())
                  for name, column in self._columns.items()}
        budget = self._options.max_profile_bytes - 200  # room for the dataset envelope
        if sum(map(len, packed.values())) > budget:
            _fit(packed, self._columns, budget)
        return codec.encode({
            "options": self._options.to_state(),
            "rows": self._row_count,
            "invalid": self._invalid_count,
            "updated_at": self._updated_at,
            "columns": [[name, data] for name, data in packed.items()],
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetProfile:
        """Rebuild a profile from ``to_bytes()`` output; raise ProfileFormatError if invalid."""
        state = codec.decode(data)
        try:
            return cls._from_state(state)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
            raise ProfileFormatError(
                f"profile bytes have the right version but an invalid layout "
                f"({type(exc).__name__}: {exc}); the profile cannot be read"
            ) from exc

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> DatasetProfile:
        """Rebuild a profile from a decoded state dict."""
        options = ProfileOptions.from_state(state["options"])
        rows, invalid, updated = state["rows"], state["invalid"], state["updated_at"]
        if type(rows) is not int or type(invalid) is not int or min(rows, invalid) < 0:
            raise ValueError("row and invalid counts must be non-negative ints")
        if updated is not None and not (isinstance(updated, float) and math.isfinite(updated)):
            raise ValueError("updated_at must be a finite float or None")
        columns = {
            str(name): ColumnProfile.from_state(codec.unpack_column(column), options)
            for name, column in state["columns"]
        }
        for name, column in columns.items():
            if not column.counts.items and column.count + column.null_count != rows:
                raise ValueError(f"column {name!r} does not account for every row")
        return cls(options, rows, invalid, updated, columns)

    def _has_children(self, name: str) -> bool:
        """Return whether flattening made columns of this column's objects or arrays."""
        return any(other.startswith((f"{name}.", f"{name}[]")) for other in self._columns)

    def _column_or_nulls(self, name: str) -> ColumnProfile:
        """Return the named column, or one that is null in all of this profile's rows."""
        column = self._columns.get(name)
        return self._nulls(name) if column is None else column

    def _nulls(self, name: str) -> ColumnProfile:
        """Return a new column null in all of this profile's rows (empty, for an item column)."""
        items = is_items_column(name)
        column = ColumnProfile.zero(self._options, items=items)
        if not items:
            column.add_nulls(self._row_count)
        return column


def _fit(packed: dict[str, bytes], columns: Mapping[str, ColumnProfile], budget: int) -> None:
    """Shrink the largest columns' packed states in ``packed`` until they fit ``budget``."""
    total = sum(map(len, packed.values()))
    shrunk = dict(columns)
    for name in sorted(packed, key=lambda n: -len(packed[n])):
        if total <= budget:
            return
        if shrunk[name].values.is_exact:
            shrunk[name] = shrunk[name].shrunk(exact=False, kll_k=shrunk[name].quantiles.k)
            total -= len(packed[name])
            packed[name] = codec.pack_column(shrunk[name].to_state())
            total += len(packed[name])
    while total > budget:
        name = max(packed, key=lambda n: (shrunk[n].quantiles.k > _MIN_KLL_K, len(packed[n])))
        column = shrunk[name]
        if column.quantiles.k <= _MIN_KLL_K:
            raise ProfileError(
                f"a profile of {len(packed)} columns does not fit {budget:,} bytes even with "
                "minimal sketches; raise ProfileOptions.max_profile_bytes (and the topics' "
                "max.message.bytes) or profile fewer columns"
            )
        shrunk[name] = column.shrunk(exact=False, kll_k=max(column.quantiles.k // 2, _MIN_KLL_K))
        total -= len(packed[name])
        packed[name] = codec.pack_column(shrunk[name].to_state())
        total += len(packed[name])


def _merged_options(first: ProfileOptions, second: ProfileOptions) -> ProfileOptions:
    """Return the options of a merge: the equal ones, or the smaller ``kll_k`` if only it differs."""
    if first == second:
        return first
    if first.mergeable_with(second):
        return replace(first, kll_k=min(first.kll_k, second.kll_k))
    raise IncompatibleProfilesError(
        f"cannot merge profiles built with different options: {first} and {second}; only "
        "kll_k and the reading and size settings may differ. Rebuild one of them with the "
        "other's options"
    )


def _check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise TypeError unless every row is a mapping (the agent dead-letters the rest)."""
    if set(map(type, rows)) <= {dict}:
        return
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(
                f"row {index} is a {type(row).__name__}, not a JSON object; "
                "dead-letter it and count it with add_invalid()"
            )


def _new_names(rows: Sequence[Mapping[str, Any]], new: set[str]) -> list[str]:
    """Return the new column names in the order they first appear in the rows."""
    if not new:
        return []
    return [name for name in dict.fromkeys(chain.from_iterable(rows)) if name in new]


def _latest(first: float | None, second: float | None) -> float | None:
    """Return the later of two optional times."""
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
