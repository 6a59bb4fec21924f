"""Catalog agents: keep every partial and merged profile, and freeze profile snapshots.

Both write one-partition tables from a single-partition topic, so the partition of the event
being processed is always the table's one changelog partition (Faust's RocksDB store files each
write under the current event's partition).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import faust
import orjson

from atlas_streams.agents.context import current_event
from atlas_streams.agents.sealing import Opener
from atlas_streams.agents.windows import TICK_KEY, TICK_SECONDS, WindowWriter
from atlas_streams.profiling import DatasetProfile
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.partial import (
    PartialFormatError,
    PartialProfile,
    continues,
    lineage_of,
    position,
)

__all__ = ["register_catalog_agents"]

log = logging.getLogger(__name__)


VIEW_BATCH = 500  # partial updates merged at once
# A dataset's merged profile is made at most once a batch. With 0.1 s batches and 1-row
# messages the view agent decoded and merged every partial of a dataset ten times a second
# (57 ms each for four 20-column partials): more than half a core. A second keeps the merged
# profile at most a second behind its partials.
VIEW_BATCH_SECONDS = 1.0
DECODED_PARTIALS = 256  # decoded partials kept between merges, at most


def register_catalog_agents(
    app: faust.App,
    view_topic: faust.TopicT,
    commands: faust.TopicT,
    tables: CatalogTables,
    opener: Opener,
    drift_topic: faust.TopicT | None = None,
) -> Any:
    """Register the view and snapshot agents; return the snapshot agent (for ``ask``)."""

    merger = Merger(tables)
    writer = WindowWriter(tables)

    @app.agent(view_topic, name="atlas-profile-view")
    async def profile_view(stream: faust.StreamT) -> None:
        async for events in stream.take_events(VIEW_BATCH, within=VIEW_BATCH_SECONDS):
            with current_event(events[-1]):
                updates = [(e.key, e.value) for e in events if e.key != TICK_KEY]
                stored = _keep_newer(tables, updates, merger)
                for dataset in {key.rpartition("/")[0] for key in stored}:
                    merged = merger.merge(dataset)
                    if merged is not None:
                        tables.merged[dataset] = merged.to_bytes()
                # Each key's latest stored value holds every part of the earlier ones the
                # writer has not folded: absorbing it alone is the same as absorbing each.
                writer.absorb_stored(stored.items())
                if len(updates) < len(events):
                    writer.tick_all()
                if writer.due:
                    # On the loop, not in a thread: it writes a table. A window closes rarely;
                    # a compare takes 6 ms (window sketches) to 170 ms (a 20-column snapshot).
                    for event in writer.monitor_due():
                        if drift_topic is not None:
                            drift_topic.send_soon(key=event["dataset_id"].encode(),
                                                  value=orjson.dumps(event))

    @app.timer(TICK_SECONDS, name="atlas-window-tick")
    async def window_tick() -> None:
        # Only the view agent reads it: a quiet dataset's windows close within a tick of their
        # grace, whichever worker holds the view topic.
        await view_topic.send(key=TICK_KEY, value=b"tick")

    @app.agent(commands, name="atlas-catalog-commands")
    async def catalog_commands(stream: faust.StreamT) -> Any:
        async for event in stream.events():
            body = opener.open(event)
            if not isinstance(body, dict):
                yield {"ok": False, "error": "refused: not sealed by a worker"}
            elif body.get("type") == "snapshot":
                tables.snapshots[body["run_id"]] = orjson.dumps(body)
                yield {"ok": True, "run_id": body["run_id"]}
            elif body.get("type") == "windowing" and tables.windowing is not None:
                tables.windowing[body["dataset_id"]] = orjson.dumps(body["windowing"])
                yield {"ok": True}
            elif body.get("type") == "monitor" and tables.monitors is not None:
                tables.monitors[body["dataset_id"]] = orjson.dumps(body["monitor"])
                yield {"ok": True}
            else:
                yield {"ok": False, "error": f"unknown catalog command {body.get('type')!r}"}

    return catalog_commands


class Merger:
    """Merge a dataset's partials from the view agent's own table, decoding each value once."""

    def __init__(self, tables: CatalogTables) -> None:
        self.tables = tables
        self._keys: dict[str, set[str]] | None = None  # dataset -> its partials' keys
        self._decoded: OrderedDict[str, tuple[bytes, DatasetProfile]] = OrderedDict()
        # (key, owner session, stored position) already written again for a refused owner.
        self.shown: set[tuple[str, str, tuple[int, int]]] = set()

    def merge(self, dataset: str) -> DatasetProfile | None:
        """Return the dataset's profile merged over its stored partials (None: it has none)."""
        merged: DatasetProfile | None = None
        for key in sorted(self._keys_of(dataset)):
            profile = self._profile(key)
            if profile is not None:
                merged = profile if merged is None else merged.merge(profile)
        return merged

    def _keys_of(self, dataset: str) -> set[str]:
        if self._keys is None:  # once: the keys restored from the changelog
            self._keys = {}
            for key in list(self.tables.state.own.keys()):
                self._keys.setdefault(key.rpartition("/")[0], set()).add(key)
        return self._keys.setdefault(dataset, set())

    def stored(self, key: str) -> None:
        """Note that ``key`` has a (new) stored value."""
        self._keys_of(key.rpartition("/")[0]).add(key)

    def _profile(self, key: str) -> DatasetProfile | None:
        value = self.tables.state.owned(key)
        if not value:
            return None
        cached = self._decoded.get(key)
        if cached is not None and cached[0] == value:
            self._decoded.move_to_end(key)
            return cached[1]
        profile = PartialProfile.from_bytes(value).profile
        self._decoded[key] = (value, profile)
        self._decoded.move_to_end(key)
        while len(self._decoded) > DECODED_PARTIALS:
            self._decoded.popitem(last=False)
        return profile


