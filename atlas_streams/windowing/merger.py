"""The single writer of a dataset's windows: merges partitions, closes and expires windows.

It reads every (dataset, partition)'s ``PartitionWindows`` in the order they were written (the
partition table's changelog) and keeps one ``DatasetClock`` per dataset and one
``WindowProfile`` per window. ``absorb`` takes one partition's state in; ``tick`` closes the
windows of a quiet dataset; ``resume`` restarts the quiet timer when the writer (re)starts.

When a window closes (decided here, for the whole dataset):

1. **Event time.** Every partition has passed the window's end + grace: its event-time
   watermark is at or past it. Partitions that never had a windowed row do not count.
2. **An idle partition** does not hold windows open: one that has read its partition to the end
   (``caught_up``) and whose newest message is more than the grace older than the dataset's
   newest message. Both are read from the log (Kafka message timestamps, offsets), never from
   the wall clock, so a replay of old data decides as the live run did; and a partition that is
   merely behind (not caught up) is never idle, however far behind.
3. **A quiet dataset** (every partition caught up, and no new row for the grace, by the wall
   clock) closes every open window, its last one included: nothing else would. The timer counts
   only while the writer runs (``resume``), so a restart never closes windows by itself, and a
   replay, which keeps making progress, never looks quiet.

The wall clock only decides *when* a window is final (``closed``); what a window holds, and
which rows are late, depends on the rows alone. A row that reaches a closed window corrects it:
it is reported in ``corrected`` so its drift is computed again.

Expiry counts back from the dataset's event-time watermark (the largest over its partitions):
a window ending at or before watermark - retention is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from atlas_streams.profiling import ProfileOptions
from atlas_streams.windowing import codec
from atlas_streams.windowing.config import WindowingConfig
from atlas_streams.windowing.errors import WindowStateError
from atlas_streams.windowing.partition import PartitionWindows
from atlas_streams.windowing.window import WindowProfile

__all__ = ["FORMAT_VERSION", "DatasetClock", "MergeStep", "PartitionClock", "absorb", "needed",
           "resume", "tick"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class PartitionClock:
    """What the writer knows of one partition's progress."""

    watermark: int | None  # event time (ms)
    max_timestamp: int  # newest message timestamp (ms)
    offset: int
    epoch: int
    caught_up: bool


@dataclass(frozen=True, slots=True)
class DatasetClock:
    """A dataset's partitions' progress, and the windows it keeps (start -> end)."""

    partitions: Mapping[int, PartitionClock] = field(default_factory=lambda: MappingProxyType({}))
    windows: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    open: frozenset[int] = frozenset()
    quiet_since: int | None = None  # wall-clock ms of the last progress, or of resume()

    @property
    def watermark(self) -> int | None:
        """Return the dataset's event-time watermark: the largest of its partitions'."""
        marks = [p.watermark for p in self.partitions.values() if p.watermark is not None]
        return max(marks) if marks else None

    def horizon(self, config: WindowingConfig) -> int | None:
        """Return the expiry horizon: windows ending at or before it are gone."""
        watermark = self.watermark
        return None if watermark is None else watermark - config.retention

    def idle(self, partition: int, config: WindowingConfig) -> bool:
        """Return whether a partition is idle: read to its end, its newest message old."""
        clock = self.partitions[partition]
        newest = max(p.max_timestamp for p in self.partitions.values())
        return clock.caught_up and newest - clock.max_timestamp > config.grace

    def closing_watermark(self, config: WindowingConfig) -> int | None:
        """Return the smallest watermark of the partitions that are not idle."""
        marks = [clock.watermark for p, clock in self.partitions.items()
                 if clock.watermark is not None and not self.idle(p, config)]
        return min(marks) if marks else None

    def between(self, since: int | None, until: int | None) -> list[int]:
        """Return the starts of the windows inside [since, until), oldest first."""
        return [start for start, end in sorted(self.windows.items())
                if (since is None or start >= since) and (until is None or end <= until)]

    def latest_closed(self) -> int | None:
        """Return the start of the newest closed window (the ``latest`` reference)."""
        closed = [start for start in self.windows if start not in self.open]
        return max(closed) if closed else None

    def to_bytes(self) -> bytes:
        """Return the clock as versioned msgpack bytes."""
        return codec.encode(FORMAT_VERSION, [
            {p: [c.watermark, c.max_timestamp, c.offset, c.epoch, c.caught_up]
             for p, c in self.partitions.items()},
            [[start, end] for start, end in sorted(self.windows.items())],
            sorted(self.open), self.quiet_since,
        ])

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetClock:
        """Rebuild a clock from ``to_bytes()`` output; raise WindowStateError if invalid."""
        return codec.read(data, FORMAT_VERSION, "dataset clock", cls._from_document)

    @classmethod
    def _from_document(cls, document: list[Any]) -> DatasetClock:
        partitions, windows, open_starts, quiet_since = document
        return cls(
            MappingProxyType({int(p): PartitionClock(*c) for p, c in partitions.items()}),
            MappingProxyType({int(start): int(end) for start, end in windows}),
            frozenset(int(s) for s in open_starts),
            None if quiet_since is None else int(quiet_since),
        )


