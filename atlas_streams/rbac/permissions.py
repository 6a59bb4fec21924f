"""The catalogue of permissions: every ``family:action`` name with a one-line description.

A permission names one kind of action on one family of resources. Roles grant sets of these
names (see :mod:`atlas_streams.rbac.roles`); every endpoint needs exactly one of them (see
:mod:`atlas_streams.rbac.endpoints`). Names are plain strings so they travel through JSON, the
audit log and the tables unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "FAMILIES",
    "PERMISSIONS",
    "PERMISSION_NAMES",
    "Permission",
    "describe_permissions",
    "is_permission",
    "is_well_formed",
]

_NAME = re.compile(r"^[a-z]+:[a-z_]+$")


@dataclass(frozen=True)
class Permission:
    """One grantable permission: ``family:action`` and what it allows."""

    name: str
    description: str

    @property
    def family(self) -> str:
        """Return the resource family, the part before the colon."""
        return self.name.split(":", 1)[0]

    @property
    def action(self) -> str:
        """Return the action, the part after the colon."""
        return self.name.split(":", 1)[1]


PERMISSIONS: tuple[Permission, ...] = (
    Permission("pipeline:read", "See pipelines, their configuration and run history"),
    Permission("pipeline:create", "Create pipelines"),
    Permission("pipeline:update", "Change a pipeline's configuration"),
    Permission("pipeline:delete", "Delete pipelines"),
    Permission("pipeline:run", "Start, stop and rerun pipelines"),
    Permission("connector:read", "See connectors and their status"),
    Permission("connector:create", "Create source and sink connectors"),
    Permission("connector:update", "Change a connector's configuration"),
    Permission("connector:delete", "Delete connectors"),
    Permission("connector:sync", "Trigger a connector sync"),
    Permission("data:read", "Read dataset rows"),
    Permission("data:write", "Produce rows to datasets"),
    Permission("data:delete", "Delete datasets and their rows"),
    Permission("data:export", "Export dataset rows in bulk"),
    Permission("data:profile", "Run profiling jobs over datasets"),
    Permission("quality:read", "See data-quality checks and their results"),
    Permission("quality:write", "Create and change data-quality checks"),
    Permission("quality:delete", "Delete data-quality checks"),
    Permission("pii:read", "See which columns are classified as personal data"),
    Permission("pii:manage", "Classify columns as personal data and manage detectors"),
    Permission("gdpr:read", "See data-subject requests and consent records"),
    Permission("gdpr:execute", "Carry out data-subject access and erasure requests"),
    Permission("catalog:read", "Browse the catalog, dataset profiles and the dashboard"),
    Permission("catalog:write", "Snapshot profiles and edit catalog entries"),
    Permission("catalog:delete", "Remove catalog entries and stored profiles"),
    Permission("features:read", "Read feature groups and their values"),
    Permission("features:write", "Create and update feature groups"),
    Permission("features:delete", "Delete feature groups"),
    Permission("features:export", "Export feature values for training"),
    Permission("models:read", "See registered models, versions, metrics and history"),
    Permission("models:write", "Register models, add versions, record metrics and artifacts"),
    Permission("models:delete", "Delete models and all their versions"),
    Permission("models:transition", "Move a model version between lifecycle stages"),
    Permission("models:promote", "Promote a model version to staging or production"),
    Permission("models:export", "Export model metadata and download artifacts"),
    Permission("rbac:read", "See roles, permissions and your own effective access"),
    Permission("monitoring:read", "Scrape a worker's Prometheus metrics (GET /metrics)"),
    Permission("admin:users", "Create, change, disable and delete users"),
    Permission("admin:roles", "Assign roles to users"),
    Permission("admin:keys", "Rotate and revoke users' API keys"),
    Permission("admin:settings", "Change deployment settings"),
    Permission("admin:audit", "Read and verify the access audit log"),
)

PERMISSION_NAMES: frozenset[str] = frozenset(p.name for p in PERMISSIONS)

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(p.family for p in PERMISSIONS))


def is_permission(name: object) -> bool:
    """Return whether ``name`` is a permission in the catalogue."""
    return isinstance(name, str) and name in PERMISSION_NAMES


def is_well_formed(name: str) -> bool:
    """Return whether ``name`` has the ``family:action`` shape (lower case, one colon)."""
    return bool(_NAME.match(name))


def describe_permissions() -> list[dict[str, str]]:
    """Return the catalogue as JSON-ready rows for ``GET /rbac/permissions``."""
    return [
        {
            "permission": p.name,
            "family": p.family,
            "action": p.action,
            "description": p.description,
        }
        for p in PERMISSIONS
    ]
