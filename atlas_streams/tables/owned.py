"""State that one agent owns and every worker reads: a one-partition table plus a global copy.

A single-writer agent (registry commands, user changes, the audit chain) must decide on its own
latest values. A Faust global table cannot give it that: Faust keeps every global table's
changelog as a standby on every worker, its writer included, and after a rebalance that standby
can replay the changelog from an old offset over the writer's newer values (measured: a merged
profile went back and forth, a registry command saw a version it had just added disappear).
A plain table with one partition is co-partitioned with the agent's one-partition topic, so
only the agent's worker holds it and Faust restores it completely before the agent runs.

The web view on every worker still needs the values, so each write goes to both tables: reads
through ``get``/``items``/``values`` answer from this worker's global copy; the agent reads with
:meth:`OwnedTable.owned`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import faust

from atlas_streams.tables.store import store_options

__all__ = ["OwnedTable", "define_owned_table"]


@dataclass(frozen=True)
class OwnedTable:
    """The owner's table (``own``) and every worker's global copy (``shared``)."""

    own: Any  # faust.Table[str, bytes], one partition
    shared: Any  # faust.GlobalTable[str, bytes], one partition

    def owned(self, key: str) -> bytes | None:
        """Return the owning agent's value for ``key`` (only meaningful in that agent)."""
        value: bytes | None = self.own.get(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Return this worker's copy of the value for ``key``."""
        return self.shared.get(key, default)

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Yield this worker's copy of every (key, value)."""
        yield from list(self.shared.items())

    def values(self) -> Iterator[bytes]:
        """Yield this worker's copy of every value."""
        yield from list(self.shared.values())

    def __contains__(self, key: object) -> bool:
        return key in self.shared

    def __setitem__(self, key: str, value: bytes) -> None:
        self.own[key] = value
        self.shared[key] = value

    def pop(self, key: str, default: Any = None) -> Any:
        """Remove ``key`` from both tables; return the owner's value (or ``default``)."""
        self.shared.pop(key, None)
        return self.own.pop(key, default)


def define_owned_table(app: faust.App, name: str, help_text: str) -> OwnedTable:
    """Register ``name`` (the global copy) and ``name``_owner (the agent's table) on ``app``."""
    own = app.Table(
        f"{name}_owner", partitions=1, key_type=str, value_type=bytes, options=store_options(),
        help=f"{help_text} (the writing agent's copy)",
    )
    # Faust's advice for global tables shared by several workers: one partition and a recovery
    # buffer of one, or recovery can loop forever (faust.tables.globaltable).
    shared = app.GlobalTable(
        name, partitions=1, recovery_buffer_size=1, key_type=str, value_type=bytes,
        options=store_options(), help=help_text,
    )
    return OwnedTable(own, shared)
