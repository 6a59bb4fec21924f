"""One window of a dataset, merged over its partitions by the single writer: one profile.

Each partition's final parts are folded into ``base`` exactly once, in generation order
(``folded`` holds the next generation expected from each partition); each partition's open
part, which still grows, is kept as its latest copy in ``pending``. The window's profile is
``base`` merged with the pending parts. Once every partition has passed the window's end +
grace, its parts are final and folded, and the window keeps one profile.

Absorbing a partition's slot again, or an older copy of a final part, changes nothing. Copies of
an open part must arrive in the order the partition wrote them (read them from the partition
table's changelog): the latest copy replaces the one held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from atlas_streams.profiling import DatasetProfile, ProfileOptions
from atlas_streams.windowing import codec
from atlas_streams.windowing.event_time import format_instant
from atlas_streams.windowing.partition import Part, Slot

__all__ = ["FORMAT_VERSION", "WindowProfile", "merge_windows"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class WindowProfile:
    """A window's rows over every partition: folded parts, pending open parts, closed or not."""

    start: int
    end: int
    base: DatasetProfile
    base_late: int = 0
    folded: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    pending: Mapping[int, Part] = field(default_factory=lambda: MappingProxyType({}))
    closed: bool = False
    skipped: int = 0  # generations a partition dropped unfolded (only past the retention)

    @classmethod
    def zero(cls, start: int, end: int, options: ProfileOptions) -> WindowProfile:
        """Return a window with no rows yet."""
        return cls(start, end, DatasetProfile.zero(options))

    @property
    def row_count(self) -> int:
        """Return the rows in the window so far, over every partition."""
        return self.base.row_count + sum(p.profile.row_count for p in self.pending.values())

    @property
    def late_count(self) -> int:
        """Return the rows that came later than the grace."""
        return self.base_late + sum(p.late_count for p in self.pending.values())

    def profile(self) -> DatasetProfile:
        """Return the window's profile: the folded parts merged with the pending ones."""
        merged = self.base
        for part in self.pending.values():
            merged = merged.merge(part.profile)
        return merged

    def absorb(self, partition: int, slot: Slot) -> WindowProfile:
        """Return the window with a partition's slot taken in; ``self`` if nothing was new."""
        next_gen = self.folded.get(partition, 0)
        base, late, skipped = self.base, self.base_late, self.skipped
        held = self.pending.get(partition)
        for part in slot.parts:
            if part.gen < next_gen:
                continue  # folded already
            if not part.final:
                held = part
                continue
            skipped += part.gen - next_gen
            base, late, next_gen = base.merge(part.profile), late + part.late_count, part.gen + 1
        if held is not None and held.gen < next_gen:
            held = None  # its final copy was folded
        if base is self.base and held is self.pending.get(partition):
            return self
        pending = {p: part for p, part in self.pending.items() if p != partition}
        if held is not None:
            pending[partition] = held
        return replace(self, base=base, base_late=late, skipped=skipped,
                       folded=MappingProxyType({**self.folded, partition: next_gen}),
                       pending=MappingProxyType(pending))

    def summary(self) -> dict[str, Any]:
        """Return the window's entry of ``GET .../windows``."""
        return {
            "start": format_instant(self.start),
            "end": format_instant(self.end),
            "row_count": self.row_count,
            "late_count": self.late_count,
            "closed": self.closed,
        }

    def to_bytes(self) -> bytes:
        """Return the window as versioned msgpack bytes (profiles in their own format)."""
        return codec.encode(FORMAT_VERSION, [
            self.start, self.end, self.closed, self.base_late, self.skipped,
            self.base.to_bytes(), dict(self.folded),
            {p: [part.gen, part.late_count, part.profile.to_bytes()]
             for p, part in self.pending.items()},
        ])

    @classmethod
    def from_bytes(cls, data: bytes) -> WindowProfile:
        """Rebuild a window from ``to_bytes()`` output; raise WindowStateError if invalid."""
        return codec.read(data, FORMAT_VERSION, "window profile", cls._from_document)

    @classmethod
    def _from_document(cls, document: list[Any]) -> WindowProfile:
        start, end, closed, late, skipped, base, folded, pending = document
        return cls(
            int(start), int(end), DatasetProfile.from_bytes(base), int(late),
            MappingProxyType({int(p): int(g) for p, g in folded.items()}),
            MappingProxyType({
                int(p): Part(int(gen), False, DatasetProfile.from_bytes(profile), int(count))
                for p, (gen, count, profile) in pending.items()}),
            bool(closed), int(skipped),
        )


def merge_windows(windows: Iterable[WindowProfile], options: ProfileOptions) -> DatasetProfile:
    """Return the profile of several windows' rows together (a ``range:`` reference)."""
    merged = DatasetProfile.zero(options)
    for window in windows:
        merged = merged.merge(window.profile())
    return merged
