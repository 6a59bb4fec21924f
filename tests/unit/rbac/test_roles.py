"""Roles: the exact grants of each, and the union across several roles."""

from __future__ import annotations

from atlas_streams.rbac.permissions import PERMISSION_NAMES
from atlas_streams.rbac.roles import ROLE_PERMISSIONS, Role, describe_roles, permissions_of_roles

VIEWER = {
    "pipeline:read",
    "connector:read",
    "data:read",
    "quality:read",
    "catalog:read",
    "features:read",
    "models:read",
    "rbac:read",
}
ANALYST = VIEWER | {
    "data:export",
    "data:profile",
    "pii:read",
    "gdpr:read",
    "features:export",
    "models:export",
}
ENGINEER_EXTRA = {
    "monitoring:read",
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
}


def test_admin_has_every_permission() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == PERMISSION_NAMES


def test_viewer_is_exactly_read_only() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] == VIEWER
    assert all(name.endswith(":read") for name in ROLE_PERMISSIONS[Role.VIEWER])


def test_analyst_reads_and_exports_but_writes_no_models() -> None:
    granted = ROLE_PERMISSIONS[Role.DATA_ANALYST]
    assert granted == ANALYST
    assert {"data:read", "catalog:read", "models:read"} <= granted
    assert not {"models:write", "models:delete", "models:transition", "models:promote"} & granted


def test_engineer_writes_pipelines_connectors_catalog_models_but_no_admin() -> None:
    granted = ROLE_PERMISSIONS[Role.DATA_ENGINEER]
    assert granted == ANALYST | ENGINEER_EXTRA
    assert {"pipeline:create", "connector:create", "catalog:write", "models:write"} <= granted
    assert not any(name.startswith("admin:") for name in granted)


def test_non_admin_roles_grant_only_catalogued_permissions() -> None:
    for role in Role:
        assert ROLE_PERMISSIONS[role] <= PERMISSION_NAMES


def test_several_roles_grant_the_union() -> None:
    both = permissions_of_roles([Role.VIEWER, Role.DATA_ANALYST])
    assert both == ROLE_PERMISSIONS[Role.VIEWER] | ROLE_PERMISSIONS[Role.DATA_ANALYST]
    assert permissions_of_roles([]) == frozenset()


def test_describe_roles_lists_all_four_sorted() -> None:
    rows = describe_roles()
    assert [row["role"] for row in rows] == ["admin", "data_engineer", "data_analyst", "viewer"]
    for row in rows:
        assert row["permissions"] == sorted(ROLE_PERMISSIONS[Role(row["role"])])
