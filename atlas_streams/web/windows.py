"""Endpoints of event-time windows and drift: windowing config, windows, window profiles, drift.

Reads answer from this worker's copies of the window tables (``tables/catalog.py``); the
windowing config is written by the catalog command agent, as snapshots are. A window's profile
is rendered and masked exactly as the dataset profile (``view_report``).
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from atlas_streams import topics
from atlas_streams.agents.windows import stored_window, windowing_of
from atlas_streams.drift import DriftReport, DriftThresholds, compare
from atlas_streams.profiling import DatasetProfile
from atlas_streams.runtime import Atlas
from atlas_streams.tables.monitors import Monitor, MonitorError, drift_columns, verdict_key
from atlas_streams.tables.windows import WindowIndex
from atlas_streams.topics import DATASET_NAME
from atlas_streams.web import commands
from atlas_streams.web.catalog import RUN_ID
from atlas_streams.web.context import ATLAS, read_json, view_report
from atlas_streams.web.errors import HttpError, json_response
from atlas_streams.windowing import (
    WINDOW_PROFILE_OPTIONS,
    WindowingConfig,
    WindowingConfigError,
    format_instant,
    merge_windows,
    parse_instant,
)

__all__ = ["Resolved", "resolve_ref", "routes", "training_skew", "window_index"]

CONFIG_VISIBLE_TIMEOUT = 10.0  # s to wait until this worker's copy holds a new config

routes = web.RouteTableDef()


def window_index(atlas: Atlas, dataset: str) -> WindowIndex | None:
    """Return this worker's copy of a dataset's window index (None: no windowed row yet)."""
    tables = atlas.catalog
    value = tables.window_index.get(dataset) if tables.window_index is not None else None
    return WindowIndex.from_bytes(value) if value else None


def _dataset(request: web.Request) -> str:
    dataset = request.match_info["dataset_id"]
    if not DATASET_NAME.match(dataset):
        raise HttpError(404, f"dataset {dataset!r} not found")
    return dataset


def _known(atlas: Atlas, dataset: str) -> bool:
    catalog = atlas.catalog
    return (dataset in catalog.merged or window_index(atlas, dataset) is not None
            or (catalog.windowing is not None and dataset in catalog.windowing)
            or dataset in set(atlas.discovery.datasets()))


def _instant(text: str, field: str) -> int:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise HttpError(400, f"{field}: {exc}", field=field) from None


async def _store(atlas: Atlas, dataset: str, kind: str, body: dict[str, Any], table: Any) -> None:
    """Have the catalog command agent store a dataset's ``kind`` (``windowing``, ``monitor``).

    Sealed as every command; returns once this worker's copy of ``table`` holds it (at most
    ``CONFIG_VISIBLE_TIMEOUT``), so a GET right after the PUT answers it. 503: no answer.
    """
    command = {"type": kind, "dataset_id": dataset, kind: body}
    reply = await commands.send(atlas, atlas.snapshot_agent, topics.CATALOG_COMMANDS, command,
                                dataset.encode(), who="the catalog agent")
    if not reply.get("ok"):
        raise HttpError(503, f"the {kind} was not stored: {reply.get('error')}")
    value = orjson.dumps(body)
    deadline = time.monotonic() + CONFIG_VISIBLE_TIMEOUT
    while table.get(dataset) != value and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


@routes.put("/catalog/datasets/{dataset_id}/windowing")
async def put_windowing(request: web.Request) -> web.Response:
    """Set the dataset's event-time windowing (before its topic exists, too).

    Body: `{"event_time": "<column>" | null, "size": "1h", "grace": "10m", "retention": "30d"}`;
    fields left out take the defaults. A new size or event-time column is refused (409) once the
    dataset has windows: they would overlap the kept ones.
    """
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    body = await read_json(request)
    try:
        config = WindowingConfig.from_json(body if body is not None else {})
    except WindowingConfigError as exc:
        raise HttpError(422, str(exc), field=exc.field) from None
    current = windowing_of(atlas.catalog, dataset)
    index = window_index(atlas, dataset)
    if index is not None and index.summaries and current.reshapes_windows(config):
        raise HttpError(409, f"dataset {dataset!r} already has windows of "
                        f"{current.to_json()['size']} on {current.event_time or 'the message timestamp'}"
                        "; a new size or event_time would overlap them. Change grace or "
                        "retention only, or use a new dataset", field="size")
    await _store(atlas, dataset, "windowing", config.to_json(), atlas.catalog.windowing)
    return json_response({"dataset_id": dataset, "configured": True, **config.to_json()})


@routes.get("/catalog/datasets/{dataset_id}/windowing")
async def get_windowing(request: web.Request) -> web.Response:
    """Return the dataset's windowing (the defaults when never configured)."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    configured = atlas.catalog.windowing is not None and dataset in atlas.catalog.windowing
    return json_response({"dataset_id": dataset, "configured": configured,
                          **windowing_of(atlas.catalog, dataset).to_json()})