@dataclass(frozen=True, slots=True)
class MergeStep:
    """What the writer must do after a step: write, delete, and compute drift for."""

    clock: DatasetClock
    windows: Mapping[int, WindowProfile]  # changed windows: write these
    closed: tuple[int, ...] = ()  # closed by this step
    corrected: tuple[int, ...] = ()  # closed before, given rows by this step
    expired: tuple[int, ...] = ()  # delete these
    dropped: tuple[tuple[int, int], ...] = ()  # (start, rows) for windows already expired
    # Windows in ``windows`` whose only change is an open part's newer copy: the writer may
    # write them later (on close, or every few seconds), if it absorbs every partition's latest
    # state again when it starts, which restores those copies (absorbing is idempotent).
    lazy: tuple[int, ...] = ()


def needed(clock: DatasetClock, state: PartitionWindows | None = None) -> list[int]:
    """Return the window starts ``absorb`` or ``tick`` reads: load these values first."""
    starts = set(clock.open)
    if state is not None:
        starts |= {start for start in state.windows if start in clock.windows}
    return sorted(starts)


def absorb(
    clock: DatasetClock,
    windows: Mapping[int, WindowProfile],
    partition: int,
    state: PartitionWindows,
    config: WindowingConfig,
    options: ProfileOptions,
    now: int,
) -> MergeStep:
    """Take one partition's state in; ``windows`` holds the values ``needed`` names.

    ``now`` (wall-clock ms) only starts the quiet timer when the partition made progress.
    """
    before = clock.partitions.get(partition)
    progressed = before is None or (before.offset, before.epoch) != (state.offset, state.epoch)
    clock = replace(
        clock,
        partitions=MappingProxyType({**clock.partitions, partition: PartitionClock(
            state.watermark, state.max_timestamp, state.offset, state.epoch, state.caught_up)}),
        quiet_since=now if progressed else clock.quiet_since,
    )
    horizon = clock.horizon(config)
    changed: dict[int, WindowProfile] = {}
    corrected, dropped, lazy = [], [], []
    for start, slot in state.windows.items():
        if start not in clock.windows and not slot.parts:
            continue  # bookkeeping of a window this writer no longer keeps: nothing to add
        if start not in clock.windows and horizon is not None and slot.end <= horizon:
            dropped.append((start, sum(p.profile.row_count for p in slot.parts)))
            continue
        window = _loaded(windows, clock, start) or WindowProfile.zero(start, slot.end, options)
        new = window.absorb(partition, slot)
        if new is not window or start not in clock.windows:
            changed[start] = new
            if start in clock.windows and new.base is window.base:
                lazy.append(start)
        if window.closed and new.row_count != window.row_count:
            corrected.append(start)
    new_starts = {start: changed[start].end for start in changed if start not in clock.windows}
    clock = replace(clock, windows=MappingProxyType({**clock.windows, **new_starts}),
                    open=clock.open | new_starts.keys())
    step = _settle(clock, {**windows, **changed}, changed, config, tuple(corrected),
                   tuple(dropped), quiet=False)
    return replace(step, lazy=tuple(s for s in lazy if s in step.windows and s not in step.closed))


def tick(clock: DatasetClock, windows: Mapping[int, WindowProfile], config: WindowingConfig,
         now: int) -> MergeStep:
    """Close every open window of a quiet dataset; call it every few seconds."""
    quiet = bool(clock.partitions) and all(p.caught_up for p in clock.partitions.values()) and (
        clock.quiet_since is not None and now - clock.quiet_since >= config.grace)
    return _settle(clock, windows, {}, config, (), (), quiet=quiet)


def resume(clock: DatasetClock, now: int) -> DatasetClock:
    """Restart the quiet timer: call when the writer starts, before any ``tick``."""
    return replace(clock, quiet_since=now)


def _loaded(windows: Mapping[int, WindowProfile], clock: DatasetClock,
            start: int) -> WindowProfile | None:
    if start not in clock.windows:
        return None
    try:
        return windows[start]
    except KeyError:
        raise WindowStateError(
            f"window {start} is kept but was not loaded; load every start needed() names"
        ) from None


def _settle(clock: DatasetClock, windows: Mapping[int, WindowProfile],
            changed: dict[int, WindowProfile], config: WindowingConfig,
            corrected: tuple[int, ...], dropped: tuple[tuple[int, int], ...],
            quiet: bool) -> MergeStep:
    """Close what the rules close, expire what the retention drops, and say so."""
    closing = clock.closing_watermark(config)
    closed = sorted(start for start in clock.open if quiet or (
        closing is not None and clock.windows[start] + config.grace <= closing))
    for start in closed:
        changed[start] = replace(_loaded(windows, clock, start) or changed[start], closed=True)
    horizon = clock.horizon(config)
    expired = sorted(start for start, end in clock.windows.items()
                     if horizon is not None and end <= horizon)
    for start in expired:
        changed.pop(start, None)
    clock = replace(
        clock,
        windows=MappingProxyType({s: e for s, e in clock.windows.items() if s not in expired}),
        open=clock.open - set(closed) - set(expired),
    )
    return MergeStep(clock, MappingProxyType(changed), tuple(s for s in closed if s not in expired),
                     tuple(s for s in corrected if s not in expired), tuple(expired), dropped)
