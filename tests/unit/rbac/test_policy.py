"""The access decision, table-tested, and dataset allow/deny lists with globs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atlas_streams.rbac.policy import (
    DATASET_DENIED,
    GRANTED,
    MISSING_KEY,
    PERMISSION_DENIED,
    UNKNOWN_PERMISSION,
    USER_DISABLED,
    Decision,
    can_access_dataset,
    decide,
    visible_datasets,
)
from atlas_streams.rbac.roles import Role
from atlas_streams.rbac.users import User

MakeUser = Callable[..., User]


def test_no_principal_is_401_missing_key() -> None:
    assert decide(None, "catalog:read", None) == Decision(False, 401, MISSING_KEY)
    assert decide(None, "catalog:read", "flights").status == 401
    assert MISSING_KEY == "missing or unknown API key"


@pytest.mark.parametrize(
    ("roles", "fields", "permission", "dataset", "expected"),
    [
        ((Role.VIEWER,), {}, "catalog:read", None, (True, 200, GRANTED)),
        ((Role.VIEWER,), {}, "models:write", None, (False, 403, PERMISSION_DENIED)),
        ((Role.VIEWER,), {}, "catalog:write", "flights", (False, 403, PERMISSION_DENIED)),
        ((Role.VIEWER,), {}, "admin:users", None, (False, 403, PERMISSION_DENIED)),
        ((Role.VIEWER,), {}, "made:up", None, (False, 403, UNKNOWN_PERMISSION)),
        ((Role.ADMIN,), {}, "made:up", None, (False, 403, UNKNOWN_PERMISSION)),
        ((Role.DATA_ANALYST,), {}, "models:promote", None, (False, 403, PERMISSION_DENIED)),
        ((Role.DATA_ENGINEER,), {}, "models:promote", None, (True, 200, GRANTED)),
        ((Role.DATA_ENGINEER,), {}, "admin:audit", None, (False, 403, PERMISSION_DENIED)),
        ((Role.ADMIN,), {"disabled": True}, "catalog:read", None, (False, 401, USER_DISABLED)),
        # dataset lists: deny wins, globs, empty allow means all, 404 hides existence
        ((Role.VIEWER,), {}, "catalog:read", "anything", (True, 200, GRANTED)),
        (
            (Role.VIEWER,),
            {"denied_datasets": ("sales_*",)},
            "catalog:read",
            "sales_eu",
            (False, 404, DATASET_DENIED),
        ),
        (
            (Role.VIEWER,),
            {"allowed_datasets": ("sales_eu",), "denied_datasets": ("sales_*",)},
            "catalog:read",
            "sales_eu",
            (False, 404, DATASET_DENIED),
        ),
        (
            (Role.VIEWER,),
            {"allowed_datasets": ("flights", "weather_*")},
            "catalog:read",
            "planes",
            (False, 404, DATASET_DENIED),
        ),
        (
            (Role.VIEWER,),
            {"allowed_datasets": ("flights", "weather_*")},
            "catalog:read",
            "weather_jfk",
            (True, 200, GRANTED),
        ),
        (
            (Role.ADMIN,),
            {"denied_datasets": ("secret",)},
            "catalog:read",
            "secret",
            (False, 404, DATASET_DENIED),
        ),
        # a missing permission is 403 whatever the dataset: the answer reveals nothing about it
        (
            (Role.VIEWER,),
            {"denied_datasets": ("secret",)},
            "catalog:write",
            "secret",
            (False, 403, PERMISSION_DENIED),
        ),
        ((Role.VIEWER, Role.DATA_ENGINEER), {}, "models:write", None, (True, 200, GRANTED)),
    ],
)
def test_decide_table(
    make_user: MakeUser,
    roles: tuple[Role, ...],
    fields: dict[str, object],
    permission: str,
    dataset: str | None,
    expected: tuple[bool, int, str],
) -> None:
    user = make_user(*roles, **fields)
    assert decide(user, permission, dataset) == Decision(*expected)


def test_globs_are_case_sensitive(make_user: MakeUser) -> None:
    user = make_user(denied_datasets=("sales_*",))
    assert not can_access_dataset(user, "sales_eu")
    assert can_access_dataset(user, "SALES_eu")
    assert can_access_dataset(user, "presales_eu")


def test_glob_classes_and_single_characters(make_user: MakeUser) -> None:
    user = make_user(allowed_datasets=("log_202[34]", "t?"))
    assert can_access_dataset(user, "log_2023")
    assert not can_access_dataset(user, "log_2022")
    assert can_access_dataset(user, "t1")
    assert not can_access_dataset(user, "t12")


def test_public_message_never_says_denied_for_404() -> None:
    hidden = Decision(False, 404, DATASET_DENIED)
    assert "denied" not in hidden.public_message
    assert Decision(False, 401, MISSING_KEY).public_message.startswith("missing or unknown")


def test_visible_datasets_filters_and_keeps_order(make_user: MakeUser) -> None:
    user = make_user(allowed_datasets=("b*", "a"), denied_datasets=("bad",))
    assert visible_datasets(user, ["c", "bad", "b1", "a"]) == ["b1", "a"]
