"""What each route of the web view takes and answers: its query, body and responses.

Keys are ``(METHOD, route template)`` as in :data:`atlas_streams.rbac.ENDPOINT_PERMISSIONS`.
The API document (:mod:`atlas_streams.web.openapi`) joins three sources, each the only one
for its part: the aiohttp router (which routes exist, their handlers' docstrings as
summaries), the permission table (who may call them, hence their 401 and 403), and this
table (parameters, bodies, responses). A test fails when a served route is missing here or
a route here is not served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from atlas_streams.web.schemas import FRAMEWORK, STAGE, STRING, TIME

__all__ = ["OPERATIONS", "Operation", "Query"]

JSON = "application/json"


@dataclass(frozen=True)
class Query:
    """One query parameter."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: STRING)
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One route's contract; schema names refer to :data:`atlas_streams.web.schemas.SCHEMAS`.

    ``errors`` are the refusal statuses beyond 401/403 (which follow from the permission
    table); ``responses`` adds non-error answers with a schema of their own.
    """

    tag: str
    response: str | None
    status: int = 200
    content: tuple[str, ...] = (JSON,)
    body: str | None = None
    body_content: str = JSON
    query: tuple[Query, ...] = ()
    errors: tuple[int, ...] = ()
    responses: Mapping[int, str] = field(default_factory=dict)


_LOG_QUERY = (
    Query("user", "only this user id's decisions"),
    Query("since", "only decisions at or after this time", TIME),
    Query("limit", "at most this many, newest first (1-10000)",
          {"type": "integer", "minimum": 1, "maximum": 10000}),
)
_FORCE = (Query("force", "true: promote to production even when training-serving skew drifts "
                "(audited as forced)", {"type": "string", "enum": ["true", "false"]}),)
_BODY = (413, 415, 422)  # a body too large, not JSON, or not valid
_WRITE = (404, 409, *_BODY, 503)  # 503: the registry agent did not answer in time

# fmt: off
OPERATIONS: Mapping[tuple[str, str], Operation] = MappingProxyType({
    # public
    ("GET", "/health"): Operation("operations", "Health", responses={503: "Health"}),
    ("GET", "/"): Operation("dashboard", None, content=("text/html",)),
    ("GET", "/favicon.ico"): Operation("dashboard", None, content=("image/svg+xml",)),
    ("GET", "/assets/{name}"): Operation(
        "dashboard", None, content=("text/javascript", "text/css", "image/svg+xml"),
        errors=(404,)),
    ("GET", "/openapi.json"): Operation("operations", None),
    ("GET", "/docs"): Operation("operations", None, content=("text/html",)),
    ("GET", "/metrics"): Operation("operations", None, content=("text/plain",)),
    # catalog
    ("GET", "/dashboard/data"): Operation("dashboard", "Dashboard"),
    ("GET", "/catalog/stored-datasets"): Operation("catalog", "DatasetList"),
    ("GET", "/catalog/datasets/{dataset_id}/profile"): Operation(
        "catalog", "Profile", errors=(404,)),
    ("POST", "/catalog/datasets/{dataset_id}/profile"): Operation(
        "catalog", "SnapshotCreated", status=201, errors=(404,)),
    ("GET", "/catalog/datasets/{dataset_id}/snapshots"): Operation(
        "catalog", "SnapshotList", errors=(404, 422), query=(
            Query("limit", "at most this many, newest first (1-1000, default 50)",
                  {"type": "integer", "minimum": 1, "maximum": 1000}),)),
    ("GET", "/catalog/profile/by-run/{run_id}"): Operation("catalog", "Snapshot", errors=(404,)),
    ("POST", "/catalog/profile/by-run/{run_id}"): Operation("catalog", "Snapshot", errors=(404,)),
    # windows and drift
    ("PUT", "/catalog/datasets/{dataset_id}/windowing"): Operation(
        "windows", "Windowing", body="WindowingUpdate", errors=(404, 409, *_BODY, 503)),
    ("GET", "/catalog/datasets/{dataset_id}/windowing"): Operation(
        "windows", "Windowing", errors=(404,)),
    ("GET", "/catalog/datasets/{dataset_id}/windows"): Operation(
        "windows", "WindowList", errors=(400, 404), query=(
            Query("since", "only windows starting at or after this time (ISO-8601)"),
            Query("until", "only windows ending at or before this time (ISO-8601)"))),
    ("GET", "/catalog/datasets/{dataset_id}/windows/{start}"): Operation(
        "windows", "Profile", errors=(400, 404)),
    ("GET", "/catalog/datasets/{dataset_id}/drift"): Operation(
        "windows", "Drift", errors=(400, 404), query=(
            Query("reference", "window:<start ISO>, range:<since ISO>/<until ISO>, "
                  "run:<run_id> or latest", required=True),
            Query("current", "the same kinds of reference", required=True))),
    ("PUT", "/catalog/datasets/{dataset_id}/monitor"): Operation(
        "windows", "Monitor", body="MonitorUpdate", errors=(404, *_BODY, 503)),
    ("GET", "/catalog/datasets/{dataset_id}/monitor"): Operation(
        "windows", "Monitor", errors=(404,)),
    ("GET", "/catalog/datasets/{dataset_id}/drift-events"): Operation(
        "windows", "DriftEvents", errors=(400, 404), query=(
            Query("since", "only windows starting at or after this time (ISO-8601)"),
            Query("until", "only windows starting before this time (ISO-8601)"))),
    # access control
    ("GET", "/rbac/roles"): Operation("rbac", "Roles"),
    ("GET", "/rbac/permissions"): Operation("rbac", "Permissions"),
    ("GET", "/rbac/my-permissions"): Operation("rbac", "MyPermissions"),
    ("GET", "/rbac/check-permission/{permission}"): Operation("rbac", "PermissionCheck"),
    ("GET", "/rbac/check-dataset-access/{dataset}"): Operation("rbac", "DatasetCheck"),
    ("POST", "/rbac/users"): Operation(
        "rbac", "UserWithKey", status=201, body="NewUser", errors=(409, *_BODY)),
    ("GET", "/rbac/users"): Operation("rbac", "UserList"),
    ("GET", "/rbac/users/{user_id}"): Operation("rbac", "User", errors=(404,)),
    ("DELETE", "/rbac/users/{user_id}"): Operation("rbac", "UserDeleted", errors=(404, 409)),
    ("PUT", "/rbac/users/{user_id}/roles"): Operation(
        "rbac", "User", body="RolesUpdate", errors=(404, 409, *_BODY)),
    ("PUT", "/rbac/users/{user_id}/dataset-access"): Operation(
        "rbac", "User", body="DatasetAccessUpdate", errors=(404, 409, *_BODY)),
    ("PUT", "/rbac/users/{user_id}/column-masking"): Operation(
        "rbac", "User", body="ColumnMaskingUpdate", errors=(404, 409, *_BODY)),
    ("POST", "/rbac/users/{user_id}/rotate-key"): Operation(
        "rbac", "UserWithKey", errors=(404, 409)),
    ("GET", "/rbac/access-logs"): Operation(
        "audit", "AuditEvents", errors=(422,), query=(
            *_LOG_QUERY,
            Query("decision", "only allowed or only denied decisions",
                  {"type": "string", "enum": ["allowed", "denied"]}))),
    ("GET", "/rbac/access-logs/denied"): Operation(
        "audit", "AuditEvents", query=_LOG_QUERY, errors=(422,)),
    ("GET", "/rbac/audit/verify"): Operation("audit", "ChainReport"),
    # model registry
    ("POST", "/models/register"): Operation(
        "models", "Model", status=201, body="ModelRegistration", errors=_WRITE),
    ("GET", "/models/"): Operation("models", "ModelList"),
    ("GET", "/models/search"): Operation("models", "SearchResults", errors=(422,), query=(
        Query("q", "a substring of the name or description, any case"),
        Query("tag", "an exact tag"),
        Query("stage", "versions in this stage", STAGE),
        Query("framework", "versions of this framework", FRAMEWORK),
        Query("metric", "versions whose metric passes, e.g. accuracy>0.9 (> >= < <= = !=)"))),
    ("GET", "/models/{name}"): Operation("models", "Model", errors=(404,)),
    ("DELETE", "/models/{name}"): Operation("models", "ModelDeleted", errors=_WRITE),
    ("POST", "/models/{name}/versions"): Operation(
        "models", "Version", status=201, body="NewVersion", errors=_WRITE),
    ("GET", "/models/{name}/versions"): Operation("models", "VersionList", errors=(404,)),
    ("GET", "/models/{name}/versions/{version}"): Operation("models", "Version", errors=(404,)),
    ("GET", "/models/{name}/latest"): Operation("models", "Version", errors=(404,)),
    ("GET", "/models/{name}/production"): Operation("models", "Version", errors=(404,)),
    ("GET", "/models/{name}/versions/{version}/skew"): Operation(
        "models", "Drift", errors=(400, 404, 409), query=(
            Query("current", "window:<start ISO>, range:<since ISO>/<until ISO>, run:<run_id> "
                  "or latest (the default) of the serving dataset (the lineage's "
                  "serving_dataset_id, else its training_dataset_id)"),)),
    ("POST", "/models/{name}/versions/{version}/transition"): Operation(
        "models", "StageChanged", body="StageChange", errors=(400, *_WRITE), query=_FORCE),
    ("POST", "/models/{name}/versions/{version}/promote-staging"): Operation(
        "models", "StageChanged", errors=_WRITE),
    ("POST", "/models/{name}/versions/{version}/promote-production"): Operation(
        "models", "StageChanged", errors=(400, *_WRITE), query=_FORCE),
    ("PUT", "/models/{name}/versions/{version}/metrics"): Operation(
        "models", "Version", body="Metrics", errors=_WRITE),
    ("GET", "/models/{name}/compare"): Operation("models", "Comparison", errors=(404, 422), query=(
        Query("version_a", "the first version", required=True),
        Query("version_b", "the second version", required=True))),
    ("POST", "/models/{name}/compare"): Operation(
        "models", "Comparison", body="VersionPair", errors=(404, *_BODY)),
    ("GET", "/models/{name}/export"): Operation("models", "Export", errors=(404,)),
    ("GET", "/models/{name}/history"): Operation("models", "History", errors=(404, 422), query=(
        Query("at", "the stages at this instant (ISO-8601 with a zone)", TIME),)),
    ("PUT", "/models/{name}/versions/{version}/artifact"): Operation(
        "models", "Artifact", status=201, body_content="application/octet-stream",
        body="Binary", errors=_WRITE),
    ("GET", "/models/{name}/versions/{version}/artifact"): Operation(
        "models", None, content=("application/octet-stream",), errors=(404,)),
})
# fmt: on
