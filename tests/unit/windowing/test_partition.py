"""One partition's windowing step: windows, late and expired rows, rejections, generations."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_streams.windowing import (
    PartitionWindows,
    WindowBatch,
    WindowingConfig,
    WindowStateError,
    acknowledge,
    apply_batch,
)
from tests.unit.windowing.sim import HOUR, MINUTE, OPTIONS, T0

CONFIG = WindowingConfig(event_time="ts", size=HOUR, grace=10 * MINUTE, retention=3 * HOUR)


def batch(times: list[Any], first_offset: int = 0, stamp: int = T0 + 10 * HOUR) -> WindowBatch:
    """Return one row a message, offsets from ``first_offset``, event times ``times``."""
    offsets = list(range(first_offset, first_offset + len(times)))
    return WindowBatch([{"ts": t, "v": i} for i, t in enumerate(times)], offsets,
                       [stamp] * len(times), offsets[-1], stamp)


def rows_by_window(state: PartitionWindows) -> dict[int, list[tuple[int, bool, int, int]]]:
    return {(start - T0) // MINUTE: [(p.gen, p.final, p.profile.row_count, p.late_count)
                                     for p in slot.parts]
            for start, slot in sorted(state.windows.items())}


def test_rows_go_to_their_epoch_aligned_windows() -> None:
    step = apply_batch(PartitionWindows(), batch([T0, T0 + 59 * MINUTE, T0 + HOUR + 1]), CONFIG,
                       OPTIONS)
    assert rows_by_window(step.state) == {0: [(0, False, 2, 0)], 60: [(0, False, 1, 0)]}
    assert step.state.watermark == T0 + HOUR + 1 and step.state.offset == 2
    assert step.changed == (T0, T0 + HOUR) and step.rejections == () and step.expired == 0


def test_a_part_is_final_once_the_watermark_passes_end_plus_grace_and_late_rows_start_a_new_one() -> None:
    first = apply_batch(PartitionWindows(), batch([T0 + MINUTE, T0 + HOUR + 9 * MINUTE]), CONFIG,
                        OPTIONS).state
    assert rows_by_window(first)[0] == [(0, False, 1, 0)]  # 1h09: not past 1h10 yet
    second = apply_batch(first, batch([T0 + HOUR + 10 * MINUTE, T0 + 2 * MINUTE], 2), CONFIG,
                         OPTIONS).state
    # The 1h10 row finals window 0's part at the batch's end; the 0h02 row after it is late.
    assert rows_by_window(second)[0] == [(0, True, 2, 1)]
    third = apply_batch(second, batch([T0 + 3 * MINUTE], 4), CONFIG, OPTIONS).state
    assert rows_by_window(third)[0] == [(0, True, 2, 1), (1, True, 1, 1)]
    assert third.windows[T0].next_gen == 2


def test_rows_past_the_retention_are_counted_not_windowed() -> None:
    step = apply_batch(PartitionWindows(), batch([T0 + 5 * HOUR, T0, T0 + 2 * HOUR]), CONFIG,
                       OPTIONS)
    assert step.expired == 1 and step.state.expired_count == 1  # the T0 row: 1h <= 5h - 3h
    assert set(rows_by_window(step.state)) == {120, 300}


def test_rows_without_an_event_time_are_rejected_with_their_offset() -> None:
    step = apply_batch(PartitionWindows(), batch([T0, None, "soon", T0 + 1]), CONFIG, OPTIONS)
    assert [(r.row, r.offset) for r in step.rejections] == [(1, 1), (2, 2)]
    assert "missing or null" in step.rejections[0].reason
    assert "ISO-8601" in step.rejections[1].reason
    assert step.state.rejected_count == 2 and rows_by_window(step.state) == {0: [(0, False, 2, 0)]}


def test_a_batch_of_rejected_rows_still_moves_the_offset() -> None:
    step = apply_batch(PartitionWindows(), batch([None]), CONFIG, OPTIONS)
    assert step.state.offset == 0 and step.state.watermark is None and not step.state.windows


def test_offsets_at_or_below_the_watermark_are_refused_unless_the_log_restarted() -> None:
    state = apply_batch(PartitionWindows(), batch([T0, T0 + 1]), CONFIG, OPTIONS).state
    with pytest.raises(WindowStateError, match="plan_batch"):
        apply_batch(state, batch([T0 + 2], first_offset=1), CONFIG, OPTIONS)
    restarted = apply_batch(state, batch([T0 + 2], first_offset=0), CONFIG, OPTIONS, reset_at=0)
    assert restarted.state.epoch == 1 and restarted.state.offset == 0
    assert rows_by_window(restarted.state) == {0: [(0, False, 3, 0)]}


def test_the_input_state_is_left_unchanged_and_bytes_round_trip() -> None:
    state = apply_batch(PartitionWindows(), batch([T0, T0 + HOUR]), CONFIG, OPTIONS,
                        caught_up=True).state
    frozen = state.to_bytes()
    apply_batch(state, batch([T0 + 5, T0 + 2 * HOUR], 2), CONFIG, OPTIONS)
    assert state.to_bytes() == frozen
    again = PartitionWindows.from_bytes(frozen)
    assert again.to_bytes() == frozen and again.caught_up
    with pytest.raises(WindowStateError, match="version"):
        PartitionWindows.from_bytes(b"\x09" + frozen[1:])
    with pytest.raises(WindowStateError, match="invalid layout"):
        PartitionWindows.from_bytes(frozen[:1] + b"\x91\x01")


def test_acknowledge_drops_folded_finals_and_expired_windows_only() -> None:
    state = apply_batch(PartitionWindows(), batch([T0, T0 + HOUR + 11 * MINUTE, T0 + 2 * HOUR]),
                        CONFIG, OPTIONS).state
    assert rows_by_window(state) == {0: [(0, True, 1, 0)], 60: [(0, False, 1, 0)],
                                     120: [(0, False, 1, 0)]}
    kept = acknowledge(state, {T0: 0, T0 + HOUR: 1})
    assert rows_by_window(kept)[0] == [(0, True, 1, 0)]  # gen 0 not folded yet
    assert rows_by_window(kept)[60] == [(0, False, 1, 0)]  # open parts stay
    dropped = acknowledge(state, {T0: 1}, horizon=T0 + HOUR)
    assert set(rows_by_window(dropped)) == {60, 120}
    assert dropped.windows[T0 + HOUR].next_gen == 1


def test_batches_built_from_decoded_messages_carry_each_row_s_message() -> None:
    rows = [{"ts": T0}, {"ts": T0 + 1}, {"ts": T0 + 2}]
    built = WindowBatch.of_messages(rows, [0, 0, 2], [7, 8, 9], [T0, T0 + 5, T0 + 9])
    assert built.offsets == [7, 7, 9] and built.timestamps == [T0, T0, T0 + 9]
    assert (built.last_offset, built.max_timestamp) == (9, T0 + 9)


def test_in_place_counts_the_same_rows_as_a_merged_copy() -> None:
    from atlas_streams.profiling import ProfileOptions
    from atlas_streams.windowing import PartitionWindows, WindowBatch, WindowingConfig, apply_batch

    config = WindowingConfig(event_time="t", size=60_000, grace=1_000, retention=3_600_000)
    batches = [[{"t": 1_000 * (10 * b + i), "v": b * 10 + i} for i in range(10)] for b in range(4)]
    states = {True: PartitionWindows(), False: PartitionWindows()}
    offset = 0
    for rows in batches:
        for in_place, state in states.items():
            batch = WindowBatch(rows, list(range(offset, offset + len(rows))), [10**12] * len(rows),
                                offset + len(rows) - 1, 10**12)
            states[in_place] = apply_batch(state, batch, config, ProfileOptions(),
                                           in_place=in_place).state
        offset += len(rows)
    counted = {k: {s: [(p.gen, p.final, p.profile.row_count) for p in slot.parts]
                   for s, slot in v.windows.items()} for k, v in states.items()}
    assert counted[True] == counted[False]
    assert sum(p[2] for parts in counted[True].values() for p in parts) == 40


@pytest.mark.parametrize("times", [[T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE],  # one window
                                   [T0 + MINUTE, T0 + HOUR + 1, T0 + 2 * MINUTE]])  # two
def test_rows_prepared_by_the_all_time_profile_give_the_same_windows(times: list[int]) -> None:
    from dataclasses import replace

    from atlas_streams.profiling import DatasetProfile, ProfileOptions

    plain = batch(times)
    rows = [dict(row, tags=["a", "b"], nested={"x": i}) for i, row in enumerate(plain.rows)]
    plain = replace(plain, rows=rows)
    all_time = DatasetProfile.zero(ProfileOptions(flatten_depth=OPTIONS.flatten_depth))
    prepared = replace(plain, prepared=all_time.prepare(rows))

    steps = [apply_batch(PartitionWindows(), b, CONFIG, OPTIONS, in_place=True)
             for b in (plain, prepared)]

    reports = [{start: [p.profile.report("d") for p in slot.parts]
                for start, slot in step.state.windows.items()} for step in steps]
    for by_start in reports:
        for parts in by_start.values():
            for report in parts:
                report.pop("updated_at", None)
    assert reports[0] == reports[1] and len(reports[0]) == len({(t - T0) // HOUR for t in times})
