"""A test double of the glue: partition owners and the single merger, driven by a seed.

Each owner plans batches with ``tables.partial.plan_batch`` against its state, as the profiler
does, applies them, and appends every state it writes to its changelog (a write may be lost: it
never reaches the changelog and the owner falls back to its last written state). The merger
reads the changelogs in order, at times the seed picks; owners acknowledge what it folded.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from atlas_streams.profiling import DatasetProfile, ProfileOptions
from atlas_streams.tables.partial import plan_batch
from atlas_streams.windowing import (
    DatasetClock,
    PartitionWindows,
    WindowBatch,
    WindowingConfig,
    WindowProfile,
    absorb,
    acknowledge,
    apply_batch,
    needed,
)

OPTIONS = ProfileOptions(kll_k=64)
HOUR, MINUTE = 3_600_000, 60_000
T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z


@dataclass(frozen=True)
class Message:
    offset: int
    timestamp: int
    rows: tuple[dict[str, Any], ...]


def messages_of(seed: int, count: int, late_share: float = 0.1) -> list[Message]:
    """Return one partition's messages: 1-3 rows each, event times mostly rising, some late."""
    rng = random.Random(seed)
    messages, clock = [], T0
    for offset in range(count):
        clock += rng.randrange(0, 8 * MINUTE)
        rows = []
        for _ in range(rng.randrange(1, 4)):
            jitter = rng.randrange(0, 3 * HOUR) if rng.random() < late_share else rng.randrange(
                0, 5 * MINUTE)
            rows.append({"ts": clock - jitter, "x": rng.randrange(100), "c": rng.choice("abc")})
        messages.append(Message(offset, clock, tuple(rows)))
    return messages


def truth(messages: list[Message], config: WindowingConfig) -> tuple[dict[int, list[Any]],
                                                                        dict[int, int], int]:
    """Return each window's rows, its late count, and the expired rows: the rules, row by row."""
    rows, late, expired = defaultdict(list), defaultdict(int), 0
    watermark = None
    for message in messages:
        for row in message.rows:
            start = config.window_of(row["ts"])
            end = start + config.size
            if watermark is not None and end <= watermark - config.retention:
                expired += 1
            else:
                rows[start].append(row)
                late[start] += watermark is not None and end + config.grace <= watermark
            watermark = row["ts"] if watermark is None else max(watermark, row["ts"])
    return dict(rows), dict(late), expired


@dataclass
class Owner:
    """The owner of one partition: plans, applies, writes, sometimes loses a write."""

    partition: int
    config: WindowingConfig
    state: PartitionWindows = field(default_factory=PartitionWindows)
    changelog: list[PartitionWindows] = field(default_factory=list)

    def deliver(self, messages: list[Message], caught_up: bool, lose_write: bool = False) -> None:
        offsets = [m.offset for m in messages]
        stamps = [m.timestamp for m in messages]
        plan = plan_batch(self.state, offsets, stamps)  # type: ignore[arg-type]
        assert plan.backfill_from is None, "the simulation delivers without holes"
        if not plan.apply:
            return
        chosen = [messages[i] for i in plan.apply]
        rows = [row for m in chosen for row in m.rows]
        row_message = [i for i, m in enumerate(chosen) for _ in m.rows]
        batch = WindowBatch.of_messages(rows, row_message, [m.offset for m in chosen],
                                        [m.timestamp for m in chosen])
        step = apply_batch(self.state, batch, self.config, OPTIONS, reset_at=plan.reset_at,
                           caught_up=caught_up)
        if lose_write:  # the worker died before the write reached the changelog
            self.state = self.changelog[-1] if self.changelog else PartitionWindows()
            return
        self.write(step.state)

    def write(self, state: PartitionWindows) -> None:
        self.state = PartitionWindows.from_bytes(state.to_bytes())  # what the table holds
        self.changelog.append(self.state)


