"""The single writer of every dataset's windows, run inside the profile-view agent.

The view agent stores each partition's partial when it continues the stored one
(``tables.partial.continues``), in the order the owners published them; here each stored
value's window state is ``absorb``ed into the dataset's window profiles and clock, and the
index, the window profiles and the partitions' acks are written. Every ``TICK_SECONDS`` a tick
message on the view topic (sent by every worker's timer; only the view agent reads it) runs
``tick``, which closes the windows of a quiet dataset. Windows that closed, or were corrected
by a late row, are queued in ``due``; ``monitor_due`` then compares each with its dataset's
monitor reference (``tables/monitors.py``), keeps the verdict and returns the drift events.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from atlas_streams.drift import compare
from atlas_streams.profiling import DatasetProfile
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.monitors import (
    Monitor,
    MonitorError,
    drift_columns,
    verdict,
    verdict_key,
)
from atlas_streams.tables.partial import PartialFormatError, windows_of
from atlas_streams.tables.windows import WindowIndex, acks_bytes, recorded
from atlas_streams.windowing import (
    WINDOW_PROFILE_OPTIONS,
    MergeStep,
    PartitionWindows,
    WindowingConfig,
    WindowingError,
    WindowProfile,
    absorb,
    format_instant,
    merge_windows,
    needed,
    parse_instant,
    resume,
    tick,
)

__all__ = ["LAZY_WRITE_SECONDS", "TICK_KEY", "TICK_SECONDS", "WindowWriter", "stored_window",
           "windowing_of"]

log = logging.getLogger(__name__)

TICK_KEY = "\x00tick"  # the key of tick messages on the view topic: never a partial's key
TICK_SECONDS = 1.0
# An open window whose only change is a newer copy of a partition's open part is written at
# most this often: written on every absorb, a busy dataset's open windows (every partition's
# open part, up to ~170 KB for 20 columns) went to two changelogs twice a second a partition.
LAZY_WRITE_SECONDS = 5.0

_configs: dict[bytes, WindowingConfig] = {}


def windowing_of(tables: CatalogTables, dataset: str) -> WindowingConfig:
    """Return the dataset's windowing: its stored config, or the defaults."""
    stored = tables.windowing.get(dataset) if tables.windowing is not None else None
    if not stored:
        return WindowingConfig()
    config = _configs.get(stored)
    if config is None:
        try:
            config = WindowingConfig.from_json(orjson.loads(stored))
        except (ValueError, WindowingError) as exc:
            log.error("windowing of %s is unreadable (%s); using the defaults", dataset, exc)
            config = WindowingConfig()
        _configs[stored] = config
    return config


