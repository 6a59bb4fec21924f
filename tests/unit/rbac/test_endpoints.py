"""The endpoint table names only real permissions, and each role reaches what it should.

That it covers exactly the routes the web view serves is checked against the router itself, in
tests/unit/web/test_openapi.py (a hand-written list of routes here could only agree with itself).
"""

from __future__ import annotations

import pytest

from atlas_streams.rbac.endpoints import (
    ENDPOINT_PERMISSIONS,
    PUBLIC_ENDPOINTS,
    Guard,
    guard_for,
    is_public,
)
from atlas_streams.rbac.permissions import PERMISSION_NAMES
from atlas_streams.rbac.roles import ROLE_PERMISSIONS, Role


def test_public_routes_carry_no_data_and_need_no_permission() -> None:
    assert PUBLIC_ENDPOINTS == {
        ("GET", "/health"), ("GET", "/"), ("GET", "/favicon.ico"), ("GET", "/assets/{name}"),
        ("GET", "/openapi.json"), ("GET", "/docs"),
    }
    assert not PUBLIC_ENDPOINTS & set(ENDPOINT_PERMISSIONS)
    assert is_public("HEAD", "/") and is_public("GET", "/health")
    assert not is_public("GET", "/dashboard/data") and not is_public("GET", None)
    assert not is_public("POST", "/")


def test_snapshot_reads_need_only_catalog_read() -> None:
    for method in ("GET", "POST"):
        assert guard_for(method, "/catalog/profile/by-run/{run_id}") == Guard("catalog:read")


def test_check_dataset_access_audits_the_dataset_without_refusing_on_it() -> None:
    guard = guard_for("GET", "/rbac/check-dataset-access/{dataset}")
    assert guard == Guard("rbac:read", "dataset", dataset_decides=False)
    deciding = {route for route, g in ENDPOINT_PERMISSIONS.items() if g.dataset_param}
    assert all(ENDPOINT_PERMISSIONS[r].dataset_decides for r in deciding
               if r[1] != "/rbac/check-dataset-access/{dataset}")


def test_every_guard_names_a_catalogued_permission() -> None:
    for route, guard in ENDPOINT_PERMISSIONS.items():
        assert guard.permission in PERMISSION_NAMES, route


def test_dataset_params_are_route_params_named_dataset() -> None:
    marked = {route for route, guard in ENDPOINT_PERMISSIONS.items() if guard.dataset_param}
    assert marked == {
        ("GET", "/catalog/datasets/{dataset_id}/profile"),
        ("POST", "/catalog/datasets/{dataset_id}/profile"),
        ("GET", "/catalog/datasets/{dataset_id}/snapshots"),
        ("PUT", "/catalog/datasets/{dataset_id}/windowing"),
        ("GET", "/catalog/datasets/{dataset_id}/windowing"),
        ("GET", "/catalog/datasets/{dataset_id}/windows"),
        ("GET", "/catalog/datasets/{dataset_id}/windows/{start}"),
        ("GET", "/catalog/datasets/{dataset_id}/drift"),
        ("PUT", "/catalog/datasets/{dataset_id}/monitor"),
        ("GET", "/catalog/datasets/{dataset_id}/monitor"),
        ("GET", "/catalog/datasets/{dataset_id}/drift-events"),
        ("GET", "/rbac/check-dataset-access/{dataset}"),
    }
    for (_, template), guard in ENDPOINT_PERMISSIONS.items():
        if guard.dataset_param:
            assert guard.dataset_param in {"dataset_id", "dataset"}
            assert "{" + guard.dataset_param + "}" in template


@pytest.mark.parametrize(
    ("role", "route", "allowed"),
    [
        (Role.VIEWER, ("GET", "/dashboard/data"), True),
        (Role.VIEWER, ("GET", "/metrics"), False),
        (Role.DATA_ENGINEER, ("GET", "/metrics"), True),
        (Role.VIEWER, ("GET", "/rbac/my-permissions"), True),
        (Role.VIEWER, ("POST", "/models/register"), False),
        (Role.DATA_ANALYST, ("GET", "/models/{name}/export"), True),
        (Role.DATA_ANALYST, ("POST", "/models/{name}/versions/{version}/transition"), False),
        (
            Role.DATA_ENGINEER,
            ("POST", "/models/{name}/versions/{version}/promote-production"),
            True,
        ),
        (Role.DATA_ENGINEER, ("POST", "/rbac/users"), False),
        (Role.DATA_ENGINEER, ("GET", "/rbac/access-logs"), False),
        (Role.ADMIN, ("POST", "/rbac/users/{user_id}/rotate-key"), True),
    ],
)
def test_roles_reach_the_routes_they_should(
    role: Role, route: tuple[str, str], allowed: bool
) -> None:
    assert (ENDPOINT_PERMISSIONS[route].permission in ROLE_PERMISSIONS[role]) is allowed


def test_every_role_can_open_the_dashboard_and_admin_every_route() -> None:
    for role in Role:
        assert ENDPOINT_PERMISSIONS[("GET", "/dashboard/data")].permission in ROLE_PERMISSIONS[role]
    assert all(g.permission in ROLE_PERMISSIONS[Role.ADMIN] for g in ENDPOINT_PERMISSIONS.values())


def test_guard_for_maps_head_to_get_and_refuses_unknown_routes() -> None:
    assert guard_for("head", "/models/") == guard_for("GET", "/models/")
    assert guard_for("GET", "/health") is None
    assert guard_for("PATCH", "/models/{name}") is None
    assert guard_for("GET", "/nope") is None
