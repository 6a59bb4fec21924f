"""Catalog agents: keep every worker's profile view, and freeze profile snapshots.

Both write global tables from a single-partition topic, so the partition of the event being
processed is always the table's one changelog partition (Faust's RocksDB store files each write
under the current event's partition).
"""

from __future__ import annotations

from typing import Any

import faust
import orjson

from atlas_streams.tables.catalog import CatalogTables

__all__ = ["register_catalog_agents"]


def register_catalog_agents(
    app: faust.App, view_topic: faust.TopicT, commands: faust.TopicT, tables: CatalogTables
) -> Any:
    """Register the view and snapshot agents; return the snapshot agent (for ``ask``)."""

    @app.agent(view_topic, name="atlas-profile-view")
    async def profile_view(stream: faust.StreamT) -> None:
        async for event in stream.events():
            tables.view[event.key] = event.value

    @app.agent(commands, name="atlas-catalog-commands")
    async def catalog_commands(stream: faust.StreamT) -> Any:
        async for command in stream:
            body = orjson.loads(command)
            if body.get("type") == "snapshot":
                tables.snapshots[body["run_id"]] = command
                yield {"ok": True, "run_id": body["run_id"]}
            else:
                yield {"ok": False, "error": f"unknown catalog command {body.get('type')!r}"}

    return catalog_commands
