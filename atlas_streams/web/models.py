"""Model registry endpoints: reads from this worker's copy, writes through the registry agent.

A write is checked here (a malformed request gets its 422 without a round trip), then sent as
a command, with a fresh id, to the registry agent (:mod:`atlas_streams.agents.registry`), which
applies the commands on a model one at a time on whichever worker runs it. Its reply decides
the answer; before answering, the handler waits until this worker's copy of the registry table
holds the change, so a read that follows a write on the same worker sees it. Artifact bytes
are streamed to and from the artifact store and never pass through Kafka: the registry records
only their URI, sha256 and size.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from aiohttp import web

from atlas_streams import topics
from atlas_streams.agents.registry import ERROR_KINDS
from atlas_streams.artifacts import (
    ArtifactCorrupt,
    ArtifactNotFound,
    ArtifactStore,
    ArtifactTooLarge,
    StoreUnavailable,
    default_store_uri,
    open_store,
)
from atlas_streams.registry import (
    AddVersion,
    ModelState,
    compare,
    export,
    history,
    latest,
    parse_command,
    production,
    search,
    summarize,
)
from atlas_streams.runtime import Atlas
from atlas_streams.topics import DATASET_NAME
from atlas_streams.web import commands
from atlas_streams.web.catalog import merged_profile, take_snapshot
from atlas_streams.web.context import ATLAS, read_json
from atlas_streams.web.errors import HttpError, json_response
from atlas_streams.web.windows import training_skew

__all__ = ["models_summary", "routes"]

VISIBLE_TIMEOUT = 10.0  # s to wait until this worker's copy holds a change
UPLOAD_CHUNK = 1 << 20  # bytes read from the request at a time
SEARCH_PARAMS = frozenset({"q", "tag", "stage", "framework", "metric"})

routes = web.RouteTableDef()


def models_summary(atlas: Atlas) -> list[dict[str, Any]]:
    """Return one summary per model (latest and production versions), by name."""
    return summarize(atlas.registry.models_now())


# ---- reading -------------------------------------------------------------------------------


def _model(request: web.Request) -> ModelState:
    name = request.match_info["name"]
    state: ModelState | None = request.app[ATLAS].registry.model(name)
    if state is None:
        raise HttpError(404, f"model {name!r} does not exist; register it first")
    return state


# ---- writing through the agent -------------------------------------------------------------


async def _command(
    request: web.Request, action: str, body: Any, *, version: str | None = None,
    await_run: str | None = None,
) -> dict[str, Any]:
    """Check, send and await one command; return the agent's successful reply.

    ``await_run``: a snapshot this view took for the command; the agent waits for its copy.
    """
    atlas: Atlas = request.app[ATLAS]
    url_name = request.match_info.get("name")
    command = parse_command(action, body, model=url_name, version=version)
    principal = request.get("principal")
    command_id = uuid.uuid4().hex
    message = {
        "id": command_id, "action": action, "model": command.model, "version": version,
        "body": body, "actor": principal.user_id if principal is not None else "anonymous",
    }
    if await_run is not None:
        message["await_run"] = await_run
    counted = atlas.metrics.registry_commands
    try:
        reply = await commands.send(atlas, atlas.registry_agent, topics.REGISTRY_COMMANDS, message,
                                    command.model.encode(), who="the registry")
    except commands.CommandTimeout:
        counted.labels(action, "timeout").inc()
        raise
    if not reply.get("ok"):
        counted.labels(action, str(reply.get("error") or "refused")).inc()
        status = ERROR_KINDS.get(reply.get("error", ""), 500)
        raise HttpError(status, reply.get("message") or "the registry refused the command")
    counted.labels(action, "ok").inc()
    await _wait_visible(atlas, command.model, command_id)
    return dict(reply)


async def _wait_visible(atlas: Atlas, name: str, command_id: str) -> None:
    deadline = time.monotonic() + VISIBLE_TIMEOUT
    while time.monotonic() < deadline:
        stored = atlas.registry.stored(name)
        if stored is not None and stored.has_run(command_id):
            return
        await asyncio.sleep(0.02)


def _version_of(reply: dict[str, Any], version: str) -> dict[str, Any]:
    state = reply.get("state") or {}
    for entry in state.get("versions", []):
        if entry["version"] == version:
            return dict(entry)
    raise HttpError(404, f"version {version!r} is no longer in the registry")


# ---- models --------------------------------------------------------------------------------


@routes.post("/models/register")
async def register_model(request: web.Request) -> web.Response:
    """Register a model: {name, description, tags}."""
    reply = await _command(request, "register_model", await read_json(request))
    return json_response(reply["state"], status=201)


@routes.get("/models/")
async def list_models(request: web.Request) -> web.Response:
    """List every model with its latest and production version."""
    summaries = models_summary(request.app[ATLAS])
    return json_response({"models": summaries, "count": len(summaries)})


@routes.get("/models/search")
async def search_models(request: web.Request) -> web.Response:
    """Search models: ?q=&tag=&stage=&framework=&metric=accuracy>0.9."""
    unknown = sorted(set(request.query) - SEARCH_PARAMS)
    if unknown:
        raise HttpError(422, f"unknown search parameter(s) {', '.join(unknown)}; use "
                        f"{', '.join(sorted(SEARCH_PARAMS))}")
    filters = {name: request.query.get(name) for name in SEARCH_PARAMS}
    hits = search(request.app[ATLAS].registry.models_now(), **filters)
    return json_response({"results": [hit.to_json() for hit in hits], "count": len(hits)})


@routes.get("/models/{name}")
async def get_model(request: web.Request) -> web.Response:
    """Return a model with its versions, highest first."""
    return json_response(_model(request).to_json())


@routes.delete("/models/{name}")
async def delete_model(request: web.Request) -> web.Response:
    """Delete a model and its versions (refused while one is in production)."""
    await _command(request, "delete_model", await read_json(request))
    return json_response({"model": request.match_info["name"], "deleted": True})


# ---- versions ------------------------------------------------------------------------------


@routes.post("/models/{name}/versions")
async def add_version(request: web.Request) -> web.Response:
    """Add a version: {version, framework, description, parameters, metrics, lineage}.

    A lineage naming its `training_dataset_id` but neither a `training_run_id` nor a
    `training_range` gets a snapshot of that dataset taken now, as its `training_run_id`
    (none when the dataset has no profile on this worker, or the caller may not see it).
    """
    body, run_id = await _with_training_snapshot(request, await read_json(request))
    reply = await _command(request, "add_version", body, await_run=run_id)
    added = [e["version"] for e in reply["events"] if e["type"] == "version_added"]
    version = added[0] if added else str((body or {}).get("version"))
    return json_response(_version_of(reply, version), status=201)


async def _with_training_snapshot(request: web.Request, body: Any) -> tuple[Any, str | None]:
    """Return ``body`` with a fresh snapshot as its lineage's ``training_run_id`` when it needs
    one, and that run id (None: no snapshot taken).

    The body is checked first (a malformed one gets its 422 and takes no snapshot). A snapshot
    of a version the registry then refuses is kept, as any snapshot.
    """
    command = parse_command("add_version", body, model=request.match_info["name"])
    lineage = command.lineage if isinstance(command, AddVersion) else None
    if (lineage is None or not lineage.training_dataset_id or lineage.training_run_id
            or lineage.training_range):
        return body, None
    dataset = lineage.training_dataset_id
    atlas: Atlas = request.app[ATLAS]
    if not DATASET_NAME.match(dataset) or not request["access"].can_see_dataset(dataset):
        return body, None
    profile = merged_profile(atlas, dataset)
    if profile is None:
        return body, None  # a version may name a dataset this worker has not profiled (yet)
    run_id: str = (await take_snapshot(atlas, dataset, profile))["run_id"]
    return {**body, "lineage": {**body["lineage"], "training_run_id": run_id}}, run_id


@routes.get("/models/{name}/versions")
async def list_versions(request: web.Request) -> web.Response:
    """List a model's versions, highest semver precedence first."""
    state = _model(request)
    versions = [state.versions[v].to_dict() for v in state.versions_by_precedence()]
    return json_response({"model": state.name, "versions": versions, "count": len(versions)})


