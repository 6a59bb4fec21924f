"""The stored value of one (dataset, source partition): a profile guarded by an offset watermark.

Faust runs at-least-once here (the embedded broker has no transactions), so crashes and
rebalances replay messages. Each value records the highest source offset it has applied and the
highest message timestamp it has seen; a message at or below the watermark was applied already and
is skipped. The two are written in the same table value, so they can never disagree.

A message at or below the watermark whose timestamp is newer than anything applied cannot be a
replay: the broker lost its topics (the embedded broker keeps them in memory) and offsets started
again. Then the watermark restarts in a new epoch and the rows are counted, never skipped.

The same value carries the partition's event-time windows (``windows``, a
:class:`~atlas_streams.windowing.PartitionWindows`), applied with the same plan, so the windows
and the all-time profile hold exactly the same rows. And its ``lineage``: the session of the
owner that wrote it and the position (epoch, offset) of the stored value that owner started
from. Window parts are folded once by generation number, so two owners that started from
different values may number the same rows differently: the view stores a value only when it
continues the lineage it holds (:func:`continues`), and an owner whose lineage was left behind
starts again from the stored value (``agents/profiler.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgpack

from atlas_streams.profiling import DatasetProfile, ProfileOptions
from atlas_streams.windowing import PartitionWindows, WindowStateError

__all__ = [
    "FORMAT_VERSION",
    "BatchPlan",
    "Lineage",
    "PartialFormatError",
    "PartialProfile",
    "applied_offset",
    "caught_up_of",
    "continues",
    "lineage_of",
    "merge_partials",
    "position",
    "plan_batch",
    "windows_of",
]

FORMAT_VERSION = 1


class PartialFormatError(ValueError):
    """Stored bytes are not a partial profile this version can read."""


@dataclass
class PartialProfile:
    """A dataset's profile over one source partition, with the watermark that guards it."""

    profile: DatasetProfile
    offset: int = -1  # highest source offset applied in this epoch; -1 = none yet
    max_timestamp: int = -1  # highest message timestamp (ms) ever applied
    epoch: int = 0  # bumped each time the source log was found to have restarted
    resets: list[int] = field(default_factory=list)  # offsets at which epochs restarted
    windows: PartitionWindows | None = None  # the partition's event-time windows
    lineage: Lineage | None = None  # who wrote it, from which stored value (None: before both)

    @classmethod
    def zero(cls, options: ProfileOptions) -> PartialProfile:
        """Return an empty partial profile."""
        return cls(DatasetProfile.zero(options))

    def to_bytes(self) -> bytes:
        """Serialise with a leading format version."""
        lineage = self.lineage
        body: bytes = msgpack.packb(
            [self.offset, self.max_timestamp, self.epoch, self.resets, self.profile.to_bytes(),
             None if self.windows is None else self.windows.to_bytes(),
             None if lineage is None else [lineage.session, *(lineage.base or ())],
             self.windows is not None and self.windows.caught_up],
            use_bin_type=True,
        )
        return bytes([FORMAT_VERSION]) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> PartialProfile:
        """Parse bytes written by :meth:`to_bytes`."""
        offset, max_ts, epoch, resets, profile, windows, lineage, _ = _unpack(data)
        try:
            # ProfileFormatError is a ValueError: the caller sees one error for the whole value.
            return cls(DatasetProfile.from_bytes(profile), offset, max_ts, epoch, resets,
                       None if windows is None else PartitionWindows.from_bytes(windows),
                       lineage)
        except (ValueError, TypeError, WindowStateError) as exc:
            raise PartialFormatError(
                f"corrupt partial profile ({exc}): rebuild the table from its topic"
            ) from None


@dataclass(frozen=True)
class Lineage:
    """The owner session that wrote a partial, and the stored value's position it started from."""

    session: str
    base: tuple[int, int] | None  # (epoch, offset) of the value it started from; None: nothing


def applied_offset(data: bytes) -> int:
    """Return the watermark of a stored partial without parsing its profile."""
    offset: int = _unpack(data)[0]
    return offset


def position(data: bytes) -> tuple[int, int]:
    """Return a stored partial's (epoch, watermark) without parsing its profile: newer is more."""
    unpacked = _unpack(data)
    return unpacked[2], unpacked[0]


def lineage_of(data: bytes) -> Lineage | None:
    """Return a stored partial's lineage without parsing its profile (None: written before it)."""
    return _unpack(data)[6]


def caught_up_of(data: bytes) -> bool:
    """Return whether a stored partial's windows had read their partition to its end."""
    return _unpack(data)[7]


def windows_of(data: bytes) -> bytes | None:
    """Return a stored partial's window state bytes without parsing its profile."""
    return _unpack(data)[5]


def continues(value: bytes, stored: bytes | None) -> bool:
    """Return whether the view may store ``value`` over ``stored``: newer, in the same lineage.

    Newer by (epoch, offset watermark) as before; and either from the owner session that wrote
    ``stored``, or from an owner that started from exactly ``stored``. A value from an owner that
    started from an older value (its copy of the table lagged) would carry window parts numbered
    differently from those already folded: refused, and that owner starts again from ``stored``.
    Values written before lineages existed continue anything newer.
    """
    if stored is None:
        return True
    mine, theirs = lineage_of(value), lineage_of(stored)
    same = mine is None or theirs is None or mine.session == theirs.session
    if position(value) == position(stored):
        # The owner found its partition read to the end after its last batch: the merger's
        # idleness and quiet rules need to know (nothing else changed).
        return same and caught_up_of(value) and not caught_up_of(stored)
    if position(value) < position(stored):
        return False
    return same or mine is not None and mine.base == position(stored)