@routes.get("/catalog/datasets/{dataset_id}/windows")
async def list_windows(request: web.Request) -> web.Response:
    """List the dataset's windows inside [since, until), oldest first."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    since = request.query.get("since")
    until = request.query.get("until")
    low = _instant(since, "since") if since is not None else None
    high = _instant(until, "until") if until is not None else None
    index = window_index(atlas, dataset)
    if index is None:
        if not _known(atlas, dataset):
            raise HttpError(404, f"dataset {dataset!r} not found")
        index = WindowIndex()
    windows = [index.summaries[start].to_json(start) for start in index.between(low, high)
               if start in index.summaries]
    watermark = index.clock.watermark
    return json_response({
        "dataset_id": dataset, "windows": windows, "count": len(windows),
        "watermark": None if watermark is None else format_instant(watermark),
        "rejected_count": index.rejected_count, "expired_count": index.expired_count,
    })


@routes.get("/catalog/datasets/{dataset_id}/windows/{start}")
async def get_window(request: web.Request) -> web.Response:
    """Return one window's profile, in the dataset profile's schema (masking applies)."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    start = _instant(request.match_info["start"], "start")
    window = stored_window(atlas.catalog, dataset, start)
    if window is None:
        raise HttpError(404, f"dataset {dataset!r} has no window starting at "
                        f"{format_instant(start)}")
    report = window.profile().report(dataset)
    return json_response(view_report(request, dataset, report))


@dataclass(frozen=True)
class Resolved:
    """A drift reference resolved: its label and the profile of its rows."""

    label: str
    profile: DatasetProfile


def resolve_ref(atlas: Atlas, dataset: str, ref: str, field: str) -> Resolved:
    """Return the profile a ref names; HttpError 400 (malformed, naming ``field``) or 404."""
    kind, _, rest = ref.partition(":")
    if ref == "latest":
        index = window_index(atlas, dataset)
        start = index.clock.latest_closed() if index is not None else None
        if start is None:
            raise HttpError(404, f"{field}: dataset {dataset!r} has no closed window yet",
                            field=field)
        return _window_ref(atlas, dataset, start, field)
    if kind == "window" and rest:
        return _window_ref(atlas, dataset, _instant(rest, field), field)
    if kind == "range" and "/" in rest:
        since, _, until = rest.partition("/")
        low, high = _instant(since, field), _instant(until, field)
        if high <= low:
            raise HttpError(400, f"{field}: the range ends before it starts", field=field)
        index = window_index(atlas, dataset)
        starts = index.between(low, high) if index is not None else []
        windows = [w for s in starts if (w := stored_window(atlas.catalog, dataset, s))]
        if not windows:
            raise HttpError(404, f"{field}: dataset {dataset!r} has no window inside {rest}",
                            field=field)
        return Resolved(f"range:{format_instant(low)}/{format_instant(high)}",
                        merge_windows(windows, WINDOW_PROFILE_OPTIONS))
    if kind == "run" and rest:
        stored = atlas.catalog.snapshots.get(rest) if RUN_ID.match(rest) else None
        body = orjson.loads(stored) if stored else None
        if body is None or body.get("dataset_id") != dataset:
            raise HttpError(404, f"{field}: dataset {dataset!r} has no snapshot {rest!r}",
                            field=field)
        return Resolved(f"run:{rest}", DatasetProfile.from_bytes(base64.b64decode(body["profile"])))
    raise HttpError(400, f"{field}: {ref[:80]!r} is not a reference; send window:<start ISO>, "
                    "range:<since ISO>/<until ISO>, run:<run_id> or latest", field=field)


def _window_ref(atlas: Atlas, dataset: str, start: int, field: str) -> Resolved:
    window = stored_window(atlas.catalog, dataset, start)
    if window is None:
        raise HttpError(404, f"{field}: dataset {dataset!r} has no window starting at "
                        f"{format_instant(start)}", field=field)
    return Resolved(f"window:{format_instant(start)}", window.profile())


@routes.get("/catalog/datasets/{dataset_id}/drift")
async def get_drift(request: web.Request) -> web.Response:
    """Return the drift of `current` against `reference` (window:, range:, run: or latest)."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    refs = {}
    for field in ("reference", "current"):
        ref = request.query.get(field)
        if not ref:
            raise HttpError(400, f"{field}: required; send window:<start ISO>, "
                            "range:<since ISO>/<until ISO>, run:<run_id> or latest", field=field)
        refs[field] = resolve_ref(atlas, dataset, ref, field)
    reference, current = refs["reference"], refs["current"]
    columns = drift_columns(reference.profile, current.profile,
                            windowing_of(atlas.catalog, dataset).event_time)
    report = await asyncio.to_thread(
        compare, reference.profile, current.profile, thresholds_of(atlas, dataset),
        reference_label=reference.label, current_label=current.label, columns=columns)
    return json_response({"dataset_id": dataset, **report.to_json()})


def monitor_of(atlas: Atlas, dataset: str) -> Monitor | None:
    """Return the dataset's drift monitor, or None."""
    monitors = atlas.catalog.monitors
    stored = monitors.get(dataset) if monitors is not None else None
    return Monitor.from_json(orjson.loads(stored)) if stored else None


