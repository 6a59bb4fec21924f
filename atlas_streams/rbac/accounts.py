"""Changes to users as new values: create, update, revoke, rotate keys, seed the demo users.

Every function returns a new :class:`~atlas_streams.rbac.users.User` and leaves its input
alone; the caller writes the result to the users table. Functions that make a key return
its plaintext next to the user: show it once, store only the user.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from .keys import generate_key, hash_key, key_id_for
from .payloads import ColumnMaskingUpdate, DatasetAccessUpdate, NewUser
from .roles import Role
from .users import User

__all__ = [
    "DEMO_KEYS",
    "active_admins",
    "bootstrap_admin",
    "create_user",
    "demo_users",
    "lockout_problem",
    "new_user_id",
    "revoke",
    "rotate_key",
    "with_column_masking",
    "with_dataset_access",
    "with_roles",
]

# The well-known demo keys (only with ATLAS_DEMO_KEYS=1): key, user id, username, role.
DEMO_KEYS: tuple[tuple[str, str, str, Role], ...] = (
    ("atlas-admin-key", "admin-001", "admin", Role.ADMIN),
    ("atlas-engineer-key", "engineer-001", "engineer", Role.DATA_ENGINEER),
    ("atlas-analyst-key", "analyst-001", "analyst", Role.DATA_ANALYST),
    ("atlas-viewer-key", "viewer-001", "viewer", Role.VIEWER),
)


def new_user_id() -> str:
    """Return a fresh random user id."""
    return f"usr_{secrets.token_hex(8)}"


def create_user(
    new: NewUser, pepper: bytes, now: datetime, user_id: str | None = None
) -> tuple[User, str]:
    """Return a user made from a validated body, and the plaintext of their new key."""
    key_id, plaintext = generate_key(pepper)
    user = User(
        user_id=user_id or new_user_id(),
        username=new.username,
        email=new.email,
        roles=new.roles,
        key_id=key_id,
        key_hash=hash_key(plaintext, pepper),
        created_at=now,
        allowed_datasets=new.allowed_datasets,
        denied_datasets=new.denied_datasets,
        masked_columns=new.masked_columns,
    )
    return user, plaintext


def with_roles(user: User, roles: tuple[Role, ...]) -> User:
    """Return the user holding exactly ``roles``."""
    return replace(user, roles=roles)


def with_dataset_access(user: User, update: DatasetAccessUpdate) -> User:
    """Return the user with the lists the update gives replaced and the others kept."""
    allowed = update.allowed_datasets
    denied = update.denied_datasets
    return replace(
        user,
        allowed_datasets=user.allowed_datasets if allowed is None else allowed,
        denied_datasets=user.denied_datasets if denied is None else denied,
    )


def with_column_masking(user: User, update: ColumnMaskingUpdate) -> User:
    """Return the user with the masks of the update's datasets replaced (empty clears)."""
    masks = {dataset: dict(columns) for dataset, columns in user.masked_columns.items()}
    for dataset, columns in update.masks.items():
        if columns:
            masks[dataset] = dict(columns)
        else:
            masks.pop(dataset, None)
    return replace(user, masked_columns=masks)


def active_admins(users: Iterable[User]) -> frozenset[str]:
    """Return the ids of the users who are enabled and hold the admin role."""
    return frozenset(u.user_id for u in users if not u.disabled and Role.ADMIN in u.roles)


def lockout_problem(before: Iterable[User], after: User) -> str | None:
    """Return why replacing one user by ``after`` would leave no active admin, else None.

    Deleting, disabling or demoting the last active admin would lock every admin out for
    good (no one could grant the role again): such a change is refused.
    """
    users = {u.user_id: u for u in before}
    admins = active_admins(users.values())
    users[after.user_id] = after
    if admins and not active_admins(users.values()):
        return (f"user {after.user_id!r} is the last active admin: give another user the admin "
                "role first, or no one could manage users and roles any more")
    return None


def revoke(user: User) -> User:
    """Return the user disabled: their key stops authenticating and they count as deleted."""
    return replace(user, disabled=True)


def rotate_key(user: User, pepper: bytes) -> tuple[User, str]:
    """Return the user with a new key (the old one stops working) and the new plaintext."""
    key_id, plaintext = generate_key(pepper)
    return replace(user, key_id=key_id, key_hash=hash_key(plaintext, pepper)), plaintext


def bootstrap_admin(plaintext: str, pepper: bytes, now: datetime) -> User:
    """Return the first admin, keyed by the operator's ``ATLAS_ADMIN_KEY`` plaintext."""
    return _keyed_user(plaintext, pepper, now, "admin-001", "admin", Role.ADMIN)


def demo_users(pepper: bytes, now: datetime) -> list[User]:
    """Return the four seed users keyed by the well-known demo keys (demo mode only)."""
    return [
        _keyed_user(key, pepper, now, user_id, username, role)
        for key, user_id, username, role in DEMO_KEYS
    ]


def _keyed_user(
    plaintext: str, pepper: bytes, now: datetime, user_id: str, username: str, role: Role
) -> User:
    key_id = key_id_for(plaintext, pepper)
    if key_id is None:
        raise ValueError(f"the key for {username} is empty or over-long; choose another")
    return User(
        user_id=user_id,
        username=username,
        email=f"{username}@atlas.local",
        roles=(role,),
        key_id=key_id,
        key_hash=hash_key(plaintext, pepper),
        created_at=now,
    )
