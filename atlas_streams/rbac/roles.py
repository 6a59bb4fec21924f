"""The four roles and the permissions each grants; a user's permissions are the union.

The grants are spelled out per role rather than inherited, so adding a permission to one role
never quietly widens another. ``admin`` is the whole catalogue by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .permissions import PERMISSION_NAMES

__all__ = [
    "ROLE_DESCRIPTIONS",
    "ROLE_PERMISSIONS",
    "Role",
    "describe_roles",
    "permissions_of_roles",
]


class Role(StrEnum):
    """A named bundle of permissions a user can hold; a user may hold several."""

    ADMIN = "admin"
    DATA_ENGINEER = "data_engineer"
    DATA_ANALYST = "data_analyst"
    VIEWER = "viewer"


_VIEWER = frozenset(
    {
        "pipeline:read",
        "connector:read",
        "data:read",
        "quality:read",
        "catalog:read",
        "features:read",
        "models:read",
        "rbac:read",
    }
)

_ANALYST = _VIEWER | {
    "data:export",
    "data:profile",
    "pii:read",
    "gdpr:read",
    "features:export",
    "models:export",
}

_ENGINEER = _ANALYST | {
    "pipeline:create",
    "pipeline:update",
    "pipeline:delete",
    "pipeline:run",
    "connector:create",
    "connector:update",
    "connector:delete",
    "connector:sync",
    "data:write",
    "data:delete",
    "quality:write",
    "quality:delete",
    "pii:manage",
    "catalog:write",
    "catalog:delete",
    "features:write",
    "features:delete",
    "models:write",
    "models:delete",
    "models:transition",
    "models:promote",
    "monitoring:read",  # engineers run the pipelines, so they watch them
}

ROLE_PERMISSIONS: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.ADMIN: PERMISSION_NAMES,
        Role.DATA_ENGINEER: frozenset(_ENGINEER),
        Role.DATA_ANALYST: frozenset(_ANALYST),
        Role.VIEWER: _VIEWER,
    }
)

ROLE_DESCRIPTIONS: Mapping[Role, str] = MappingProxyType(
    {
        Role.ADMIN: "Everything, including users, roles, keys, settings and the audit log",
        Role.DATA_ENGINEER: "Builds pipelines and connectors, writes data, catalog and models",
        Role.DATA_ANALYST: "Reads and exports data, catalog, features and models; writes nothing",
        Role.VIEWER: "Read-only access to dashboards, the catalog and models",
    }
)


def permissions_of_roles(roles: Iterable[Role]) -> frozenset[str]:
    """Return the union of the permissions the given roles grant."""
    granted: frozenset[str] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted


def describe_roles() -> list[dict[str, Any]]:
    """Return every role with its description and sorted permissions, for ``GET /rbac/roles``."""
    return [
        {
            "role": role.value,
            "description": ROLE_DESCRIPTIONS[role],
            "permissions": sorted(ROLE_PERMISSIONS[role]),
        }
        for role in Role
    ]
