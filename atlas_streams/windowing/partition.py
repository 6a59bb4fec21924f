"""One (dataset, source partition)'s windows: the value its owner writes after every batch.

Exactly once. The value carries its own offset watermark (``offset``, ``max_timestamp``,
``epoch``: the fields ``tables.partial.plan_batch`` reads), written in the same table value as the
windows it guards. The caller plans each batch against it, as for the all-time profile, and
passes only the new rows; ``apply_batch`` refuses an offset at or below the watermark. A row is
then in exactly one part of exactly one window, or counted as rejected or expired.

Generations. A window's rows on this partition accumulate in an open *part*. Once the
partition's event-time watermark passes the window's end + grace, the part is final: its rows
go no further. A row that comes later still (a late row) starts the next generation, final at
the end of its batch. The single writer that merges partitions (``merger``) folds each final part
into the window's one profile exactly once, by generation number, and keeps only the latest copy
of an open part. The owner drops final parts once that writer has folded them, and windows once
it has expired them (``acknowledge``), so a partition keeps only its open windows and parts in
flight.

Late and expired rows, by the partition's own watermark (the largest event time applied before
the row, in offset order): a row is late when its window's end + grace is at or below it, and
expired (counted, in no window) when its window's end is at or below it minus the retention.
Being decided row by row in offset order, neither depends on how rows were batched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from atlas_streams.profiling import DatasetProfile, PreparedRows, ProfileOptions
from atlas_streams.windowing import codec
from atlas_streams.windowing.config import WindowingConfig
from atlas_streams.windowing.errors import WindowStateError
from atlas_streams.windowing.event_time import event_times

__all__ = [
    "FORMAT_VERSION",
    "Assignment",
    "Part",
    "PartitionStep",
    "PartitionWindows",
    "Rejection",
    "Slot",
    "WindowBatch",
    "acknowledge",
    "apply_batch",
    "assign_rows",
]

FORMAT_VERSION = 1
#: The watermark before any row: far below every time, and far enough from int64's minimum that
#: subtracting a retention cannot wrap around.
_NO_WATERMARK = -(2**62)


@dataclass(frozen=True, slots=True)
class Part:
    """Rows of one window on one partition, one generation; final parts never change again."""

    gen: int
    final: bool
    profile: DatasetProfile
    late_count: int


@dataclass(frozen=True, slots=True)
class Slot:
    """One window on one partition: its parts not yet acknowledged, and the next generation."""

    end: int
    next_gen: int = 0
    parts: tuple[Part, ...] = ()  # by generation; only the last may be open


@dataclass(frozen=True, slots=True)
class WindowBatch:
    """New rows of one partition in offset order, with their messages' offsets and timestamps."""

    rows: Sequence[Mapping[str, Any]]
    offsets: Sequence[int]  # per row
    timestamps: Sequence[int]  # per row: its message's timestamp, epoch ms (-1: none)
    last_offset: int  # the batch's highest applied offset, messages that held no row included
    max_timestamp: int = -1  # the batch's newest message timestamp, epoch ms
    # The rows read into columns already (by the all-time profile's step): a window that takes
    # every row of the batch applies them instead of reading the rows a second time.
    prepared: PreparedRows | None = None

    @classmethod
    def of_messages(
        cls, rows: Sequence[Mapping[str, Any]], row_message: Sequence[int],
        offsets: Sequence[int], timestamps: Sequence[int],
    ) -> WindowBatch:
        """Return the batch of decoded ``rows``; ``row_message`` indexes the message lists."""
        return cls(
            rows,
            [offsets[m] for m in row_message],
            [timestamps[m] for m in row_message],
            max(offsets),
            max(timestamps),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row with no usable event time: dead-letter it with this reason."""

    row: int  # index into the batch's rows
    offset: int
    reason: str


@dataclass(frozen=True, slots=True)
class PartitionWindows:
    """The windows of one (dataset, source partition) and the watermarks that guard them."""

    offset: int = -1  # highest source offset applied in this epoch; -1: none yet
    max_timestamp: int = -1  # highest message timestamp applied (ms)
    epoch: int = 0  # bumped each time the source log restarted
    watermark: int | None = None  # event-time watermark: the largest event time applied (ms)
    caught_up: bool = False  # whether the last batch reached the partition's end
    windows: Mapping[int, Slot] = field(default_factory=lambda: MappingProxyType({}))
    rejected_count: int = 0
    expired_count: int = 0

    def to_bytes(self) -> bytes:
        """Return the state as versioned msgpack bytes (profiles in their own format)."""
        return codec.encode(FORMAT_VERSION, [
            self.offset, self.max_timestamp, self.epoch, self.watermark, self.caught_up,
            self.rejected_count, self.expired_count,
            [[start, slot.end, slot.next_gen,
              [[p.gen, p.final, p.late_count, p.profile.to_bytes()] for p in slot.parts]]
             for start, slot in self.windows.items()],
        ])

    @classmethod
    def from_bytes(cls, data: bytes) -> PartitionWindows:
        """Rebuild the state from ``to_bytes()`` output; raise WindowStateError if invalid."""
        return codec.read(data, FORMAT_VERSION, "partition windows", cls._from_document)

    @classmethod
    def _from_document(cls, document: list[Any]) -> PartitionWindows:
        offset, stamp, epoch, watermark, caught_up, rejected, expired, slots = document
        windows = {
            int(start): Slot(int(end), int(next_gen), tuple(
                Part(int(gen), bool(final), DatasetProfile.from_bytes(profile), int(late))
                for gen, final, late, profile in parts))
            for start, end, next_gen, parts in slots
        }
        return cls(int(offset), int(stamp), int(epoch),
                   None if watermark is None else int(watermark), bool(caught_up),
                   MappingProxyType(windows), int(rejected), int(expired))


@dataclass(frozen=True, slots=True)
class PartitionStep:
    """What one batch did: the new state, rows to dead-letter, and windows whose parts changed."""

    state: PartitionWindows
    rejections: tuple[Rejection, ...]
    changed: tuple[int, ...]  # window starts
    expired: int  # rows of this batch older than the retention


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where each row of a batch goes, decided before any profile is touched."""

    rejections: tuple[Rejection, ...]
    windows: Mapping[int, tuple[list[int], int, int]]  # start -> (row indexes, late rows, latest time)
    expired: int  # rows older than the retention
    watermark: int | None  # the partition's event-time watermark after the batch


def assign_rows(state: PartitionWindows, batch: WindowBatch,
                config: WindowingConfig) -> Assignment:
    """Return each row's window, lateness and expiry, row by row in offset order."""
    read = event_times(batch.rows, config.event_time, batch.timestamps)
    rejections = tuple(Rejection(i, batch.offsets[i], reason)
                       for i, reason in sorted(read.rejected.items()))
    if read.rejected:
        kept = np.setdiff1d(np.arange(len(batch.rows)), list(read.rejected))
    else:
        kept = np.arange(len(batch.rows))
    stamps = read.times[kept]
    start_watermark = _NO_WATERMARK if state.watermark is None else state.watermark
    # The watermark each row meets: the largest event time applied before it, in offset order.
    before = np.maximum.accumulate(np.concatenate([[start_watermark], stamps]))[:-1]
    starts = (stamps // config.size) * config.size
    ends = starts + config.size
    late = ends + config.grace <= before
    expired = ends <= before - config.retention
    order = np.argsort(starts, kind="stable")  # rows of a window stay in offset order
    groups: dict[int, tuple[list[int], int, int]] = {}
    cuts = np.flatnonzero(np.diff(starts[order])) + 1
    for members in np.split(order, cuts) if stamps.size else []:
        members = members[~expired[members]]
        if members.size:
            groups[int(starts[members[0]])] = (kept[members].tolist(), int(late[members].sum()),
                                               int(stamps[members].max()))
    watermark = int(max(start_watermark, stamps.max())) if stamps.size else state.watermark
    return Assignment(rejections, MappingProxyType(groups), int(expired.sum()), watermark)


def apply_batch(
    state: PartitionWindows,
    batch: WindowBatch,
    config: WindowingConfig,
    options: ProfileOptions,
    *,
    reset_at: int | None = None,
    caught_up: bool = False,
    in_place: bool = False,
) -> PartitionStep:
    """Window a batch of new rows; ``state`` is left unchanged unless ``in_place``.

    ``reset_at`` is ``BatchPlan.reset_at`` (the source log restarted: a new epoch), ``caught_up``
    whether the batch reached the partition's end (the merger's idleness rule reads it).
    ``in_place`` adds rows to an open part's profile directly instead of merging a new profile
    of them into a copy (a merge of two 20-column profiles costs more than profiling a batch of
    hundreds of rows): for a caller that keeps only the new state, as the profiler's step does.
    The rows counted are the same; only the sketches' random choices differ.
    """
    _check_new(state, batch, reset_at)
    assignment = assign_rows(state, batch, config)
    windows = dict(state.windows)
    for start, (indexes, late, latest) in assignment.windows.items():
        every = len(indexes) == len(batch.rows) and batch.prepared is not None
        slot = windows.get(start)
        if in_place and slot is not None and slot.parts and not slot.parts[-1].final:
            last = slot.parts[-1]
            _update(last.profile, batch, indexes, every, latest)
            grown = Part(last.gen, False, last.profile, last.late_count + late)
            windows[start] = replace(slot, parts=(*slot.parts[:-1], grown))
            continue
        profile = DatasetProfile.zero(options)
        _update(profile, batch, indexes, every, latest)
        windows[start] = _added(slot, start + config.size, profile, late)
    changed = set(assignment.windows)
    watermark = assignment.watermark
    if watermark is not None:
        windows, finalised = _finalised(windows, watermark, config)
        changed |= finalised
        windows = _unexpired(windows, watermark - config.retention)
    new_state = PartitionWindows(
        offset=batch.last_offset,
        max_timestamp=max(state.max_timestamp, batch.max_timestamp),
        epoch=state.epoch + (reset_at is not None),
        watermark=watermark,
        caught_up=caught_up,
        windows=MappingProxyType(windows),
        rejected_count=state.rejected_count + len(assignment.rejections),
        expired_count=state.expired_count + assignment.expired,
    )
    return PartitionStep(new_state, assignment.rejections, tuple(sorted(changed & windows.keys())),
                         assignment.expired)


def _update(profile: DatasetProfile, batch: WindowBatch, indexes: list[int], every: bool,
            latest: int) -> None:
    """Add a window's rows of ``batch`` (at ``indexes``) to ``profile``, read once if ``every``."""
    if every and batch.prepared is not None:
        profile.update_prepared(batch.prepared, latest / 1000.0)
    else:
        profile.update([batch.rows[i] for i in indexes], latest / 1000.0)


def acknowledge(state: PartitionWindows, folded: Mapping[int, int],
                horizon: int | None = None) -> PartitionWindows:
    """Drop what the merger holds: final parts it folded, and windows it expired.

    ``folded`` maps a window start to the next generation the merger expects from this
    partition (``WindowProfile.folded``); ``horizon`` is the merger's expiry horizon
    (``DatasetClock.horizon``): windows ending at or before it are gone there.
    """
    windows = dict(state.windows)
    for start, next_gen in folded.items():
        slot = windows.get(start)
        if slot is not None:
            parts = tuple(p for p in slot.parts if not (p.final and p.gen < next_gen))
            windows[start] = replace(slot, parts=parts)
    if horizon is not None:
        windows = {start: slot for start, slot in windows.items() if slot.end > horizon}
    return replace(state, windows=MappingProxyType(windows))


def _check_new(state: PartitionWindows, batch: WindowBatch, reset_at: int | None) -> None:
    """Refuse a batch that would apply an offset twice: filter it with plan_batch first."""
    if len(batch.offsets) != len(batch.rows) or len(batch.timestamps) != len(batch.rows):
        raise WindowStateError("a window batch needs one offset and one timestamp per row")
    if reset_at is None and (batch.last_offset <= state.offset or (
            batch.offsets and min(batch.offsets) <= state.offset)):
        raise WindowStateError(
            f"offsets at or below the applied watermark {state.offset} would count rows twice; "
            "pass only the messages plan_batch says are new")


def _added(slot: Slot | None, end: int, profile: DatasetProfile, late: int) -> Slot:
    """Return the slot with a batch's rows added to its open part, or to a new generation."""
    slot = slot or Slot(end)
    if slot.parts and not slot.parts[-1].final:
        last = slot.parts[-1]
        grown = Part(last.gen, False, last.profile.merge(profile), last.late_count + late)
        return replace(slot, parts=(*slot.parts[:-1], grown))
    return replace(slot, next_gen=slot.next_gen + 1,
                   parts=(*slot.parts, Part(slot.next_gen, False, profile, late)))


def _unexpired(windows: dict[int, Slot], horizon: int) -> dict[int, Slot]:
    """Drop the bookkeeping of windows past the retention that hold no part in flight.

    A window with parts is kept until the merger acknowledges them: dropping it here would lose
    rows the merger has not seen (a row is expired by the watermark before it, which the rows
    after it in the same batch may move past the retention).
    """
    return {start: slot for start, slot in windows.items() if slot.parts or slot.end > horizon}


def _finalised(windows: dict[int, Slot], watermark: int,
               config: WindowingConfig) -> tuple[dict[int, Slot], set[int]]:
    """Mark open parts final once the watermark passes their window's end + grace."""
    changed = set()
    for start, slot in windows.items():
        if slot.parts and not slot.parts[-1].final and slot.end + config.grace <= watermark:
            windows[start] = replace(slot, parts=(*slot.parts[:-1],
                                                  replace(slot.parts[-1], final=True)))
            changed.add(start)
    return windows, changed
