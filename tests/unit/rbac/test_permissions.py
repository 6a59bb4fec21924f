"""The permission catalogue: size, naming, descriptions."""

from __future__ import annotations

from atlas_streams.rbac.permissions import (
    FAMILIES,
    PERMISSION_NAMES,
    PERMISSIONS,
    describe_permissions,
    is_permission,
    is_well_formed,
)

ISSUE_FAMILIES = {
    "pipeline",
    "connector",
    "data",
    "quality",
    "pii",
    "gdpr",
    "catalog",
    "features",
    "models",
    "admin",
}


def test_at_least_forty_unique_permissions() -> None:
    assert len(PERMISSIONS) >= 40
    assert len(PERMISSION_NAMES) == len(PERMISSIONS)


def test_every_name_is_family_colon_action() -> None:
    for permission in PERMISSIONS:
        assert is_well_formed(permission.name), permission.name
        assert permission.name == f"{permission.family}:{permission.action}"


def test_issue_families_and_examples_are_present() -> None:
    assert ISSUE_FAMILIES <= set(FAMILIES)
    for name in (
        "data:read",
        "models:promote",
        "catalog:read",
        "catalog:write",
        "models:read",
        "models:write",
        "models:delete",
        "models:transition",
        "admin:users",
        "admin:roles",
        "admin:settings",
        "admin:audit",
    ):
        assert is_permission(name), name


def test_every_permission_has_a_one_line_description() -> None:
    for permission in PERMISSIONS:
        assert permission.description.strip()
        assert "\n" not in permission.description


def test_describe_lists_every_permission_once() -> None:
    rows = describe_permissions()
    assert [row["permission"] for row in rows] == [p.name for p in PERMISSIONS]
    assert all(set(row) == {"permission", "family", "action", "description"} for row in rows)


def test_is_permission_refuses_non_strings_and_strangers() -> None:
    assert not is_permission(None)
    assert not is_permission(42)
    assert not is_permission("data:fly")
    assert not is_well_formed("Data:Read")
    assert not is_well_formed("data:read:extra")
