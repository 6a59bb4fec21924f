"""JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of the web view's bodies, by name.

:data:`SCHEMAS` becomes ``components.schemas`` of the API document; operations refer to an
entry with :func:`ref`. A schema states the fields a client may rely on and their types;
objects stay open (``additionalProperties`` allowed) so a new field is not a breaking change.
Schemathesis checks every response the suite provokes against these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from atlas_streams.rbac import Role
from atlas_streams.registry import LINEAGE_FIELDS, Framework, Stage

__all__ = ["FRAMEWORK", "SCHEMAS", "STAGE", "STRING", "TIME", "array_of", "ref"]

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    """Return a reference to the component schema ``name``."""
    if name not in SCHEMAS:
        raise KeyError(f"no schema {name!r}; add it to atlas_streams/web/schemas.py")
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(item: Schema) -> Schema:
    """Return the schema of a list of ``item``."""
    return {"type": "array", "items": item}


def _object(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    return {"type": "object", "required": list(required), "properties": properties}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
ANY_OBJECT: Schema = {"type": "object"}
STRINGS: Schema = array_of(STRING)
STAGE: Schema = {"type": "string", "enum": [stage.value for stage in Stage]}
FRAMEWORK: Schema = {"type": "string", "enum": [f.value for f in Framework]}
ROLE: Schema = {"type": "string", "enum": [role.value for role in Role]}
MASK: Schema = {"type": "string", "enum": ["null", "hash", "show_last_4", "redact"]}
METRICS: Schema = {"type": "object", "additionalProperties": NUMBER}

_PROFILE_COLUMN = _object(
    ("type", "count", "null_count", "null_percent"),
    type=STRING, count=INTEGER, null_count=INTEGER,
    null_percent={"type": "number", "minimum": 0, "maximum": 100},
    distinct_estimate=INTEGER, distinct_bounds=_object(("lower", "upper"), lower=NUMBER,
                                                       upper=NUMBER),
    median={}, mean=_nullable(NUMBER), std=_nullable(NUMBER),
    quantiles={"type": "object"}, quantile_rank_error=NUMBER,
    histogram=_object(("edges", "counts"), edges=array_of({}), counts=array_of(INTEGER)),
    top_values=array_of(_object(("value", "count"), count=INTEGER)),
    string_length=_object(("min", "max", "mean")),
    memory_bytes=INTEGER, masked=BOOLEAN,
)
_PROFILE = _object(
    ("dataset_id", "row_count", "updated_at", "columns"),
    dataset_id=STRING, row_count=INTEGER, invalid_count=INTEGER, updated_at=_nullable(TIME),
    columns={"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Column"}},
)
_LINEAGE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{name: _nullable(STRING) for name in LINEAGE_FIELDS if name != "features_used"},
        "features_used": STRINGS,
    },
}
_VERSION = _object(
    ("version", "framework", "stage", "metrics", "created_at"),
    version=STRING, framework=FRAMEWORK, stage=STAGE, description=STRING,
    parameters=ANY_OBJECT, metrics=METRICS, lineage=_nullable(_LINEAGE),
    artifact=_nullable(_object(("uri", "sha256", "size"), uri=STRING, sha256=STRING,
                               size=INTEGER)),
    created_at=TIME, created_by=STRING, updated_at=TIME,
)
_CHANGE = _object(
    ("event_id", "type", "model", "timestamp", "revision"),
    event_id=STRING, type=STRING, model=STRING, version=_nullable(STRING),
    from_stage=_nullable(STAGE), to_stage=_nullable(STAGE), actor=STRING, timestamp=TIME,
    revision=INTEGER, data=ANY_OBJECT,
)
_MODEL = _object(
    ("name", "versions", "latest", "production"),
    name=STRING, description=STRING, tags=STRINGS, created_at=TIME, created_by=STRING,
    updated_at=TIME, revision=INTEGER, versions=array_of({"$ref": "#/components/schemas/Version"}),
    latest=_nullable(STRING), production=_nullable(STRING),
)
_MODEL_SUMMARY = _object(
    ("name", "versions", "latest", "production"),
    name=STRING, description=STRING, tags=STRINGS, versions=INTEGER,
    latest=_nullable(STRING), production=_nullable(STRING), updated_at=TIME,
)
_USER = _object(
    ("user_id", "username", "roles"),
    user_id=STRING, username=STRING, email=STRING, roles=array_of(ROLE),
    allowed_datasets=STRINGS, denied_datasets=STRINGS,
    masked_columns={"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": MASK}},
    key_id=STRING, created_at=TIME, is_active=BOOLEAN,
)
_AUDIT_EVENT = _object(
    ("event_id", "ts", "method", "path", "status", "allowed", "reason"),
    event_id=STRING, ts=TIME, user_id=_nullable(STRING), key_id=_nullable(STRING),
    method=STRING, path=STRING, permission=_nullable(STRING), dataset=_nullable(STRING),
    client=_nullable(STRING), status=INTEGER, allowed=BOOLEAN, reason=STRING,
)

SCHEMAS: Mapping[str, Schema] = MappingProxyType({
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {"error": STRING, "status": {"type": "integer", "minimum": 400},
                       "field": STRING},
        "description": "Every refusal: what was wrong and what to do, never a traceback.",
    },
    "Health": _object(("status",), status={"type": "string", "enum": ["ok", "recovering"]}),
    "Column": _PROFILE_COLUMN,
    "Profile": _PROFILE,
    "Snapshot": {"allOf": [_PROFILE, _object(("run_id", "created_at"), run_id=STRING,
                                             created_at=TIME)]},
    "SnapshotCreated": _object(("run_id", "dataset_id", "created_at", "row_count"),
                               run_id=STRING, dataset_id=STRING, created_at=TIME,
                               row_count=INTEGER),
    "SnapshotList": _object(("dataset_id", "snapshots", "count"), dataset_id=STRING,
                            count=INTEGER, snapshots=array_of(_object(
                                ("run_id", "dataset_id", "created_at", "row_count"),
                                run_id=STRING, dataset_id=STRING, created_at=TIME,
                                row_count=INTEGER))),
    "DatasetList": _object(("datasets", "count"), count=INTEGER, datasets=array_of(_object(
        ("dataset_id", "row_count", "invalid_count", "column_count", "updated_at"),
        dataset_id=STRING, row_count=INTEGER, invalid_count=INTEGER, column_count=INTEGER,
        updated_at=_nullable(TIME)))),
    "Dashboard": _object(("user", "datasets", "models", "audit"),
                         user=ANY_OBJECT, datasets=array_of(ANY_OBJECT),
                         models=_nullable(array_of(_MODEL_SUMMARY)),
                         audit=_nullable(array_of(_AUDIT_EVENT))),
    "Roles": _object(("roles",), roles=array_of(_object(
        ("role", "description", "permissions"), role=ROLE, description=STRING,
        permissions=STRINGS))),
    "Permissions": _object(("permissions",), permissions=array_of(_object(
        ("permission", "family", "action", "description"), permission=STRING, family=STRING,
        action=STRING, description=STRING))),
    "User": _USER,
    "UserList": _object(("users", "count"), users=array_of(_USER), count=INTEGER),
    "UserWithKey": {"allOf": [_USER, _object(("api_key", "note"), api_key=STRING,
                                             note=STRING)]},
    "UserDeleted": _object(("deleted",), deleted=STRING),
    "MyPermissions": _object(("user", "permissions"), user=_USER, permissions=STRINGS),
    "PermissionCheck": _object(("permission", "allowed"), permission=STRING, allowed=BOOLEAN),
    "DatasetCheck": _object(("dataset", "allowed"), dataset=STRING, allowed=BOOLEAN),
    "AuditEvents": _object(("events", "count"), events=array_of(_AUDIT_EVENT), count=INTEGER),
    "ChainReport": _object(("ok", "checked"), ok=BOOLEAN, checked=INTEGER,
                           first_break_index=_nullable(INTEGER), reason=_nullable(STRING),
                           head=_nullable(STRING), head_in_table=_nullable(STRING),
                           topic=STRING, duplicates_skipped=INTEGER),
    "NewUser": {
        "type": "object", "required": ["username", "email", "roles"],
        "additionalProperties": False,
        "properties": {"username": STRING, "email": STRING, "roles": array_of(ROLE),
                       "allowed_datasets": STRINGS, "denied_datasets": STRINGS,
                       "masked_columns": ANY_OBJECT},
    },
    "RolesUpdate": {"type": "object", "required": ["roles"], "additionalProperties": False,
                    "properties": {"roles": array_of(ROLE)}},
    "DatasetAccessUpdate": {"type": "object", "additionalProperties": False,
                            "properties": {"allowed_datasets": STRINGS,
                                           "denied_datasets": STRINGS}},
    "ColumnMaskingUpdate": {"type": "object", "required": ["masked_columns"],
                            "properties": {"dataset_id": STRING, "masked_columns": {}}},
    "ModelRegistration": {"type": "object", "required": ["name"], "additionalProperties": False,
                          "properties": {"name": STRING, "description": STRING,
                                         "tags": STRINGS}},
    "NewVersion": {"type": "object", "required": ["version", "framework"],
                   "additionalProperties": False,
                   "properties": {"version": STRING, "framework": FRAMEWORK,
                                  "description": STRING, "parameters": ANY_OBJECT,
                                  "metrics": METRICS, "lineage": _LINEAGE}},
    "StageChange": {"type": "object", "required": ["stage"], "additionalProperties": False,
                    "properties": {"stage": STAGE}},
    "Metrics": METRICS,
    "VersionPair": _object(("version_a", "version_b"), version_a=STRING, version_b=STRING),
    "Model": _MODEL,
    "ModelList": _object(("models", "count"), models=array_of(_MODEL_SUMMARY), count=INTEGER),
    "ModelDeleted": _object(("model", "deleted"), model=STRING, deleted=BOOLEAN),
    "Version": _VERSION,
    "VersionList": _object(("model", "versions", "count"), model=STRING,
                           versions=array_of(_VERSION), count=INTEGER),
    "StageChanged": {"allOf": [_VERSION, _object(("path", "archived"), path=array_of(STAGE),
                                                 archived=STRINGS)]},
    "SearchResults": _object(("results", "count"), count=INTEGER, results=array_of(_object(
        ("model", "versions"), model=STRING, description=STRING, tags=STRINGS,
        versions=STRINGS))),
    "Comparison": _object(
        ("model", "version_a", "version_b", "metrics", "only_in_a", "only_in_b"),
        model=STRING, version_a=STRING, version_b=STRING,
        metrics=array_of(_object(("metric", "a", "b"), metric=STRING, a=NUMBER, b=NUMBER,
                                 difference=_nullable(NUMBER), relative=_nullable(NUMBER))),
        only_in_a=METRICS, only_in_b=METRICS),
    "Export": {"allOf": [_MODEL, _object(("format", "history"), format=INTEGER,
                                         history=array_of(_CHANGE))]},
    "History": _object(("model", "at", "changes", "stages"), model=STRING,
                       at=_nullable(TIME), changes=array_of(_CHANGE),
                       stages={"type": "object", "additionalProperties": STRINGS}),
    "Artifact": _object(("uri", "sha256", "size"), uri=STRING, sha256=STRING, size=INTEGER),
    "Binary": {"type": "string", "format": "binary"},
    "WindowingUpdate": {"type": "object", "additionalProperties": False,
                        "properties": {"event_time": _nullable(STRING), "size": STRING,
                                       "grace": STRING, "retention": STRING}},
    "Windowing": _object(("dataset_id", "configured", "event_time", "size", "grace",
                          "retention"), dataset_id=STRING, configured=BOOLEAN,
                         event_time=_nullable(STRING), size=STRING, grace=STRING,
                         retention=STRING),
    "WindowList": _object(
        ("dataset_id", "windows", "count"), dataset_id=STRING, count=INTEGER,
        watermark=_nullable(TIME), rejected_count=INTEGER, expired_count=INTEGER,
        windows=array_of(_object(("start", "end", "row_count", "late_count", "closed"),
                                 start=TIME, end=TIME, row_count=INTEGER,
                                 late_count=INTEGER, closed=BOOLEAN))),
    "MonitorUpdate": {"type": "object", "required": ["reference"], "additionalProperties": False,
                      "properties": {"reference": STRING, "thresholds": {
                          "type": "object", "additionalProperties": _nullable(NUMBER)}}},
    "Monitor": _object(("dataset_id", "reference", "thresholds"), dataset_id=STRING,
                       reference=STRING, thresholds={"type": "object",
                                                     "additionalProperties": _nullable(NUMBER)}),
    "DriftEvents": _object(
        ("dataset_id", "verdicts", "events", "count"), dataset_id=STRING, count=INTEGER,
        verdicts=array_of(_object(("dataset_id", "window", "reference", "drift", "events"),
                                  dataset_id=STRING, window=TIME, reference=STRING,
                                  drift=_nullable(BOOLEAN), events=array_of(ANY_OBJECT))),
        events=array_of(_object(
            ("dataset_id", "window", "column", "metric", "value", "threshold", "reference"),
            dataset_id=STRING, window=TIME, column=STRING, metric=STRING, value=NUMBER,
            threshold=NUMBER, reference=STRING))),
    "Drift": _object(
        ("reference", "current", "columns", "drifted_columns", "schema_changes", "drift"),
        dataset_id=STRING, serving_dataset_id=STRING, reference=STRING, current=STRING,
        drifted_columns=STRINGS,
        drift=BOOLEAN, schema_changes=ANY_OBJECT,
        columns={"type": "object", "additionalProperties": _object(
            ("type", "metrics", "bounds", "drift", "by"), type=STRING,
            metrics={"type": "object", "additionalProperties": _nullable(NUMBER)},
            bounds=ANY_OBJECT, drift=BOOLEAN, by=STRINGS)}),
})