def _refused(tables: CatalogTables, key: str, value: bytes, current: bytes | None,
             merger: Merger) -> None:
    """Show an owner whose lineage was left behind the stored value, once per owner and value.

    It starts again from the stored value when its copy of the table shows it (``agents/
    profiler.py``); a copy restored from a changelog read from an old offset may not, and
    nothing else would write the key again: write the stored value to the copies once more.
    """
    if current is None or position(value) <= position(current):
        return  # older than the stored value: a zombie or a replay, nothing to show
    lineage = lineage_of(value)
    mark = (key, lineage.session if lineage else "", position(current))
    if mark in merger.shown:
        return
    merger.shown.add(mark)
    log.info("profile-view: %s at %s refused, its owner started from %s; the stored value is at "
             "%s", key, position(value), lineage.base if lineage else None, position(current))
    tables.state.shared[key] = current


def _keep_newer(
    tables: CatalogTables, updates: list[tuple[str, bytes]], merger: Merger
) -> dict[str, bytes]:
    """Store each partial that continues the stored one; return the latest stored per key.

    Only the profiler that holds a partition publishes its partials, in offset order, but a
    worker the group already replaced (a zombie) may still publish an older one after its
    successor's, and a profiler republishes after a crash: neither may move a partial back.
    Nor may an owner that started from an older copy than the stored value (its window parts
    are numbered apart): it starts again from the stored value (``tables.partial.continues``).
    A value equal to the stored one is returned too, not stored again: its windows are
    absorbed again (idempotent).
    """
    stored: dict[str, bytes] = {}
    for key, value in updates:
        if not isinstance(key, str) or not value:
            continue
        current = tables.state.owned(key)
        if value == current:
            # A replay of what was stored: this agent died after storing it, maybe before its
            # window writes reached their changelogs. Absorbing it again changes nothing else.
            stored[key] = value
            continue
        try:
            if not continues(value, current):
                _refused(tables, key, value, current, merger)
                continue
        except PartialFormatError:
            log.error("profile-view: %r is not a partial profile; ignored", key)
            continue
        tables.state[key] = value
        merger.stored(key)
        stored[key] = value
    return stored
