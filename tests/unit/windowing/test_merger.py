"""The single writer: merging partitions, the close rules, corrections, expiry, bytes."""

from __future__ import annotations

import pytest

from atlas_streams.windowing import (
    DatasetClock,
    MergeStep,
    PartitionWindows,
    WindowingConfig,
    WindowProfile,
    WindowStateError,
    absorb,
    acknowledge,
    apply_batch,
    needed,
    resume,
    tick,
)
from tests.unit.windowing.sim import HOUR, MINUTE, OPTIONS, T0
from tests.unit.windowing.test_partition import batch

CONFIG = WindowingConfig(event_time="ts", size=HOUR, grace=10 * MINUTE, retention=5 * HOUR)


class Writer:
    """The merger's table: one clock and the window values, updated from each step."""

    def __init__(self) -> None:
        self.clock = DatasetClock()
        self.windows: dict[int, WindowProfile] = {}

    def keep(self, step: MergeStep) -> MergeStep:
        self.clock = step.clock
        self.windows.update(step.windows)
        for start in step.expired:
            del self.windows[start]
        return step

    def absorb(self, partition: int, state: PartitionWindows, now: int = 0) -> MergeStep:
        loaded = {s: self.windows[s] for s in needed(self.clock, state)}
        return self.keep(absorb(self.clock, loaded, partition, state, CONFIG, OPTIONS, now))

    def tick(self, now: int) -> MergeStep:
        loaded = {s: self.windows[s] for s in needed(self.clock)}
        return self.keep(tick(self.clock, loaded, CONFIG, now))


class Partition:
    """One partition's owner, writing one row a message."""

    def __init__(self) -> None:
        self.state = PartitionWindows()

    def send(self, *times: int, stamp: int | None = None, caught_up: bool = False) -> PartitionWindows:
        stamp = max(times) if stamp is None else stamp
        self.state = apply_batch(self.state, batch(list(times), self.state.offset + 1, stamp),
                                 CONFIG, OPTIONS, caught_up=caught_up).state
        return self.state


def test_a_window_merges_every_partition_and_closes_when_the_slowest_passes() -> None:
    writer, a, b = Writer(), Partition(), Partition()
    writer.absorb(0, a.send(T0 + 1, T0 + 2))
    writer.absorb(1, b.send(T0 + 3))
    assert writer.windows[T0].row_count == 3 and writer.clock.open == {T0}
    step = writer.absorb(0, a.send(T0 + HOUR + 10 * MINUTE))  # a is past 1h10, b is not
    assert step.closed == () and not writer.windows[T0].closed
    step = writer.absorb(1, b.send(T0 + 2 * HOUR))
    assert step.closed == (T0,) and writer.windows[T0].closed
    window = writer.windows[T0]
    assert window.pending == {} and window.folded == {0: 1, 1: 1}  # one merged profile
    assert window.profile().row_count == 3
    assert writer.clock.latest_closed() == T0


def test_only_an_open_part_s_newer_copy_may_be_written_lazily() -> None:
    writer, a = Writer(), Partition()
    assert writer.absorb(0, a.send(T0)).lazy == ()  # a new window: write it
    assert writer.absorb(0, a.send(T0 + 1)).lazy == (T0,)  # a bigger open part only
    step = writer.absorb(0, a.send(T0 + 2 * HOUR))  # the part is final: folded, closed
    assert T0 in step.windows and step.lazy == () and step.closed == (T0,)


def test_absorbing_a_state_again_changes_nothing() -> None:
    writer, a = Writer(), Partition()
    state = a.send(T0, T0 + 2 * HOUR)
    writer.absorb(0, state)
    window = writer.windows[T0]
    step = writer.absorb(0, state)
    assert step.windows == {} and writer.windows[T0] is window


def test_late_rows_correct_a_closed_window() -> None:
    writer, a = Writer(), Partition()
    writer.absorb(0, a.send(T0, T0 + 2 * HOUR))
    assert writer.windows[T0].closed
    step = writer.absorb(0, a.send(T0 + 5))
    assert step.corrected == (T0,) and step.closed == ()
    assert (writer.windows[T0].row_count, writer.windows[T0].late_count) == (2, 1)