class WindowWriter:
    """Absorb partitions' window states; write windows, index and acks (view agent only)."""

    def __init__(self, tables: CatalogTables, clock: Callable[[], float] = time.time) -> None:
        self.tables = tables
        self.now = lambda: int(clock() * 1000)
        self._resumed: set[str] = set()
        # Windows changed only by an open part's newer copy, not yet written: (dataset, start)
        # -> (window, monotonic time since when it waits).
        self._lazy: dict[tuple[str, int], tuple[WindowProfile, float]] = {}
        self.due: dict[tuple[str, int], bool] = {}  # (dataset, start) -> corrected: drift due

    @property
    def enabled(self) -> bool:
        """Return whether the window tables are registered."""
        return self.tables.windows is not None and self.tables.window_index is not None

    def absorb_stored(self, stored: Iterable[tuple[str, bytes]]) -> None:
        """Take in each stored partial's windows (the latest value per key, in order)."""
        if not self.enabled:
            return
        for key, value in stored:
            dataset = key.rpartition("/")[0]
            if dataset not in self._resumed:
                self._resume(dataset)
            self._absorb_one(key, value)

    def _absorb_one(self, key: str, value: bytes) -> None:
        dataset, _, partition = key.rpartition("/")
        try:
            raw = windows_of(value)
            state = None if raw is None else PartitionWindows.from_bytes(raw)
        except (PartialFormatError, WindowingError) as exc:
            log.error("windows of %s are unreadable (%s); skipped", key, exc)
            return
        if state is None or not partition.isdigit():
            return
        index = self._index(dataset)
        config = windowing_of(self.tables, dataset)
        windows = self._load(dataset, needed(index.clock, state))
        # New windows take the parts' options: the dataset's reading options (datetime
        # columns, flatten depth) with the windows' sketch sizes.
        options = next((part.profile.options for slot in state.windows.values()
                        for part in slot.parts), WINDOW_PROFILE_OPTIONS)
        step = absorb(index.clock, windows, int(partition), state, config, options, self.now())
        self._write(dataset, recorded(index, step, int(partition), state), step, config)

    def _resume(self, dataset: str) -> None:
        """Start the quiet timer again, and absorb every stored partial of the dataset again.

        Windows whose only change was an open part's newer copy are written late (``lazy``):
        absorbing each partition's stored value again restores those copies (idempotent).
        """
        assert self.tables.window_index is not None
        self._resumed.add(dataset)
        index = self._index(dataset)
        resumed = WindowIndex(resume(index.clock, self.now()), index.summaries, index.counts)
        self.tables.window_index[dataset] = resumed.to_bytes()
        for key in list(self.tables.state.own.keys()):
            if key.rpartition("/")[0] == dataset and (value := self.tables.state.owned(key)):
                self._absorb_one(key, value)

    def tick_all(self) -> None:
        """Close the open windows of every quiet dataset; write lazy windows due."""
        if not self.enabled:
            return
        assert self.tables.window_index is not None and self.tables.windows is not None
        for dataset in list(self.tables.window_index.own.keys()):
            if dataset not in self._resumed:
                self._resume(dataset)
            index = self._index(dataset)
            if not index.clock.open:
                continue
            config = windowing_of(self.tables, dataset)
            step = tick(index.clock, self._load(dataset, needed(index.clock)), config, self.now())
            if step.closed or step.expired:
                self._write(dataset, recorded(index, step), step, config)
        now = time.monotonic()
        for (dataset, start), (window, since) in list(self._lazy.items()):
            if now - since >= LAZY_WRITE_SECONDS:
                self.tables.windows[f"{dataset}/{start}"] = window.to_bytes()
                del self._lazy[(dataset, start)]

    def _index(self, dataset: str) -> WindowIndex:
        assert self.tables.window_index is not None
        stored = self.tables.window_index.owned(dataset)
        return WindowIndex.from_bytes(stored) if stored else WindowIndex()

    def _load(self, dataset: str, starts: list[int]) -> dict[int, WindowProfile]:
        assert self.tables.windows is not None
        loaded = {}
        for start in starts:
            if (dataset, start) in self._lazy:
                loaded[start] = self._lazy[(dataset, start)][0]
                continue
            value = self.tables.windows.owned(f"{dataset}/{start}")
            if value:
                loaded[start] = WindowProfile.from_bytes(value)
        return loaded

    def _write(self, dataset: str, index: WindowIndex, step: MergeStep,
               config: WindowingConfig) -> None:
        assert self.tables.windows is not None and self.tables.window_index is not None
        for start, window in step.windows.items():
            if start in step.lazy:  # only an open part's newer copy: written within seconds
                since = self._lazy.get((dataset, start), (window, time.monotonic()))[1]
                self._lazy[(dataset, start)] = (window, since)
                continue
            self._lazy.pop((dataset, start), None)
            self.tables.windows[f"{dataset}/{start}"] = window.to_bytes()
        for start in step.expired:
            self._lazy.pop((dataset, start), None)
            self.tables.windows.pop(f"{dataset}/{start}")
        self.tables.window_index[dataset] = index.to_bytes()
        if self.tables.window_acks is not None:
            for partition in index.clock.partitions:
                acks = acks_bytes(index.acks_of(partition, config))
                key = f"{dataset}/{partition}"
                if self.tables.window_acks.get(key) != acks:
                    self.tables.window_acks[key] = acks
        for start, rows in step.dropped:
            log.warning("dataset %s: %d row(s) of window %d came after it expired; not kept",
                        dataset, rows, start)
        for start in step.closed:
            self.due[(dataset, start)] = self.due.get((dataset, start), False)
        for start in step.corrected:
            self.due[(dataset, start)] = True
        if self.tables.verdicts is not None:
            for start in step.expired:
                self.due.pop((dataset, start), None)
                self.tables.verdicts.pop(verdict_key(dataset, start), None)

    def monitor_due(self) -> list[dict[str, Any]]:
        """Compare each window closed or corrected since with its monitor; return the events.

        Keeps each window's verdict (its inputs, outcome and events) in ``drift_verdicts``.
        """
        events: list[dict[str, Any]] = []
        due, self.due = self.due, {}
        for (dataset, start), corrected in sorted(due.items()):
            monitor = self._monitor(dataset)
            window = self._load(dataset, [start]).get(start)
            if monitor is None or window is None or self.tables.verdicts is None:
                continue
            at = datetime.now(UTC).isoformat()
            reference = self._reference(dataset, monitor)
            if isinstance(reference, str):
                kept: dict[str, Any] = {
                    "dataset_id": dataset, "window": format_instant(start),
                    "reference": monitor.reference, "drift": None, "error": reference,
                    "corrected": corrected, "at": at, "events": []}
            else:
                current = window.profile()
                columns = drift_columns(reference, current,
                                        windowing_of(self.tables, dataset).event_time)
                report = compare(reference, current, monitor.thresholds,
                                 reference_label=monitor.reference,
                                 current_label=f"window:{format_instant(start)}",
                                 columns=columns)
                kept = verdict(dataset, start, window.end, monitor, report,
                               (reference.row_count, current.row_count), corrected, at)
            self.tables.verdicts[verdict_key(dataset, start)] = orjson.dumps(kept)
            events += kept["events"]
        return events

    def _monitor(self, dataset: str) -> Monitor | None:
        stored = self.tables.monitors.get(dataset) if self.tables.monitors is not None else None
        if not stored:
            return None
        try:
            return Monitor.from_json(orjson.loads(stored))
        except (ValueError, MonitorError) as exc:
            log.error("monitor of %s is unreadable (%s); not judged", dataset, exc)
            return None

    def _reference(self, dataset: str, monitor: Monitor) -> DatasetProfile | str:
        """Return the monitor's reference profile, or why there is none."""
        kind, _, rest = monitor.reference.partition(":")
        if kind == "run":
            stored = self.tables.snapshots.get(rest)
            body = orjson.loads(stored) if stored else None
            if body is None or body.get("dataset_id") != dataset:
                return f"no snapshot {rest} of dataset {dataset}"
            return DatasetProfile.from_bytes(base64.b64decode(body["profile"]))
        since, _, until = rest.partition("/")
        low, high = parse_instant(since), parse_instant(until)
        index = self._index(dataset)
        windows = self._load(dataset, index.between(low, high))
        if not windows:
            return f"no window of dataset {dataset} inside {rest}"
        return merge_windows(windows.values(), WINDOW_PROFILE_OPTIONS)


def stored_window(tables: CatalogTables, dataset: str, start: int) -> WindowProfile | None:
    """Return this worker's copy of one window's profile (None: not kept)."""
    value: Any = tables.windows.get(f"{dataset}/{start}") if tables.windows is not None else None
    return WindowProfile.from_bytes(value) if value else None
