"""Faust tables of the catalog: partial profiles, every worker's merged view, snapshots.

- ``profile_partials`` holds one :class:`~atlas_streams.tables.partial.PartialProfile` per
  (dataset, source partition). It is co-partitioned with the dataset topics, so the worker that
  owns source partition p owns its state and Faust restores it from the changelog before the
  partition is processed: the offset watermark in each value is always current.
- ``profile_view`` is a copy of the same values, fed by a single-partition topic (see
  :mod:`atlas_streams.agents.catalog`) and held by that topic's one consumer; the global
  ``profile_merged`` holds each dataset's profile merged over its partitions by that consumer.
  Every worker answers queries from its own copy, without Faust's cross-worker routing, and
  all give the same bytes: sketch merges are randomised (KLL), so they are done once, by one
  writer.
- ``profile_snapshots`` keeps frozen merged profiles by run id, global as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from atlas_streams.settings import Settings
from atlas_streams.tables.store import store_options

__all__ = ["CatalogTables", "define_catalog_tables"]


@dataclass(frozen=True)
class CatalogTables:
    """The catalog's tables, as registered on the app."""

    partials: Any  # faust.Table[str, bytes]
    view: Any  # faust.Table[str, bytes], one partition
    merged: Any  # faust.GlobalTable[str, bytes]
    snapshots: Any  # faust.GlobalTable[str, bytes]


def define_catalog_tables(app: faust.App, settings: Settings) -> CatalogTables:
    """Register the catalog's tables on ``app``."""
    def raw() -> dict[str, Any]:
        return {"key_type": str, "value_type": bytes, "options": store_options()}

    partials = app.Table(
        "profile_partials", partitions=settings.topic_partitions, help="partial profiles",
        **raw(),
    )
    # Not global: only the view topic's one consumer reads it, and Faust keeps every global
    # table's changelog as a standby on every worker, its writer included. After a rebalance
    # that standby replays the changelog from an old offset over the writer's newer values, so
    # a new view consumer merged stale partials (rows missing from the merged profile until
    # the next update; seen in tests/integration/test_scaleout.py). As a plain table with one
    # partition it is co-partitioned with the view topic and restored before that consumer runs.
    view = app.Table("profile_view", partitions=1, help="partials for the merged view", **raw())
    # Faust's advice for global tables shared by several workers: one partition and a
    # recovery buffer of one, or recovery can loop forever (faust.tables.globaltable).
    merged = app.GlobalTable(
        "profile_merged", partitions=1, recovery_buffer_size=1, help="merged profiles", **raw()
    )
    snapshots = app.GlobalTable(
        "profile_snapshots", partitions=1, recovery_buffer_size=1, help="frozen profiles", **raw()
    )
    return CatalogTables(partials, view, merged, snapshots)