def test_an_idle_partition_does_not_hold_windows_open_but_a_lagging_one_does() -> None:
    writer, busy, quiet = Writer(), Partition(), Partition()
    writer.absorb(1, quiet.send(T0 + 1, stamp=T0, caught_up=False))
    writer.absorb(0, busy.send(T0, T0 + 2 * HOUR, stamp=T0 + 2 * HOUR))
    assert not writer.windows[T0].closed  # behind, and not at its end: it may hold old rows
    quiet.state = PartitionWindows.from_bytes(quiet.state.to_bytes())
    caught = apply_batch(quiet.state, batch([None], quiet.state.offset + 1, T0), CONFIG, OPTIONS,
                         caught_up=True).state
    step = writer.absorb(1, caught)  # read to its end; its newest message 2h older: idle
    assert step.closed == (T0,)


def test_a_quiet_dataset_closes_its_last_window_after_the_grace() -> None:
    writer, a = Writer(), Partition()
    writer.absorb(0, a.send(T0, caught_up=True), now=1_000)
    assert writer.tick(now=1_000 + CONFIG.grace - 1).closed == ()
    writer.clock = resume(writer.clock, now=5_000)  # the writer restarted: the timer restarts
    assert writer.tick(now=1_000 + CONFIG.grace).closed == ()
    assert writer.tick(now=5_000 + CONFIG.grace).closed == (T0,)


def test_a_dataset_still_reading_is_never_quiet() -> None:
    writer, a = Writer(), Partition()
    writer.absorb(0, a.send(T0, caught_up=False), now=0)
    assert writer.tick(now=10 * CONFIG.grace).closed == ()


def test_windows_expire_back_from_the_dataset_watermark() -> None:
    writer, a, b = Writer(), Partition(), Partition()
    writer.absorb(0, a.send(T0))
    step = writer.absorb(1, b.send(T0 + 6 * HOUR + 1))  # 1h <= 6h - 5h: the T0 window goes
    assert step.expired == (T0,) and T0 not in writer.windows
    assert writer.clock.horizon(CONFIG) == T0 + HOUR + 1
    step = writer.absorb(0, a.send(T0 + 5))  # a's own watermark keeps it; the writer's does not
    assert step.dropped == ((T0, 2),) and T0 not in writer.windows


def test_an_expired_window_is_not_brought_back_by_a_partition_s_bookkeeping() -> None:
    writer, a, b = Writer(), Partition(), Partition()
    writer.absorb(0, a.send(T0, T0 + 2 * HOUR))
    a.state = acknowledge(a.state, {T0: writer.windows[T0].folded[0]})
    assert a.state.windows[T0].parts == ()  # only the next generation is remembered
    assert writer.absorb(1, b.send(T0 + 7 * HOUR)).expired == (T0,)
    step = writer.absorb(0, a.state)
    assert T0 not in step.windows and T0 not in writer.clock.windows and step.dropped == ()


def test_windows_missing_from_the_load_are_an_error_not_a_reset() -> None:
    writer, a = Writer(), Partition()
    writer.absorb(0, a.send(T0))
    with pytest.raises(WindowStateError, match="needed"):
        absorb(writer.clock, {}, 0, a.send(T0 + 1), CONFIG, OPTIONS, 0)


def test_selection_and_bytes() -> None:
    writer, a = Writer(), Partition()
    writer.absorb(0, a.send(T0, T0 + HOUR, T0 + 2 * HOUR))
    clock = writer.clock
    assert clock.between(T0 + HOUR, None) == [T0 + HOUR, T0 + 2 * HOUR]
    assert clock.between(None, T0 + 2 * HOUR) == [T0, T0 + HOUR]
    assert DatasetClock.from_bytes(clock.to_bytes()) == clock
    window = writer.windows[T0 + 2 * HOUR]
    again = WindowProfile.from_bytes(window.to_bytes())
    assert again.to_bytes() == window.to_bytes() and again.row_count == 1
    assert window.summary() == {"start": "2024-05-01T12:00:00+00:00",
                                "end": "2024-05-01T13:00:00+00:00",
                                "row_count": 1, "late_count": 0, "closed": False}
