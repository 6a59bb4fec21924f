"""What the window writer stores besides the window profiles, pure: its index and the acks.

``WindowIndex`` is one dataset's value of ``window_index``: its
:class:`~atlas_streams.windowing.DatasetClock`, one :class:`Summary` per kept window (what
``GET .../windows`` lists, and the generations folded per partition, which owners acknowledge),
and each partition's counts of rows without a usable event time and rows past the retention.
``recorded`` folds a :class:`~atlas_streams.windowing.MergeStep` into it; ``acks_of`` gives one
partition's :class:`~atlas_streams.tables.step.WindowAcks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import msgpack

from atlas_streams.tables.step import WindowAcks
from atlas_streams.windowing import DatasetClock, MergeStep, PartitionWindows, WindowingConfig
from atlas_streams.windowing.event_time import format_instant

__all__ = ["Summary", "WindowIndex", "acks_bytes", "acks_from_bytes", "recorded"]


@dataclass(frozen=True)
class Summary:
    """One window as listed, and the generations folded from each partition."""

    end: int
    row_count: int
    late_count: int
    closed: bool
    folded: Mapping[int, int] = field(default_factory=dict)

    def to_json(self, start: int) -> dict[str, Any]:
        """Return the window's entry of ``GET .../windows``."""
        return {"start": format_instant(start), "end": format_instant(self.end),
                "row_count": self.row_count, "late_count": self.late_count,
                "closed": self.closed}


@dataclass(frozen=True)
class WindowIndex:
    """A dataset's clock, its windows' summaries, and per-partition refusal counts."""

    clock: DatasetClock = field(default_factory=DatasetClock)
    summaries: Mapping[int, Summary] = field(default_factory=lambda: MappingProxyType({}))
    counts: Mapping[int, tuple[int, int]] = field(  # partition -> (rejected, expired)
        default_factory=lambda: MappingProxyType({}))

    @property
    def rejected_count(self) -> int:
        """Return the rows that had no usable event time, over every partition."""
        return sum(rejected for rejected, _ in self.counts.values())

    @property
    def expired_count(self) -> int:
        """Return the rows older than the retention when they came, over every partition."""
        return sum(expired for _, expired in self.counts.values())

    def between(self, since: int | None, until: int | None) -> list[int]:
        """Return the starts of the windows inside [since, until), oldest first."""
        return self.clock.between(since, until)

    def to_bytes(self) -> bytes:
        """Return the index as msgpack bytes."""
        packed: bytes = msgpack.packb([
            self.clock.to_bytes(),
            [[start, s.end, s.row_count, s.late_count, s.closed, dict(s.folded)]
             for start, s in sorted(self.summaries.items())],
            {p: list(c) for p, c in self.counts.items()},
        ], use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> WindowIndex:
        """Rebuild an index from ``to_bytes()`` output."""
        clock, summaries, counts = msgpack.unpackb(data, raw=False, strict_map_key=False)
        return cls(
            DatasetClock.from_bytes(clock),
            MappingProxyType({int(start): Summary(int(end), int(rows), int(late), bool(closed),
                                                  {int(p): int(g) for p, g in folded.items()})
                              for start, end, rows, late, closed, folded in summaries}),
            MappingProxyType({int(p): (int(r), int(e)) for p, (r, e) in counts.items()}),
        )

    def acks_of(self, partition: int, config: WindowingConfig) -> WindowAcks:
        """Return what a partition's owner may drop: parts folded, windows expired."""
        return WindowAcks(
            {start: s.folded[partition] for start, s in self.summaries.items()
             if partition in s.folded},
            self.clock.horizon(config))


def recorded(index: WindowIndex, step: MergeStep, partition: int | None = None,
             state: PartitionWindows | None = None) -> WindowIndex:
    """Return the index after ``step`` (of ``absorb`` for ``partition``'s ``state``, or ``tick``)."""
    summaries = {start: s for start, s in index.summaries.items() if start not in step.expired}
    for start, window in step.windows.items():
        summaries[start] = Summary(window.end, window.row_count, window.late_count,
                                   window.closed, dict(window.folded))
    counts = dict(index.counts)
    if partition is not None and state is not None:
        counts[partition] = (state.rejected_count, state.expired_count)
    return replace(index, clock=step.clock, summaries=MappingProxyType(summaries),
                   counts=MappingProxyType(counts))


def acks_bytes(acks: WindowAcks) -> bytes:
    """Return a partition's acks as msgpack bytes."""
    packed: bytes = msgpack.packb([acks.horizon, dict(acks.folded)], use_bin_type=True)
    return packed


def acks_from_bytes(data: bytes) -> WindowAcks:
    """Rebuild acks from ``acks_bytes`` output."""
    horizon, folded = msgpack.unpackb(data, raw=False, strict_map_key=False)
    return WindowAcks({int(s): int(g) for s, g in folded.items()},
                      None if horizon is None else int(horizon))
