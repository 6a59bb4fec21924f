"""Account changes: create, update, revoke, rotate, and the demo and bootstrap users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson

from atlas_streams.rbac.accounts import (
    DEMO_KEYS,
    bootstrap_admin,
    create_user,
    demo_users,
    revoke,
    rotate_key,
    with_column_masking,
    with_dataset_access,
    with_roles,
)
from atlas_streams.rbac.keys import key_id_for, parse_key, verify_key
from atlas_streams.rbac.masking import MaskType
from atlas_streams.rbac.payloads import (
    ColumnMaskingUpdate,
    DatasetAccessUpdate,
    parse_new_user,
)
from atlas_streams.rbac.policy import decide
from atlas_streams.rbac.roles import Role
from atlas_streams.rbac.users import User

MakeUser = Callable[..., User]


def test_create_user_returns_a_working_key_stored_only_as_a_hash(
    pepper: bytes, now: datetime
) -> None:
    new = parse_new_user({"username": "bob", "email": "bob@example.com", "roles": ["viewer"]})
    user, plaintext = create_user(new, pepper, now, user_id="u-bob")
    assert user.user_id == "u-bob" and user.created_at == now
    assert parse_key(plaintext) == user.key_id
    assert verify_key(plaintext, user.key_hash, pepper)
    assert plaintext not in user.to_bytes().decode()
    other, other_key = create_user(new, pepper, now)
    assert other.user_id != user.user_id and other_key != plaintext


def test_updates_return_new_users_and_leave_the_input(make_user: MakeUser) -> None:
    user = make_user(allowed_datasets=("a",), denied_datasets=("b",))
    assert with_roles(user, (Role.ADMIN,)).roles == (Role.ADMIN,)
    assert user.roles == (Role.VIEWER,)
    only_denied = with_dataset_access(user, DatasetAccessUpdate(None, ("c_*",)))
    assert only_denied.allowed_datasets == ("a",) and only_denied.denied_datasets == ("c_*",)
    cleared = with_dataset_access(user, DatasetAccessUpdate((), None))
    assert cleared.allowed_datasets == () and cleared.denied_datasets == ("b",)


def test_column_masking_replaces_per_dataset_and_empty_clears(make_user: MakeUser) -> None:
    user = make_user(masked_columns={"a": {"x": MaskType.NULL}, "b": {"y": MaskType.HASH}})
    changed = with_column_masking(user, ColumnMaskingUpdate({"a": {}, "c": {"z": MaskType.REDACT}}))
    assert changed.masked_columns == {"b": {"y": MaskType.HASH}, "c": {"z": MaskType.REDACT}}
    assert user.masked_columns == {"a": {"x": MaskType.NULL}, "b": {"y": MaskType.HASH}}


def test_revoked_user_is_refused_401(make_user: MakeUser) -> None:
    revoked = revoke(make_user(Role.ADMIN))
    assert revoked.disabled
    assert decide(revoked, "catalog:read", None).status == 401
    assert revoked.to_json()["is_active"] is False


def test_rotate_key_kills_the_old_key(make_user: MakeUser, pepper: bytes) -> None:
    user, old = rotate_key(make_user(), pepper)
    rotated, new = rotate_key(user, pepper)
    assert new != old and rotated.key_id != user.key_id
    assert verify_key(new, rotated.key_hash, pepper)
    assert not verify_key(old, rotated.key_hash, pepper)
    assert rotated.user_id == user.user_id and rotated.roles == user.roles


def test_demo_users_authenticate_with_the_demo_keys(pepper: bytes, now: datetime) -> None:
    users = demo_users(pepper, now)
    assert [u.username for u in users] == ["admin", "engineer", "analyst", "viewer"]
    assert [u.roles for u in users] == [
        (Role.ADMIN,),
        (Role.DATA_ENGINEER,),
        (Role.DATA_ANALYST,),
        (Role.VIEWER,),
    ]
    by_key_id = {u.key_id: u for u in users}
    for (plaintext, user_id, _, _), user in zip(DEMO_KEYS, users, strict=True):
        assert by_key_id.get(key_id_for(plaintext, pepper) or "") is user
        assert user.user_id == user_id
        assert verify_key(plaintext, user.key_hash, pepper)
        assert plaintext not in orjson.dumps([u.to_json() for u in users]).decode()
    assert all(not u.allowed_datasets and not u.masked_columns for u in users)


def test_bootstrap_admin_uses_the_operator_key(pepper: bytes, now: datetime) -> None:
    admin = bootstrap_admin("a-long-operator-chosen-key", pepper, now)
    assert admin.roles == (Role.ADMIN,)
    assert admin.key_id == key_id_for("a-long-operator-chosen-key", pepper)
    assert verify_key("a-long-operator-chosen-key", admin.key_hash, pepper)