@routes.get("/models/{name}/versions/{version}")
async def get_version(request: web.Request) -> web.Response:
    """Return one version."""
    return json_response(_model(request).get_version(request.match_info["version"]).to_dict())


@routes.get("/models/{name}/latest")
async def get_latest(request: web.Request) -> web.Response:
    """Return the version of highest semver precedence."""
    return json_response(latest(_model(request)).to_dict())


@routes.get("/models/{name}/production")
async def get_production(request: web.Request) -> web.Response:
    """Return the version in production."""
    return json_response(production(_model(request)).to_dict())


async def _stage_change(request: web.Request, action: str) -> web.Response:
    version = request.match_info["version"]
    reply = await _command(request, action, await read_json(request), version=version)
    moved = [e for e in reply["events"] if e["type"] == "stage_changed"]
    path = [e["to_stage"] for e in moved if e["version"] == version]
    archived = [e["version"] for e in moved if e["version"] != version]
    return json_response({**_version_of(reply, version), "path": path, "archived": archived})


@routes.get("/models/{name}/versions/{version}/skew")
async def version_skew(request: web.Request) -> web.Response:
    """Return the training-serving skew of a version: its training profile against `current`.

    The reference is the version's training data: its lineage `training_run_id` (a snapshot of
    its `training_dataset_id`) or `training_range` (that dataset's windows in the range).
    `current` is a ref (`window:`, `range:`, `run:`, default `latest`, its last closed window)
    of the serving dataset: the lineage `serving_dataset_id`, else the training dataset. Only
    `features_used` are compared when given. The answer is the drift answer.
    """
    version = _model(request).get_version(request.match_info["version"])
    lineage = version.lineage
    dataset = lineage.training_dataset_id if lineage is not None else None
    serving = lineage.serving_dataset if lineage is not None else None
    for name in dict.fromkeys((dataset, serving)):
        if name and not request["access"].can_see_dataset(name):
            request["audit_reason"] = "dataset_denied"
            raise HttpError(404, f"dataset {name!r} not found")
    current = request.query.get("current") or "latest"
    report = await asyncio.to_thread(training_skew, request.app[ATLAS], version, current)
    return json_response({"model": request.match_info["name"], "version": version.version,
                          "dataset_id": dataset, "serving_dataset_id": serving,
                          **report.to_json()})


