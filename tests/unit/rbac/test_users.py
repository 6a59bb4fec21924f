"""Users: the API view holds no key material; stored bytes round-trip and refuse garbage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.rbac.errors import CorruptRecord
from atlas_streams.rbac.keys import hash_key
from atlas_streams.rbac.masking import MaskType
from atlas_streams.rbac.roles import ROLE_PERMISSIONS, Role
from atlas_streams.rbac.users import FORMAT_VERSION, User

MakeUser = Callable[..., User]


def rich_user(make_user: MakeUser) -> User:
    return make_user(
        Role.DATA_ANALYST,
        Role.VIEWER,
        allowed_datasets=("flights", "weather_*"),
        denied_datasets=("sales_*",),
        masked_columns={"flights": {"tailnum": MaskType.HASH, "dest": MaskType.NULL}},
    )


def test_to_json_never_holds_the_key_hash(make_user: MakeUser) -> None:
    user = rich_user(make_user)
    doc = user.to_json()
    assert "key_hash" not in doc
    assert user.key_hash not in orjson.dumps(doc).decode()
    assert "secret-key" not in orjson.dumps(doc).decode()
    assert user.key_hash not in repr(user)


def test_to_json_shape(make_user: MakeUser) -> None:
    doc = rich_user(make_user).to_json()
    assert doc["roles"] == ["data_analyst", "viewer"]
    assert doc["masked_columns"] == {"flights": {"tailnum": "hash", "dest": "null"}}
    assert doc["denied_datasets"] == ["sales_*"]
    assert doc["is_active"] is True
    assert doc["created_at"] == "2024-05-01T12:00:00+00:00"


def test_bytes_round_trip(make_user: MakeUser) -> None:
    user = rich_user(make_user)
    data = user.to_bytes()
    assert data[0] == FORMAT_VERSION
    assert User.from_bytes(data) == user
    disabled = make_user(disabled=True)
    assert User.from_bytes(disabled.to_bytes()) == disabled


def test_permissions_are_the_union_of_roles(make_user: MakeUser) -> None:
    user = make_user(Role.VIEWER, Role.DATA_ANALYST)
    assert user.permissions == ROLE_PERMISSIONS[Role.DATA_ANALYST]
    assert rich_user(make_user).masks_for("flights") == {
        "tailnum": MaskType.HASH,
        "dest": MaskType.NULL,
    }
    assert rich_user(make_user).masks_for("weather_jfk") == {}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02{}",
        b"\x01",
        b"\x01not json",
        b"\x01[]",
        b"\x01{}",
        b'{"user_id": "u"}',
    ],
)
def test_from_bytes_refuses_garbage(data: bytes) -> None:
    with pytest.raises(CorruptRecord):
        User.from_bytes(data)


def test_from_bytes_refuses_a_bad_field(make_user: MakeUser) -> None:
    record = orjson.loads(make_user().to_bytes()[1:])
    for name, bad in [
        ("roles", ["wizard"]),
        ("roles", "viewer"),
        ("is_active", "yes"),
        ("created_at", "yesterday"),
        ("masked_columns", {"d": {"c": "scramble"}}),
        ("masked_columns", {"d": ["c"]}),
        ("username", 7),
    ]:
        broken = {**record, name: bad}
        with pytest.raises(CorruptRecord):
            User.from_bytes(bytes([FORMAT_VERSION]) + orjson.dumps(broken))


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_*", min_size=1, max_size=12)


@given(
    roles=st.lists(st.sampled_from(list(Role)), min_size=1, max_size=4, unique=True),
    allowed=st.lists(names, max_size=4),
    denied=st.lists(names, max_size=4),
    masks=st.dictionaries(names, st.dictionaries(names, st.sampled_from(list(MaskType)))),
    disabled=st.booleans(),
    text=st.text(max_size=30),
)
def test_any_user_round_trips(
    roles: list[Role],
    allowed: list[str],
    denied: list[str],
    masks: dict[str, dict[str, MaskType]],
    disabled: bool,
    text: str,
) -> None:
    user = User(
        user_id=text,
        username=text,
        email=text,
        roles=tuple(roles),
        key_id=text,
        key_hash=hash_key("k", b"p"),
        created_at=datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        allowed_datasets=tuple(allowed),
        denied_datasets=tuple(denied),
        masked_columns=masks,
        disabled=disabled,
    )
    assert User.from_bytes(user.to_bytes()) == user
