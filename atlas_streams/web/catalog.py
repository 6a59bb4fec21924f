"""Catalog endpoints: stored datasets, merged profiles and frozen snapshots."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from atlas_streams import topics
from atlas_streams.profiling import DatasetProfile, with_freshness
from atlas_streams.runtime import Atlas
from atlas_streams.topics import DATASET_NAME
from atlas_streams.web import commands
from atlas_streams.web.context import ATLAS, Access, view_report
from atlas_streams.web.errors import HttpError, json_response
from atlas_streams.web.reports import ReportCache

__all__ = [
    "REPORTS", "merged_profile", "merged_profiles", "routes", "stored_dataset_listing",
    "take_snapshot",
]

REPORTS = web.AppKey("reports", ReportCache)

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
SNAPSHOT_VISIBLE_TIMEOUT = 10.0  # s to wait until this worker's copy holds a new snapshot
SNAPSHOT_LIMIT, MAX_SNAPSHOT_LIMIT = 50, 1000  # snapshots listed by default, at most

routes = web.RouteTableDef()


def merged_profiles(atlas: Atlas) -> dict[str, DatasetProfile]:
    """Return every dataset's profile merged over all source partitions."""
    return {
        name: DatasetProfile.from_bytes(value) for name, value in atlas.catalog.merged.items()
    }


def merged_profile(atlas: Atlas, dataset: str) -> DatasetProfile | None:
    """Return one dataset's merged profile, or None when it has none."""
    value = atlas.catalog.merged.get(dataset)
    return DatasetProfile.from_bytes(value) if value else None


def _dataset_profile(request: web.Request) -> tuple[str, DatasetProfile]:
    dataset = request.match_info["dataset_id"]
    if not DATASET_NAME.match(dataset):
        raise HttpError(404, f"dataset {dataset!r} not found")
    profile = merged_profile(request.app[ATLAS], dataset)
    if profile is None:
        raise HttpError(404, f"dataset {dataset!r} not found")
    return dataset, profile


def stored_dataset_listing(
    atlas: Atlas, access: Access, reports: ReportCache
) -> list[dict[str, Any]]:
    """Return every dataset the caller may see, with its row and column counts."""
    stored = dict(atlas.catalog.merged.items())
    subscribed = set(atlas.discovery.datasets())
    names = set(stored) | subscribed
    listing = []
    for name in sorted(names):
        if not access.can_see_dataset(name):
            continue
        report = reports.report(name, stored[name]) if stored.get(name) else None
        topic = atlas.discovery.topic_of(name)
        listing.append({
            "dataset_id": name,
            "topic": topic,
            "partitions": atlas.discovery.partitions.get(topic) if topic else None,
            "state": "profiling" if name in subscribed else "topic gone; the profile is kept",
            "row_count": report["row_count"] if report else 0,
            "invalid_count": report.get("invalid_count", 0) if report else 0,
            "column_count": len(report["columns"]) if report else 0,
            "updated_at": report["updated_at"] if report else None,
        })
    return listing


@routes.get("/catalog/stored-datasets")
async def stored_datasets(request: web.Request) -> web.Response:
    """List every dataset with a profile the caller may see, with its row count."""
    listing = stored_dataset_listing(request.app[ATLAS], request["access"], request.app[REPORTS])
    return json_response({"datasets": listing, "count": len(listing)})


@routes.get("/catalog/datasets/{dataset_id}/profile")
async def get_profile(request: web.Request) -> web.Response:
    """Return the dataset's current profile, merged over every partition."""
    dataset = request.match_info["dataset_id"]
    value = request.app[ATLAS].catalog.merged.get(dataset) if DATASET_NAME.match(dataset) else None
    if not value:
        raise HttpError(404, f"dataset {dataset!r} not found")
    # Rendered once per profile version; datetime columns' freshness is as of this request.
    report = with_freshness(request.app[REPORTS].report(dataset, value), time.time())
    return json_response(view_report(request, dataset, report))


