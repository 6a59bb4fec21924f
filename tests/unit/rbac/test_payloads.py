"""Request bodies: the seed's shapes are accepted, anything else names the bad field."""

from __future__ import annotations

import pytest

from atlas_streams.rbac.errors import InvalidRequest
from atlas_streams.rbac.masking import MaskType
from atlas_streams.rbac.payloads import (
    ColumnMaskingUpdate,
    DatasetAccessUpdate,
    NewUser,
    parse_column_masking,
    parse_dataset_access,
    parse_new_user,
    parse_roles,
)
from atlas_streams.rbac.roles import Role

SEED_BODY = {
    "username": "newuser",
    "email": "newuser@example.com",
    "roles": ["data_analyst"],
    "allowed_datasets": ["dataset_a", "dataset_b"],
}


def test_seed_create_body_is_accepted() -> None:
    assert parse_new_user(SEED_BODY) == NewUser(
        username="newuser",
        email="newuser@example.com",
        roles=(Role.DATA_ANALYST,),
        allowed_datasets=("dataset_a", "dataset_b"),
    )


def test_create_body_with_denies_and_both_masking_shapes() -> None:
    new = parse_new_user(
        {
            **SEED_BODY,
            "roles": ["viewer", "data_analyst", "viewer"],
            "allowed_datasets": None,
            "denied_datasets": ["sales_*", "hr_[0-9]"],
            "masked_columns": {
                "flights": ["tailnum"],
                "people": {"email": "hash", "ssn": "redact"},
            },
        }
    )
    assert new.roles == (Role.VIEWER, Role.DATA_ANALYST)
    assert new.allowed_datasets == ()
    assert new.denied_datasets == ("sales_*", "hr_[0-9]")
    assert new.masked_columns == {
        "flights": {"tailnum": MaskType.NULL},
        "people": {"email": MaskType.HASH, "ssn": MaskType.REDACT},
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": 5}, "username"),
        ({"email": "nope"}, "email"),
        ({"roles": []}, "roles"),
        ({"roles": ["wizard"]}, "roles"),
        ({"roles": "admin"}, "roles"),
        ({"allowed_datasets": "flights"}, "allowed_datasets"),
        ({"allowed_datasets": ["ok", ""]}, "allowed_datasets"),
        ({"denied_datasets": ["a b"]}, "denied_datasets"),
        ({"denied_datasets": [3]}, "denied_datasets"),
        ({"masked_columns": ["tailnum"]}, "masked_columns"),
        ({"masked_columns": {"flights": "tailnum"}}, "masked_columns.flights"),
        (
            {"masked_columns": {"flights": {"tailnum": "scramble"}}},
            "masked_columns.flights.tailnum",
        ),
        ({"masked_columns": {"flights": [""]}}, "masked_columns.flights"),
        ({"masked_columns": {"no way": ["c"]}}, "masked_columns"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_bad_create_bodies_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_new_user({**SEED_BODY, **change})
    assert caught.value.field == field
    assert caught.value.to_json()["field"] == field


@pytest.mark.parametrize("missing", ["username", "email", "roles"])
def test_missing_required_fields_are_named(missing: str) -> None:
    body = {k: v for k, v in SEED_BODY.items() if k != missing}
    with pytest.raises(InvalidRequest) as caught:
        parse_new_user(body)
    assert caught.value.field == missing


@pytest.mark.parametrize("body", [None, [], "x", 3])
def test_non_object_bodies_are_refused(body: object) -> None:
    for parse in (parse_new_user, parse_roles, parse_dataset_access, parse_column_masking):
        with pytest.raises(InvalidRequest) as caught:
            parse(body)
        assert caught.value.field == "body"


def test_roles_body() -> None:
    assert parse_roles({"roles": ["admin", "viewer"]}) == (Role.ADMIN, Role.VIEWER)
    with pytest.raises(InvalidRequest, match="roles"):
        parse_roles({"roles": []})


def test_dataset_access_body_keeps_unset_lists() -> None:
    assert parse_dataset_access({"denied_datasets": ["x_*"]}) == DatasetAccessUpdate(None, ("x_*",))
    assert parse_dataset_access({"allowed_datasets": []}) == DatasetAccessUpdate((), None)
    with pytest.raises(InvalidRequest):
        parse_dataset_access({})


def test_column_masking_bodies() -> None:
    seed = parse_column_masking({"dataset_id": "flights", "masked_columns": ["tailnum"]})
    assert seed == ColumnMaskingUpdate({"flights": {"tailnum": MaskType.NULL}})
    typed = parse_column_masking({"dataset_id": "flights", "masked_columns": {"a": "show_last_4"}})
    assert typed == ColumnMaskingUpdate({"flights": {"a": MaskType.SHOW_LAST_4}})
    many = parse_column_masking({"masked_columns": {"a": [], "b": {"c": "hash"}}})
    assert many == ColumnMaskingUpdate({"a": {}, "b": {"c": MaskType.HASH}})
    with pytest.raises(InvalidRequest) as caught:
        parse_column_masking({"dataset_id": "../etc", "masked_columns": []})
    assert caught.value.field == "dataset_id"
