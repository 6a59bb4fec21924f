"""Every row counts exactly once in exactly one window, whatever the batching, replays and order.

Driven through ``sim``: the offset watermark of ``plan_batch``, lost writes, redelivered
ranges, random merger reads and acknowledgements, bytes round trips at every write.
"""

from __future__ import annotations

import pytest

from atlas_streams.profiling import DatasetProfile
from atlas_streams.windowing import WindowingConfig
from tests.unit.windowing.sim import (
    HOUR,
    MINUTE,
    Merger,
    messages_of,
    profile_of,
    run,
    truth,
)

CONFIG = WindowingConfig(event_time="ts", size=HOUR, grace=10 * MINUTE, retention=30 * 24 * HOUR)


def _exact(profile: DatasetProfile) -> dict[str, tuple[object, ...]]:
    """Return the exactly mergeable figures of every column (the mean to 12 digits)."""
    report = profile.report("d")["columns"]
    return {name: (c["count"], c["null_count"], c.get("min"), c.get("max"),
                   float(f"{c.get('mean') or 0.0:.12g}"), c["distinct_estimate"])
            for name, c in report.items()}


def _partitions(seed: int) -> dict[int, list]:
    return {p: messages_of(seed * 10 + p, count=25 + 10 * p) for p in range(3)}


def _windows(merger: Merger) -> dict[int, tuple[int, int, dict[str, tuple[object, ...]]]]:
    return {start: (w.row_count, w.late_count, _exact(w.profile()))
            for start, w in sorted(merger.windows.items())}


@pytest.mark.parametrize("seed", range(6))
def test_each_window_holds_exactly_its_rows(seed: int) -> None:
    partitions = _partitions(seed)
    merger = run(seed, partitions, CONFIG)
    expected_rows: dict[int, list] = {}
    expected_late: dict[int, int] = {}
    for messages in partitions.values():
        rows, late, expired = truth(messages, CONFIG)
        assert expired == 0
        for start, found in rows.items():
            expected_rows.setdefault(start, []).extend(found)
            expected_late[start] = expected_late.get(start, 0) + late[start]
    assert sum(expected_late.values()) > 0, "the data must have late rows to test them"
    assert set(merger.windows) == set(expected_rows)
    for start, window in merger.windows.items():
        assert window.row_count == len(expected_rows[start])
        assert window.late_count == expected_late[start]
        assert _exact(window.profile()) == _exact(profile_of(expected_rows[start]))
        assert window.skipped == 0
    assert merger.corrected, "late rows must have corrected closed windows"
    assert max(max(w.folded.values()) for w in merger.windows.values()) > 1, "late generations"


@pytest.mark.parametrize("seed", range(4))
def test_batching_replays_lost_writes_and_read_order_change_nothing(seed: int) -> None:
    partitions = _partitions(100 + seed)
    calm = run(seed, partitions, CONFIG, replays=False)
    for driver in (seed + 1, seed + 2):
        assert _windows(run(driver, partitions, CONFIG)) == _windows(calm)


@pytest.mark.parametrize("seed", range(3))
def test_windows_close_once_every_partition_has_passed_them(seed: int) -> None:
    partitions = _partitions(200 + seed)
    merger = run(seed, partitions, CONFIG)
    slowest = min(c.watermark for c in merger.clock.partitions.values() if c.watermark)
    fastest = max(c.watermark for c in merger.clock.partitions.values() if c.watermark)
    assert len(set(merger.closed)) == len(merger.closed), "a window closes once"
    for start, window in merger.windows.items():
        assert window.closed == (start in merger.closed)
        if window.end + CONFIG.grace <= slowest:
            assert window.closed
        if window.closed:
            assert window.end + CONFIG.grace <= fastest
    assert set(merger.corrected) <= set(merger.closed)


def test_rows_past_the_retention_are_counted_as_expired_and_never_windowed() -> None:
    config = WindowingConfig(event_time="ts", size=HOUR, grace=10 * MINUTE, retention=2 * HOUR)
    partitions = {p: messages_of(500 + p, count=60, late_share=0.3) for p in range(2)}
    merger = run(7, partitions, config)
    total_expired = 0
    for messages in partitions.values():
        _, _, expired = truth(messages, config)
        total_expired += expired
    assert total_expired > 0
    horizon = merger.clock.horizon(config)
    assert horizon is not None
    assert all(window.end > horizon for window in merger.windows.values())


def test_acknowledged_owners_keep_only_open_parts() -> None:
    partitions = _partitions(300)
    merger = run(3, partitions, CONFIG)
    held = sum(len(slot.parts) for owner in merger.owners.values()
               for slot in owner.state.windows.values())
    before = _windows(merger)
    for owner in merger.owners.values():
        merger.acknowledge(owner)
        merger.catch_up(owner)
        assert all(not part.final for slot in owner.state.windows.values()
                   for part in slot.parts)
    left = sum(len(slot.parts) for owner in merger.owners.values()
               for slot in owner.state.windows.values())
    assert left < held
    assert _windows(merger) == before  # acknowledging, and reading the result, moved no row