async def _skew_gate(request: web.Request) -> None:
    """Refuse (409) a promotion to production whose training-serving skew drifts.

    Unless ``?force=true`` (audited as ``skew_forced``). The training data (snapshot or range)
    is compared with the serving dataset's last closed window. A version without training data,
    or whose serving dataset has no closed window yet, is not checked.
    """
    force = request.query.get("force", "false")
    if force not in ("true", "false"):
        raise HttpError(400, f"force: send true or false, not {force[:20]!r}", field="force")
    version = _model(request).get_version(request.match_info["version"])
    try:
        report = await asyncio.to_thread(training_skew, request.app[ATLAS], version, "latest")
    except HttpError:
        return  # nothing to compare with
    if not report.drift:
        return
    if force == "true":
        request["audit_reason"] = "skew_forced"
        return
    raise HttpError(409, f"version {version.version!r} drifts from its training data on "
                    f"{', '.join(report.drifted_columns) or 'its schema'} ({report.current}); "
                    "promote with ?force=true to do it anyway (audited)",
                    drifted_columns=report.drifted_columns)


@routes.post("/models/{name}/versions/{version}/transition")
async def transition_version(request: web.Request) -> web.Response:
    """Move a version to another stage: {stage}; to production, skew is checked (`?force=true`)."""
    body = await read_json(request)
    if isinstance(body, dict) and body.get("stage") == "production":
        await _skew_gate(request)
    return await _stage_change(request, "transition")


@routes.post("/models/{name}/versions/{version}/promote-staging")
async def promote_staging(request: web.Request) -> web.Response:
    """Move a version to staging."""
    return await _stage_change(request, "promote_staging")


@routes.post("/models/{name}/versions/{version}/promote-production")
async def promote_production(request: web.Request) -> web.Response:
    """Move a version to production (through staging if need be), archiving the one there.

    Refused (409, with `drifted_columns`) when the version's training-serving skew drifts,
    unless `?force=true` (audited as forced).
    """
    await _skew_gate(request)
    return await _stage_change(request, "promote_production")


@routes.put("/models/{name}/versions/{version}/metrics")
async def update_metrics(request: web.Request) -> web.Response:
    """Merge metrics into a version's metrics: {metric: value, ...}."""
    version = request.match_info["version"]
    reply = await _command(request, "update_metrics", await read_json(request), version=version)
    changed = [e["version"] for e in reply["events"]]
    return json_response(_version_of(reply, changed[0] if changed else version))


# ---- questions about a model ---------------------------------------------------------------