def thresholds_of(atlas: Atlas, dataset: str) -> DriftThresholds:
    """Return the dataset's drift thresholds: its monitor's, or the defaults."""
    monitor = monitor_of(atlas, dataset)
    return monitor.thresholds if monitor is not None else DriftThresholds()


@routes.put("/catalog/datasets/{dataset_id}/monitor")
async def put_monitor(request: web.Request) -> web.Response:
    """Set the dataset's drift monitor: a reference and thresholds.

    Body: `{"reference": "run:<run_id>" | "range:<since ISO>/<until ISO>", "thresholds":
    {"psi": 0.25, "ks": null}}` (thresholds left out take the defaults; null: reported, not
    judged). Each window that closes from then on, or is corrected by a late row, is compared
    with the reference: its verdict is kept and each breach goes to `atlas.drift`.
    """
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    try:
        monitor = Monitor.from_json(await read_json(request))
    except MonitorError as exc:
        raise HttpError(422, str(exc), field=exc.field) from None
    await _store(atlas, dataset, "monitor", monitor.to_json(), atlas.catalog.monitors)
    return json_response({"dataset_id": dataset, **monitor.to_json()})


@routes.get("/catalog/datasets/{dataset_id}/monitor")
async def get_monitor(request: web.Request) -> web.Response:
    """Return the dataset's drift monitor (404: none set)."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    monitor = monitor_of(atlas, dataset)
    if monitor is None:
        raise HttpError(404, f"dataset {dataset!r} has no drift monitor")
    return json_response({"dataset_id": dataset, **monitor.to_json()})


@routes.get("/catalog/datasets/{dataset_id}/drift-events")
async def list_drift_events(request: web.Request) -> web.Response:
    """List the monitor's verdicts on windows starting in [since, until), oldest first."""
    atlas: Atlas = request.app[ATLAS]
    dataset = _dataset(request)
    since, until = request.query.get("since"), request.query.get("until")
    low = _instant(since, "since") if since is not None else None
    high = _instant(until, "until") if until is not None else None
    verdicts = []
    table = atlas.catalog.verdicts
    first, last = verdict_key(dataset, 0), verdict_key(dataset, 10**15 - 1)
    for key, value in (list(table.items()) if table is not None else []):
        if first <= key <= last:
            start = int(key.rpartition("/")[2])
            if (low is None or start >= low) and (high is None or start < high):
                verdicts.append((start, orjson.loads(value)))
    verdicts.sort(key=lambda item: item[0])
    kept = [v for _, v in verdicts]
    events = [event for v in kept for event in v.get("events", [])]
    return json_response({"dataset_id": dataset, "verdicts": kept, "events": events,
                          "count": len(events)})


def training_skew(atlas: Atlas, version: Any, current: str) -> DriftReport:
    """Return a registry version's training-serving skew: its training profile against ``current``.

    The reference is the version's training data, a ref of its lineage's
    ``training_dataset_id``: ``run:<training_run_id>`` (a snapshot) or
    ``range:<training_range>``. The current is a ref of the serving dataset
    (``serving_dataset_id``, else the training dataset; ``latest``: its last closed window),
    judged by the serving dataset's thresholds and restricted to ``features_used`` when given.
    HttpError 409 when the version names no training profile, 400/404 for a bad or unknown ref.
    """
    lineage = version.lineage
    dataset = lineage.training_dataset_id if lineage is not None else None
    if lineage is None or not dataset:
        raise HttpError(409, f"version {version.version!r} names no training data: give its "
                        "lineage a training_dataset_id, with a training_run_id (a snapshot of "
                        "it) or a training_range", field="lineage")
    if lineage.training_run_id:
        training = f"run:{lineage.training_run_id}"
    elif lineage.training_range:
        training = f"range:{lineage.training_range}"
    else:
        raise HttpError(409, f"version {version.version!r} has no training snapshot: its "
                        f"training dataset {dataset!r} had no profile on the worker that added "
                        "it, so none was taken; add a version whose lineage names a "
                        "training_run_id or a training_range", field="lineage")
    serving_dataset = lineage.serving_dataset or dataset
    reference = resolve_ref(atlas, dataset, training, "reference")
    serving = resolve_ref(atlas, serving_dataset, current, "current")
    columns = list(lineage.features_used) or _skew_columns(
        atlas, reference.profile, serving.profile, {dataset, serving_dataset})
    return compare(reference.profile, serving.profile, thresholds_of(atlas, serving_dataset),
                   reference_label=reference.label, current_label=serving.label,
                   columns=columns)


def _skew_columns(atlas: Atlas, reference: DatasetProfile, current: DatasetProfile,
                  datasets: set[str]) -> list[str] | None:
    """Return the columns skew compares: all but either dataset's event-time column (None: all)."""
    columns: list[str] | None = None
    for dataset in sorted(datasets):
        kept = drift_columns(reference, current, windowing_of(atlas.catalog, dataset).event_time)
        if kept is not None:
            columns = kept if columns is None else [c for c in columns if c in kept]
    return columns
