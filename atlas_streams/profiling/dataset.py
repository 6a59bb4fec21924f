"""A dataset's mergeable profile: row counts plus one ColumnProfile per column."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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

__all__ = ["DatasetProfile", "PreparedRows", "with_freshness"]


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """A batch of rows read into canonical columns once (``DatasetProfile.prepare``).

    Reading is the costly half of an update (flattening and canonicalising 100 rows of 20
    columns: ~20% of the profiler's step, bench/RESULTS.md); a window's profile that takes the
    same rows as the all-time profile applies these instead of reading them again. Only
    profiles that read rows alike (``reading``) may apply them.
    """

    reading: tuple[int, tuple[tuple[str, float], ...]]  # flatten depth, datetime columns
    batches: Mapping[str, CanonicalBatch]  # by column, in the order the rows show them
    row_count: int

#: KLL k a profile over its byte budget shrinks sketches to before it gives up exact value
#: tables (rank error 1.0%, the accuracy promised before k=1024), and the least it shrinks to.
_SOFT_KLL_K = 256
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
        self.update_prepared(self.prepare(rows), now)

    def prepare(self, rows: Sequence[Mapping[str, Any]]) -> PreparedRows:
        """Read a batch of rows into canonical columns, as ``update`` would; change nothing.

        Every column is canonicalised before anything changes, so a failure leaves no
        half-update.
        """
        _check_rows(rows)
        options = self._options
        present = list(dict.fromkeys(chain.from_iterable(rows)))
        batches: dict[str, CanonicalBatch] = {
            name: canonicalise(values, options.datetime_unit(name), types)
            for name, (values, types) in columns_of(rows, present, options.flatten_depth).items()
        }
        return PreparedRows(_reading(options), MappingProxyType(batches), len(rows))

    def update_prepared(self, prepared: PreparedRows, now: float) -> None:
        """Add a batch of rows read by ``prepare`` (of this profile, or one that reads alike).

        Raises:
            ValueError: ``prepared`` was read with another flatten depth or datetime columns.
        """
        if prepared.reading != _reading(self._options):
            raise ValueError("these rows were prepared by a profile that reads rows otherwise "
                             "(flatten depth or datetime columns)")
        batches = prepared.batches
        for name, batch in batches.items():
            if name not in self._columns:
                self._columns[name] = self._nulls(name)
            self._columns[name].update(batch)
        for name, column in self._columns.items():
            if name not in batches and not column.counts.items:
                column.add_nulls(prepared.row_count)
        self._row_count += prepared.row_count
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

        ``now`` (epoch seconds) gives datetime columns their ``freshness_seconds``
        (``with_freshness``, for reports made without it).
        """
        updated = None
        if self._updated_at is not None:
            updated = datetime.fromtimestamp(self._updated_at, tz=UTC).isoformat()
        report = {
            "dataset_id": dataset_id,
            "row_count": self._row_count,
            "invalid_count": self._invalid_count,
            "updated_at": updated,
            "columns": {name: column.report() for name, column in self._columns.items()
                        if column.count or not self._has_children(name)},
        }
        return report if now is None else with_freshness(report, now)

    def to_bytes(self) -> bytes:
        """Return the profile as versioned bytes of at most ``options.max_profile_bytes``.

        Over the budget, the largest KLL sketches halve their k (down to 256), then the largest
        exact value tables give way to sketches, then k halves further, until the profile fits
        (see ``_fit``). Estimates then carry their (wider) bounds; this profile is unchanged.
        """
        packed = {name: codec.pack_column(column.to_state())
                  for name, column in self._columns.items()}
        envelope = len(self._encode(dict.fromkeys(packed, b""))) + 5 * len(packed)
        budget = self._options.max_profile_bytes - envelope  # 5: each blob's msgpack length
        if sum(map(len, packed.values())) > budget:
            _fit(packed, self._columns, budget)
        return self._encode(packed)

    def _encode(self, packed: dict[str, bytes]) -> bytes:
        """Return the profile bytes around the given packed columns."""
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


def with_freshness(report: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Return a copy of a profile report whose datetime columns say how old their newest value is.

    ``freshness_seconds`` is ``now`` (epoch seconds) minus the column's ``max``; a report can
    be made once and stamped at each request (``report`` itself never changes).
    """
    columns = dict(report.get("columns", {}))
    for name, column in columns.items():
        newest = column.get("max") if column.get("type") == "datetime" else None
        if isinstance(newest, str) and newest.endswith("Z"):
            moment = datetime.fromisoformat(newest.removesuffix("Z") + "+00:00")
            columns[name] = {**column, "freshness_seconds": now - moment.timestamp()}
    return {**report, "columns": columns}


def _fit(packed: dict[str, bytes], columns: Mapping[str, ColumnProfile], budget: int) -> None:
    """Shrink the largest columns' packed states in ``packed`` until they fit ``budget``.

    In three rounds, each only while over budget and only where it saves bytes: KLL sketches
    halve their k down to ``_SOFT_KLL_K`` (rank error stays near 1%, and says so), then exact
    value tables become sketches (a table of a few hundred values is no larger than its
    sketches and stays), then KLL k halves down to ``_MIN_KLL_K``.
    """
    shrunk = dict(columns)

    def over() -> bool:
        return sum(map(len, packed.values())) > budget

    def halve(floor: int) -> bool:  # shrink the largest sketch that can still halve
        candidates = [n for n in packed if shrunk[n].quantiles.count and shrunk[n].quantiles.k > floor]
        if not candidates:
            return False
        name = max(candidates, key=lambda n: len(packed[n]))
        column = shrunk[name]
        shrunk[name] = column.shrunk(exact=column.values.is_exact,
                                     kll_k=max(column.quantiles.k // 2, floor))
        packed[name] = codec.pack_column(shrunk[name].to_state())
        return True

    while over() and halve(_SOFT_KLL_K):
        pass
    for name in sorted(packed, key=lambda n: -len(packed[n])):
        if not over():
            return
        if shrunk[name].values.is_exact:
            sketched = shrunk[name].shrunk(exact=False, kll_k=shrunk[name].quantiles.k)
            data = codec.pack_column(sketched.to_state())
            if len(data) < len(packed[name]):
                shrunk[name], packed[name] = sketched, data
    while over():
        if not halve(_MIN_KLL_K):
            raise ProfileError(
                f"a profile of {len(packed)} columns does not fit {budget:,} bytes even with "
                "minimal sketches; raise ProfileOptions.max_profile_bytes (and the topics' "
                "max.message.bytes) or profile fewer columns"
            )


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


def _reading(options: ProfileOptions) -> tuple[int, tuple[tuple[str, float], ...]]:
    """Return what reading rows into columns depends on (``PreparedRows.reading``)."""
    return options.flatten_depth, options.datetime_columns


def _latest(first: float | None, second: float | None) -> float | None:
    """Return the later of two optional times."""
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