@routes.post("/catalog/datasets/{dataset_id}/profile")
async def snapshot_profile(request: web.Request) -> web.Response:
    """Freeze the dataset's current profile as a snapshot and return its run id."""
    dataset, profile = _dataset_profile(request)
    return json_response(await take_snapshot(request.app[ATLAS], dataset, profile), status=201)


async def take_snapshot(atlas: Atlas, dataset: str, profile: DatasetProfile) -> dict[str, Any]:
    """Freeze ``profile`` as a snapshot of ``dataset``; return its run id, time and row count.

    The catalog agent stores it; this returns once this worker's copy holds it (at most
    ``SNAPSHOT_VISIBLE_TIMEOUT``). HttpError 500: the agent refused it; 503: no answer.
    """
    run_id = uuid.uuid4().hex
    created_at = datetime.now(UTC).isoformat()
    command = {
        "type": "snapshot",
        "run_id": run_id,
        "dataset_id": dataset,
        "created_at": created_at,
        "profile": base64.b64encode(profile.to_bytes()).decode("ascii"),
    }
    reply = await commands.send(atlas, atlas.snapshot_agent, topics.CATALOG_COMMANDS, command,
                                run_id.encode(), who="the catalog agent")
    if not reply.get("ok"):
        raise HttpError(500, f"the snapshot was not stored: {reply.get('error')}")
    await _wait_visible(atlas, run_id)
    return {"run_id": run_id, "dataset_id": dataset, "created_at": created_at,
            "row_count": profile.row_count}


async def _wait_visible(atlas: Atlas, run_id: str) -> None:
    deadline = time.monotonic() + SNAPSHOT_VISIBLE_TIMEOUT
    while run_id not in atlas.catalog.snapshots and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


@routes.get("/catalog/profile/by-run/{run_id}")
@routes.post("/catalog/profile/by-run/{run_id}")
async def get_snapshot(request: web.Request) -> web.Response:
    """Return a frozen profile snapshot by its run id."""
    run_id = request.match_info["run_id"]
    stored = request.app[ATLAS].catalog.snapshots.get(run_id) if RUN_ID.match(run_id) else None
    if stored is None:
        raise HttpError(404, f"no profile snapshot with run_id {run_id!r}")
    body: dict[str, Any] = orjson.loads(stored)
    dataset = body["dataset_id"]
    if not request["access"].can_see_dataset(dataset):
        request["audit_reason"] = "dataset_denied"
        raise HttpError(404, f"no profile snapshot with run_id {run_id!r}")
    profile = DatasetProfile.from_bytes(base64.b64decode(body["profile"]))
    frozen_at = datetime.fromisoformat(body["created_at"]).timestamp()  # freshness as then
    report = view_report(request, dataset, profile.report(dataset, now=frozen_at))
    return json_response({"run_id": run_id, "created_at": body["created_at"], **report})


@routes.get("/catalog/datasets/{dataset_id}/snapshots")
async def list_snapshots(request: web.Request) -> web.Response:
    """List the dataset's profile snapshots, newest first (``?limit=``, 50 by default)."""
    dataset = request.match_info["dataset_id"]
    limit = _limit(request.query.get("limit"))
    found = []
    for run_id, stored in request.app[ATLAS].catalog.snapshots.items():
        body = orjson.loads(stored)
        if body["dataset_id"] == dataset:
            found.append({"run_id": run_id, "dataset_id": dataset,
                          "created_at": body["created_at"],
                          "row_count": DatasetProfile.from_bytes(
                              base64.b64decode(body["profile"])).row_count})
    found.sort(key=lambda snap: snap["created_at"], reverse=True)
    return json_response({"dataset_id": dataset, "snapshots": found[:limit],
                          "count": len(found[:limit])})


def _limit(text: str | None) -> int:
    if text is None:
        return SNAPSHOT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_SNAPSHOT_LIMIT:
        raise HttpError(422, f"limit must be a whole number from 1 to {MAX_SNAPSHOT_LIMIT}; "
                        f"got {text!r}", field="limit")
    return int(text)