@dataclass
class Merger:
    """The single writer: reads each owner's changelog in order.

    Windows whose only change is an open part (``MergeStep.lazy``) stay in memory, unwritten;
    ``restart`` loses them and absorbs every owner's latest state again, as the glue must.
    """

    config: WindowingConfig
    clock: DatasetClock = field(default_factory=DatasetClock)
    written: dict[int, WindowProfile] = field(default_factory=dict)
    unwritten: dict[int, WindowProfile] = field(default_factory=dict)
    read: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    closed: list[int] = field(default_factory=list)
    corrected: list[int] = field(default_factory=list)
    now: int = 0
    owners: dict[int, Owner] = field(default_factory=dict)  # the partitions it read, for tests

    @property
    def windows(self) -> dict[int, WindowProfile]:
        """Return the windows as the writer sees them: written, and newer ones in memory."""
        return {**self.written, **self.unwritten}

    def catch_up(self, owner: Owner, limit: int | None = None) -> None:
        """Read up to ``limit`` new entries of the owner's changelog."""
        log = owner.changelog
        stop = len(log) if limit is None else min(len(log), self.read[owner.partition] + limit)
        while self.read[owner.partition] < stop:
            state = log[self.read[owner.partition]]
            self.read[owner.partition] += 1
            self.take(owner.partition, state)

    def take(self, partition: int, state: PartitionWindows) -> None:
        """Absorb one state and keep the step: the clock and non-lazy windows are written."""
        self.now += 1000
        windows = self.windows
        loaded = {start: windows[start] for start in needed(self.clock, state)}
        step = absorb(self.clock, loaded, partition, state, self.config, OPTIONS, self.now)
        self.clock = DatasetClock.from_bytes(step.clock.to_bytes())
        for start, window in step.windows.items():
            if start in step.lazy:
                self.unwritten[start] = window
            else:
                self.written[start] = WindowProfile.from_bytes(window.to_bytes())
                self.unwritten.pop(start, None)
        for start in step.expired:
            self.written.pop(start, None)
            self.unwritten.pop(start, None)
        self.closed += step.closed
        self.corrected += step.corrected

    def restart(self) -> None:
        """Lose what was not written; absorb every owner's latest state read so far again."""
        self.unwritten.clear()
        for partition, owner in self.owners.items():
            if self.read[partition]:
                self.take(partition, owner.changelog[self.read[partition] - 1])

    def acknowledge(self, owner: Owner) -> None:
        """Let the owner drop what this merger folded (read from the merger's table)."""
        folded = {start: self.windows[start].folded.get(owner.partition, 0)
                  for start in owner.state.windows if start in self.windows}
        acknowledged = acknowledge(owner.state, folded, self.clock.horizon(self.config))
        if acknowledged != owner.state:
            owner.write(acknowledged)


def run(seed: int, partitions: dict[int, list[Message]], config: WindowingConfig,
        replays: bool = True) -> Merger:
    """Deliver every partition's messages in random batches with replays, lost writes, reads."""
    rng = random.Random(seed)
    owners = {p: Owner(p, config) for p in partitions}
    merger = Merger(config, owners=owners)
    positions = dict.fromkeys(partitions, 0)
    while any(positions[p] < len(ms) for p, ms in partitions.items()):
        p = rng.choice([p for p, ms in partitions.items() if positions[p] < len(ms)])
        owner, messages = owners[p], partitions[p]
        start = positions[p]
        if replays and rng.random() < 0.3:
            start = max(0, start - rng.randrange(1, 6))  # redelivered: a crash or a rebalance
        end = min(len(messages), start + rng.randrange(1, 9))
        lose = replays and rng.random() < 0.1
        owner.deliver(messages[start:end], caught_up=end == len(messages), lose_write=lose)
        positions[p] = owner.state.offset + 1
        if rng.random() < 0.5:
            merger.catch_up(owners[rng.choice(list(owners))], limit=rng.randrange(1, 4))
        if rng.random() < 0.3:
            merger.acknowledge(owners[rng.choice(list(owners))])
        if replays and rng.random() < 0.05:
            merger.restart()
    for owner in owners.values():
        merger.catch_up(owner)
    if replays:
        merger.restart()
    return merger


def profile_of(rows: list[dict[str, Any]]) -> DatasetProfile:
    """Return the profile of the rows at once."""
    profile = DatasetProfile.zero(OPTIONS)
    profile.update(rows, 0.0)
    return profile