@routes.get("/models/{name}/compare")
@routes.post("/models/{name}/compare")
async def compare_versions(request: web.Request) -> web.Response:
    """Compare two versions' metrics: ?version_a=&version_b= (or the same in a JSON body)."""
    state = _model(request)
    body = await read_json(request) if request.method == "POST" else None
    if body is not None and not isinstance(body, dict):
        raise HttpError(422, "the request body must be a JSON object with version_a, version_b")
    given = {**request.query, **(body or {})}
    a, b = given.get("version_a"), given.get("version_b")
    if not isinstance(a, str) or not isinstance(b, str):
        raise HttpError(422, "name both versions: ?version_a=1.0.0&version_b=1.1.0")
    comparison = compare(state, a, b)
    return json_response({"model": state.name, "version_a": a, "version_b": b,
                          **comparison.to_json()})


@routes.get("/models/{name}/export")
async def export_model(request: web.Request) -> web.Response:
    """Return everything about a model, its full change log included."""
    return json_response(export(_model(request)))


@routes.get("/models/{name}/history")
async def model_history(request: web.Request) -> web.Response:
    """Return the change log, and each stage's versions, now or ?at=<ISO-8601 with zone>."""
    state = _model(request)
    at_text = request.query.get("at")
    try:
        at = None if at_text is None else datetime.fromisoformat(at_text)
    except ValueError:
        raise HttpError(422, f"at must be an ISO-8601 time, e.g. 2024-05-01T12:00:00Z; "
                        f"got {at_text!r}") from None
    return json_response(history(state, at))


# ---- artifacts -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _store_at(uri: str) -> ArtifactStore:
    return open_store(uri)


def _store(atlas: Atlas) -> ArtifactStore:
    settings = atlas.settings
    try:
        return _store_at(settings.artifacts_uri or default_store_uri(settings.data_dir))
    except StoreUnavailable as exc:
        raise HttpError(503, str(exc)) from None


@routes.put("/models/{name}/versions/{version}/artifact")
async def put_artifact(request: web.Request) -> web.Response:
    """Store the request body as the version's artifact (streamed; size-limited)."""
    atlas: Atlas = request.app[ATLAS]
    name, version = request.match_info["name"], request.match_info["version"]
    _model(request).get_version(version)
    limit = atlas.settings.max_artifact_bytes
    if request.content_length is not None and request.content_length > limit:
        raise HttpError(413, f"artifact is over the limit of {limit} bytes")
    store = _store(atlas)
    try:
        info = await store.put(name, version, request.content.iter_chunked(UPLOAD_CHUNK), limit)
    except ArtifactTooLarge as exc:
        raise HttpError(413, str(exc)) from None
    body = {"uri": info.uri, "sha256": info.sha256, "size": info.size}
    try:
        reply = await _command(request, "set_artifact", body, version=version)
    except HttpError:
        await _discard_unused(atlas, store, name, version, info.uri)
        raise
    return json_response({**_version_of(reply, version)["artifact"]}, status=201)


async def _discard_unused(
    atlas: Atlas, store: ArtifactStore, name: str, version: str, uri: str
) -> None:
    # Content-addressed: the same bytes may already be this version's recorded artifact.
    state = atlas.registry.model(name)
    current = state.versions.get(version) if state else None
    if current is None or current.artifact is None or current.artifact.uri != uri:
        await store.delete(uri)


@routes.get("/models/{name}/versions/{version}/artifact")
async def get_artifact(request: web.Request) -> web.StreamResponse:
    """Stream the version's artifact back, checked against its recorded sha256 and size."""
    atlas: Atlas = request.app[ATLAS]
    version = _model(request).get_version(request.match_info["version"])
    artifact = version.artifact
    if artifact is None:
        raise HttpError(404, f"version {version.version} has no artifact; upload one with PUT")
    try:
        chunks = await _store(atlas).open_verified(artifact.uri, artifact.sha256, artifact.size)
    except ArtifactNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except ArtifactCorrupt as exc:
        raise HttpError(500, str(exc)) from None
    response = web.StreamResponse(headers={
        "Content-Type": "application/octet-stream",
        "X-Artifact-SHA256": artifact.sha256,
        "X-Artifact-Size": str(artifact.size),
    })
    response.content_length = artifact.size
    await response.prepare(request)
    try:
        async for chunk in chunks:
            await response.write(chunk)
    except ArtifactCorrupt:
        # Headers are sent: cut the connection so the client sees a short, failed download.
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response
