"""Unit tests of the access agents' pure steps: apply_user_change and _chain (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from atlas_streams.agents.access import (
    AccessAgentOptions,
    UserChangeRefused,
    _chain,
    apply_user_change,
)
from atlas_streams.rbac import ChainHead, Keyring, MaskType, Role, User

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _user(**fields: Any) -> User:
    base: dict[str, Any] = {
        "user_id": "u-1",
        "username": "alice",
        "email": "alice@example.com",
        "roles": (Role.VIEWER,),
        "key_id": "0123456789abcdef",
        "key_hash": "hash-1",
        "created_at": NOW,
    }
    return User(**{**base, **fields})


def test_create_makes_the_user_from_its_bytes() -> None:
    user = _user()

    change = {"op": "create", "user_id": "u-1", "user": user.to_bytes().hex()}

    created = apply_user_change(None, change)

    assert created == user


def test_the_same_create_twice_is_done_once() -> None:
    # The web view sends a command again while no reply comes (web/commands.py).
    change = {"op": "create", "user_id": "u-1", "user": _user().to_bytes().hex()}

    assert apply_user_change(_user(), change) == _user()


@pytest.mark.parametrize("current", [_user(disabled=True), _user(key_hash="hash-2"),
                                     _user(username="bob")])
def test_create_over_another_user_of_that_id_is_a_conflict(current: User) -> None:
    change = {"op": "create", "user_id": "u-1", "user": _user().to_bytes().hex()}

    with pytest.raises(UserChangeRefused, match="user u-1 already exists") as raised:
        apply_user_change(current, change)
    assert raised.value.status == 409


@pytest.mark.parametrize("current", [None, _user(disabled=True)])
@pytest.mark.parametrize("op", ["revoke", "set_roles", "set_key", "no_such_op"])
def test_changing_a_missing_or_revoked_user_is_not_found(current: User | None, op: str) -> None:
    with pytest.raises(UserChangeRefused, match="user 'u-1' not found") as raised:
        apply_user_change(current, {"op": op, "user_id": "u-1", "roles": ["admin"]})
    assert raised.value.status == 404


def test_revoke_disables_the_user() -> None:
    current = _user()

    revoked = apply_user_change(current, {"op": "revoke", "user_id": "u-1"})

    assert revoked.disabled is True
    assert current.disabled is False  # the input is left alone


def test_set_roles_replaces_the_roles() -> None:
    change = {"op": "set_roles", "user_id": "u-1", "roles": ["admin", "data_analyst"]}

    updated = apply_user_change(_user(), change)

    assert updated.roles == (Role.ADMIN, Role.DATA_ANALYST)


@pytest.mark.parametrize(
    ("change", "allowed", "denied"),
    [
        ({"allowed_datasets": ["sales.*"]}, ("sales.*",), ("old-denied",)),
        ({"denied_datasets": []}, ("old-allowed",), ()),
        ({"allowed_datasets": None, "denied_datasets": ["x"]}, ("old-allowed",), ("x",)),
        ({}, ("old-allowed",), ("old-denied",)),
    ],
)
def test_set_dataset_access_replaces_only_the_lists_given(
    change: dict[str, Any], allowed: tuple[str, ...], denied: tuple[str, ...]
) -> None:
    current = _user(allowed_datasets=("old-allowed",), denied_datasets=("old-denied",))

    updated = apply_user_change(current, {"op": "set_dataset_access", "user_id": "u-1", **change})

    assert (updated.allowed_datasets, updated.denied_datasets) == (allowed, denied)


def test_set_column_masking_replaces_given_datasets_and_clears_empty_ones() -> None:
    current = _user(
        masked_columns={"orders": {"email": MaskType.HASH}, "users": {"ssn": MaskType.REDACT}}
    )
    change = {
        "op": "set_column_masking",
        "user_id": "u-1",
        "masks": {"orders": {"card": "show_last_4"}, "users": {}, "new": {"x": "null"}},
    }

    updated = apply_user_change(current, change)

    assert updated.masked_columns == {
        "orders": {"card": MaskType.SHOW_LAST_4},
        "new": {"x": MaskType.NULL},
    }
    assert current.masked_columns["users"] == {"ssn": MaskType.REDACT}


def test_set_key_replaces_the_key_id_and_hash() -> None:
    change = {"op": "set_key", "user_id": "u-1", "key_id": "fedcba9876543210", "key_hash": "h2"}

    updated = apply_user_change(_user(), change)

    assert (updated.key_id, updated.key_hash) == ("fedcba9876543210", "h2")
    assert updated.user_id == "u-1"


def test_an_unknown_change_is_unprocessable() -> None:
    with pytest.raises(UserChangeRefused, match="unknown user change 'rename'") as raised:
        apply_user_change(_user(), {"op": "rename", "user_id": "u-1"})
    assert raised.value.status == 422


def test_changes_apply_in_order() -> None:
    user: User | None = None
    changes: list[dict[str, Any]] = [
        {"op": "create", "user_id": "u-1", "user": _user().to_bytes().hex()},
        {"op": "set_roles", "user_id": "u-1", "roles": ["data_engineer"]},
        {"op": "set_dataset_access", "user_id": "u-1", "denied_datasets": ["hr.*"]},
        {"op": "revoke", "user_id": "u-1"},
    ]

    for change in changes:
        user = apply_user_change(user, change)

    assert user is not None
    assert (user.roles, user.denied_datasets, user.disabled) == (
        (Role.DATA_ENGINEER,), ("hr.*",), True
    )
    with pytest.raises(UserChangeRefused):
        apply_user_change(user, {"op": "set_roles", "user_id": "u-1", "roles": ["admin"]})


def _decision(index: int) -> dict[str, Any]:
    return {"event_id": f"e{index}", "request_id": f"r{index}", "origin": "w1",
            "origin_seq": index}


def _raw(offset: int) -> Any:
    """A raw-decision event at ``offset``; the fake opener reads its decision from it."""
    return SimpleNamespace(message=SimpleNamespace(offset=offset), decision=_decision(offset))


def _options(read: ChainHead) -> AccessAgentOptions:
    return AccessAgentOptions(
        chain_id="app", opener=SimpleNamespace(open=lambda event: event.decision),  # type: ignore[arg-type]
        audit=Keyring.of(b"k" * 32), builtins=dict, last_read=lambda: read,
    )


def test_a_replayed_batch_after_a_crash_makes_the_same_events() -> None:
    """Killed after delivering but before storing the head: the replay re-sends, not forks."""
    options = _options(ChainHead())
    first, chained = _chain([_raw(0), _raw(1)], None, options)
    stored = orjson.dumps(first.to_json())
    second, again = _chain([_raw(2), _raw(3)], stored, options)
    replayed, same = _chain([_raw(2), _raw(3)], stored, options)
    assert [e["seq"] for e in chained + again] == [0, 1, 2, 3]
    assert (replayed, same) == (second, again)
    skipped = _chain([_raw(2), _raw(3)], orjson.dumps(second.to_json()), options)
    assert skipped == (second, [])  # stored after delivery: the replay chains nothing


def test_a_stored_head_is_kept_even_behind_what_the_worker_read() -> None:
    """Its replayed decisions make the events the topic holds already (exact re-sends)."""
    options = _options(ChainHead())
    head, events = _chain([_raw(0), _raw(1), _raw(2)], None, options)
    behind = orjson.dumps(ChainHead(events[0]["hash"], 0, 0, {"w1": 0}).to_json())
    read_ahead = _options(ChainHead(head.hash, head.seq))
    again, replayed = _chain([_raw(1), _raw(2)], behind, read_ahead)
    assert (again, replayed) == (head, events[1:])


def test_with_no_stored_head_the_chain_goes_on_from_what_was_read() -> None:
    first, events = _chain([_raw(0)], None, _options(ChainHead()))
    head, more = _chain([_raw(1)], None, _options(ChainHead(first.hash, first.seq)))
    assert [e["seq"] for e in more] == [1] and more[0]["prev_hash"] == first.hash


def test_with_no_stored_head_decisions_the_chain_holds_are_not_chained_again() -> None:
    """A restarted worker found no stored head: the chain it read says what is chained."""
    from atlas_streams.rbac import ChainCheck

    keyring = Keyring.of(b"k" * 32)
    _, events = _chain([_raw(0), _raw(1), _raw(2)], None, _options(ChainHead()))
    check = ChainCheck()
    for event in events:
        check = check.next(keyring, event)
    assert check.origins == {"w1": 2} and check.broken is None

    head, replayed = _chain([_raw(1), _raw(2), _raw(3)], None, _options(check.head()))

    assert [e["request_id"] for e in replayed] == ["r3"]  # r1 and r2: in the chain already
    assert replayed[0]["seq"] == 3 and replayed[0]["prev_hash"] == events[-1]["hash"]
    assert head.origins == {"w1": 3}