def _unpack(
    data: bytes,
) -> tuple[int, int, int, list[int], bytes, bytes | None, Lineage | None, bool]:
    if not data or data[0] != FORMAT_VERSION:
        raise PartialFormatError(
            f"unknown partial-profile format {data[:1]!r}; this worker reads version "
            f"{FORMAT_VERSION}: upgrade the worker or rebuild the table from its topic"
        )
    try:
        fields = msgpack.unpackb(data[1:], raw=False)
        # Values written before windows had five fields.
        offset, max_ts, epoch, resets, profile, windows, lineage, caught_up = (
            *fields, None, None, False)[:8]
        if not _all_ints(offset, max_ts, epoch) or not (
            isinstance(resets, list) and _all_ints(*resets)
        ):
            raise ValueError("the watermark fields are not integers")
        if not isinstance(profile, bytes) or not isinstance(windows, bytes | None):
            raise ValueError("the profile is not bytes")
        if lineage is not None:
            session, *base = lineage
            if not isinstance(session, str) or base and not _all_ints(*base):
                raise ValueError("the lineage is not a session and a position")
            lineage = Lineage(session, (base[0], base[1]) if base else None)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise PartialFormatError(
            f"corrupt partial profile ({exc}): rebuild the table from its topic"
        ) from None
    return offset, max_ts, epoch, resets, profile, windows, lineage, bool(caught_up)


def _all_ints(*values: object) -> bool:
    return all(type(value) is int for value in values)


@dataclass(frozen=True)
class BatchPlan:
    """Which messages of a batch to apply, and whether the source log restarted."""

    apply: tuple[int, ...]  # indexes into the batch, in offset order
    skipped: int  # replays at or below the watermark
    reset_at: int | None  # offset where a restarted log was detected, else None
    # The new offsets skip some: apply nothing from the batch, read the partition from here.
    backfill_from: int | None = None


def plan_batch(
    state: PartialProfile, offsets: Sequence[int], timestamps: Sequence[int],
    first_offset: int | None = None,
) -> BatchPlan:
    """Decide which messages of one partition's batch are new, in offset order.

    A message is new when its offset is above the watermark. A message at or below it is a
    replay, unless its timestamp is newer than every applied message: then the log restarted,
    the watermark starts again from that message, and the rest of the batch is new.

    New offsets must follow the watermark without a hole. A hole means a message was taken from
    the consumer but never reached this batch (the consumer lost it: a graceful stop or a
    rebalance acknowledged it unprocessed), and applying the later ones would move the watermark
    past it for good. Then ``backfill_from`` names the first offset to read from the partition
    itself. In the batch that finds a restarted log the new epoch starts at the restart (or at
    ``first_offset``, when lower): a message skipped there was lost for good otherwise, and read
    again it was taken for a replay of the new epoch (CI: a restarted broker, 4,999 of 5,000).

    Before anything is applied, ``first_offset`` is where the partition's messages start for
    this consumer group (its committed offset, or the log's start when it has none): a first
    batch that begins after it has a hole too. Without it, a partition's first message skipped
    by the consumer (read while Faust recovered) was lost for good: the batch of the next two
    set the watermark past it, and reading it again was taken for a replay (CI, a 3-message
    topic counted 2 for 60 s).
    """
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    watermark, newest = state.offset, state.max_timestamp
    apply: list[int] = []
    reset_at: int | None = None
    for i in order:
        if offsets[i] > watermark:
            apply.append(i)
        elif timestamps[i] > newest and reset_at is None:
            reset_at = offsets[i]
            apply.append(i)
        else:
            continue
        # Count what this batch applied as applied: an offset delivered twice in one batch is
        # then a replay, not a restarted log.
        watermark, newest = offsets[i], max(newest, timestamps[i])
    hole = _hole(state, offsets, apply, reset_at, first_offset)
    return BatchPlan(tuple(apply), len(offsets) - len(apply), reset_at, hole)


def _hole(
    state: PartialProfile, offsets: Sequence[int], apply: list[int], reset_at: int | None,
    first_offset: int | None,
) -> int | None:
    """Return where to read from when the applied offsets do not follow the watermark, else None."""
    if not apply:
        return None
    new = [offsets[i] for i in apply]
    if reset_at is not None:  # the old epoch's watermark says nothing about the new log
        start = reset_at if first_offset is None else min(first_offset, reset_at)
    elif state.offset >= 0:
        start = state.offset + 1
    else:
        start = new[0] if first_offset is None else min(first_offset, new[0])
    return start if new[-1] - start + 1 != len(new) else None  # ascending, no duplicates


def merge_partials(
    items: Iterable[tuple[str, bytes]], options: ProfileOptions
) -> dict[str, DatasetProfile]:
    """Merge stored partials (``"<dataset>/<partition>"`` -> bytes) into one profile per dataset."""
    merged: dict[str, DatasetProfile] = {}
    for key, value in items:
        dataset, _, _partition = key.rpartition("/")
        if not dataset or not value:
            continue
        profile = PartialProfile.from_bytes(value).profile
        current = merged.get(dataset)
        merged[dataset] = profile if current is None else current.merge(profile)
    return merged
