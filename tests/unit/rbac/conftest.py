"""Shared fixtures for the access-control tests: a fixed clock, a pepper and a user factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from atlas_streams.rbac.keys import hash_key
from atlas_streams.rbac.roles import Role
from atlas_streams.rbac.users import User

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PEPPER = b"test-pepper-0123456789"


@pytest.fixture
def now() -> datetime:
    """Return the fixed time the tests run at."""
    return NOW


@pytest.fixture
def pepper() -> bytes:
    """Return the key pepper of the tests."""
    return PEPPER


@pytest.fixture
def make_user() -> Callable[..., User]:
    """Return a factory of users with one role and no restrictions unless told otherwise."""

    def make(*roles: Role, **fields: Any) -> User:
        base: dict[str, Any] = {
            "user_id": "u-1",
            "username": "alice",
            "email": "alice@example.com",
            "roles": roles or (Role.VIEWER,),
            "key_id": "0123456789abcdef",
            "key_hash": hash_key("secret-key", PEPPER),
            "created_at": NOW,
        }
        base.update(fields)
        return User(**base)

    return make
