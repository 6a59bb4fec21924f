"""Faust tables of the catalog: partial profiles, every worker's merged view, snapshots.

- ``profile_partials`` holds one :class:`~atlas_streams.tables.partial.PartialProfile` per
  (dataset, source partition). It is co-partitioned with the dataset topics, so the worker that
  owns source partition p owns its state and Faust restores it from the changelog before the
  partition is processed: the offset watermark in each value is always current.
- ``profile_view`` is a global copy of the same values for queries. A single-partition topic
  feeds it (see :mod:`atlas_streams.agents.catalog`), so every worker answers with every
  partition's state without Faust's cross-worker routing.
- ``profile_snapshots`` keeps frozen merged profiles by run id, global as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from atlas_streams.settings import Settings

__all__ = ["CatalogTables", "define_catalog_tables"]


@dataclass(frozen=True)
class CatalogTables:
    """The catalog's tables, as registered on the app."""

    partials: Any  # faust.Table[str, bytes]
    view: Any  # faust.GlobalTable[str, bytes]
    snapshots: Any  # faust.GlobalTable[str, bytes]


def define_catalog_tables(app: faust.App, settings: Settings) -> CatalogTables:
    """Register the catalog's tables on ``app``."""
    raw = {"key_type": str, "value_type": bytes}
    partials = app.Table(
        "profile_partials", partitions=settings.topic_partitions, help="partial profiles", **raw
    )
    # Faust's advice for global tables shared by several workers: one partition and a
    # recovery buffer of one, or recovery can loop forever (faust.tables.globaltable).
    view = app.GlobalTable(
        "profile_view", partitions=1, recovery_buffer_size=1, help="partials for queries", **raw
    )
    snapshots = app.GlobalTable(
        "profile_snapshots", partitions=1, recovery_buffer_size=1, help="frozen profiles", **raw
    )
    return CatalogTables(partials, view, snapshots)
