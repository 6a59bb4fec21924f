"""Catalog agents: keep every partial and merged profile, and freeze profile snapshots.

Both write one-partition tables from a single-partition topic, so the partition of the event
being processed is always the table's one changelog partition (Faust's RocksDB store files each
write under the current event's partition).
"""

from __future__ import annotations

import logging
from typing import Any

import faust
import orjson

from atlas_streams.agents.context import current_event
from atlas_streams.agents.sealing import Opener
from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import PartialFormatError, merge_partials, position

__all__ = ["register_catalog_agents"]

log = logging.getLogger(__name__)


VIEW_BATCH = 500  # partial updates merged at once
VIEW_BATCH_SECONDS = 0.1


def register_catalog_agents(
    app: faust.App,
    view_topic: faust.TopicT,
    commands: faust.TopicT,
    tables: CatalogTables,
    options: ProfileOptions,
    opener: Opener,
) -> Any:
    """Register the view and snapshot agents; return the snapshot agent (for ``ask``)."""

    @app.agent(view_topic, name="atlas-profile-view")
    async def profile_view(stream: faust.StreamT) -> None:
        async for events in stream.take_events(VIEW_BATCH, within=VIEW_BATCH_SECONDS):
            with current_event(events[-1]):
                touched = _keep_newer(tables, [(e.key, e.value) for e in events])
                for dataset in touched:
                    prefix = f"{dataset}/"
                    partials = [(k, v) for k, v in tables.state.own.items()
                                if k.startswith(prefix)]
                    merged = merge_partials(partials, options)
                    if dataset in merged:
                        tables.merged[dataset] = merged[dataset].to_bytes()

    @app.agent(commands, name="atlas-catalog-commands")
    async def catalog_commands(stream: faust.StreamT) -> Any:
        async for event in stream.events():
            body = opener.open(event)
            if not isinstance(body, dict):
                yield {"ok": False, "error": "refused: not sealed by a worker"}
            elif body.get("type") == "snapshot":
                tables.snapshots[body["run_id"]] = orjson.dumps(body)
                yield {"ok": True, "run_id": body["run_id"]}
            else:
                yield {"ok": False, "error": f"unknown catalog command {body.get('type')!r}"}

    return catalog_commands


def _keep_newer(tables: CatalogTables, updates: list[tuple[str, bytes]]) -> set[str]:
    """Store each partial that is newer than the stored one; return the datasets touched.

    Only the profiler that holds a partition publishes its partials, in offset order, but a
    worker the group already replaced (a zombie) may still publish an older one after its
    successor's, and a profiler republishes after a crash: neither may move a partial back.
    """
    touched = set()
    for key, value in updates:
        if not isinstance(key, str) or not value:
            continue
        current = tables.state.owned(key)
        try:
            if current is not None and position(value) <= position(current):
                continue
        except PartialFormatError:
            log.error("profile-view: %r is not a partial profile; ignored", key)
            continue
        tables.state[key] = value
        touched.add(key.rpartition("/")[0])
    return touched
