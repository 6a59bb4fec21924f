"""A user: identity, roles, dataset lists, column masks and the hash of one API key.

``to_json`` is what the API shows and never holds the key hash; ``to_bytes`` is what the
users table stores (a version byte, then orjson) and does hold it. Users are values: every
change builds a new one (see :mod:`atlas_streams.rbac.accounts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from .errors import CorruptRecord
from .masking import MaskType
from .roles import Role, permissions_of_roles

__all__ = ["FORMAT_VERSION", "User"]

FORMAT_VERSION = 1

ColumnMasks = Mapping[str, Mapping[str, MaskType]]  # dataset -> column -> mask type


@dataclass(frozen=True)
class User:
    """One principal; treat ``masked_columns`` as read-only like every other field."""

    user_id: str
    username: str
    email: str
    roles: tuple[Role, ...]
    key_id: str
    key_hash: str = field(repr=False)
    created_at: datetime
    allowed_datasets: tuple[str, ...] = ()  # glob patterns; empty means every dataset
    denied_datasets: tuple[str, ...] = ()  # glob patterns; a match always wins
    masked_columns: ColumnMasks = field(default_factory=dict)
    disabled: bool = False  # a disabled (deleted) user's key no longer authenticates

    @property
    def permissions(self) -> frozenset[str]:
        """Return the union of the permissions of the user's roles."""
        return permissions_of_roles(self.roles)

    def masks_for(self, dataset: str) -> Mapping[str, MaskType]:
        """Return ``{column: mask type}`` for the columns masked for this user in ``dataset``."""
        return self.masked_columns.get(dataset, {})

    def to_json(self) -> dict[str, Any]:
        """Return the user as the API shows it: no key hash, no key material."""
        return {
            "user_id": self.user_id,
            "username": self.username,
            "email": self.email,
            "roles": [role.value for role in self.roles],
            "allowed_datasets": list(self.allowed_datasets),
            "denied_datasets": list(self.denied_datasets),
            "masked_columns": {
                dataset: {column: kind.value for column, kind in columns.items()}
                for dataset, columns in self.masked_columns.items()
            },
            "key_id": self.key_id,
            "created_at": self.created_at.isoformat(),
            "is_active": not self.disabled,
        }

    def to_bytes(self) -> bytes:
        """Return the stored form: format version byte, then the orjson record."""
        record = self.to_json()
        record["key_hash"] = self.key_hash
        return bytes([FORMAT_VERSION]) + orjson.dumps(record)

    @staticmethod
    def from_bytes(data: bytes) -> User:
        """Return the user stored by :meth:`to_bytes`.

        Raises:
            CorruptRecord: the bytes are not a user record of a known version.
        """
        if not data or data[0] != FORMAT_VERSION:
            version = data[0] if data else None
            raise CorruptRecord(
                f"unknown user record version {version!r}; expected {FORMAT_VERSION}"
            )
        try:
            doc = orjson.loads(data[1:])
            return _user_of(doc)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptRecord(f"unreadable user record: {exc}") from None


def _user_of(doc: Any) -> User:
    if not isinstance(doc, dict):
        raise TypeError("record is not an object")
    created_at = datetime.fromisoformat(_text(doc, "created_at"))
    return User(
        user_id=_text(doc, "user_id"),
        username=_text(doc, "username"),
        email=_text(doc, "email"),
        roles=tuple(Role(role) for role in _texts(doc, "roles")),
        key_id=_text(doc, "key_id"),
        key_hash=_text(doc, "key_hash"),
        created_at=created_at,
        allowed_datasets=_texts(doc, "allowed_datasets"),
        denied_datasets=_texts(doc, "denied_datasets"),
        masked_columns=_masks_of(doc["masked_columns"]),
        disabled=not _flag(doc, "is_active"),
    )


def _text(doc: dict[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _texts(doc: dict[str, Any], name: str) -> tuple[str, ...]:
    value = doc[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{name} is not a list of strings")
    return tuple(value)


def _flag(doc: dict[str, Any], name: str) -> bool:
    value = doc[name]
    if not isinstance(value, bool):
        raise TypeError(f"{name} is not a boolean")
    return value


def _masks_of(value: Any) -> dict[str, dict[str, MaskType]]:
    if not isinstance(value, dict):
        raise TypeError("masked_columns is not an object")
    masks: dict[str, dict[str, MaskType]] = {}
    for dataset, columns in value.items():
        if not isinstance(columns, dict):
            raise TypeError(f"masked_columns.{dataset} is not an object")
        masks[dataset] = {str(column): MaskType(kind) for column, kind in columns.items()}
    return masks
