"""Validation of the request bodies of the user-management endpoints into typed values.

Each ``parse_*`` takes the decoded JSON body and returns a frozen value or raises
:class:`~atlas_streams.rbac.errors.InvalidRequest` naming the offending field. Unknown fields
are refused rather than ignored, so a typo never silently drops a restriction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidRequest
from .masking import MaskType
from .roles import Role

__all__ = [
    "ColumnMaskingUpdate",
    "DatasetAccessUpdate",
    "NewUser",
    "parse_column_masking",
    "parse_dataset_access",
    "parse_new_user",
    "parse_roles",
]

MAX_LIST = 1000  # entries in any one list or map of a body
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,49}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_DATASET = re.compile(r"[A-Za-z0-9._-]{1,200}")
_PATTERN = re.compile(r"[A-Za-z0-9._*?\[\]!-]{1,200}")
_ROLES = frozenset(role.value for role in Role)
_MASKS = frozenset(kind.value for kind in MaskType)
_ROLE_NAMES = ", ".join(role.value for role in Role)
_MASK_NAMES = ", ".join(kind.value for kind in MaskType)


@dataclass(frozen=True)
class NewUser:
    """A validated ``POST /rbac/users`` body."""

    username: str
    email: str
    roles: tuple[Role, ...]
    allowed_datasets: tuple[str, ...] = ()
    denied_datasets: tuple[str, ...] = ()
    masked_columns: Mapping[str, Mapping[str, MaskType]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetAccessUpdate:
    """A validated dataset-access body; a list left as None stays as it is."""

    allowed_datasets: tuple[str, ...] | None = None
    denied_datasets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnMaskingUpdate:
    """A validated column-masking body: the datasets whose masks it replaces (empty clears)."""

    masks: Mapping[str, Mapping[str, MaskType]]


def parse_new_user(body: object) -> NewUser:
    """Return the validated body of ``POST /rbac/users``."""
    doc = _object(
        body,
        required={"username", "email", "roles"},
        optional={"allowed_datasets", "denied_datasets", "masked_columns"},
    )
    username = doc["username"]
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InvalidRequest("username", "use 3 to 50 letters, digits, '.', '_' or '-'")
    email = doc["email"]
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidRequest("email", "expected an address like name@example.com")
    return NewUser(
        username=username,
        email=email,
        roles=_roles(doc["roles"]),
        allowed_datasets=_patterns(doc.get("allowed_datasets"), "allowed_datasets") or (),
        denied_datasets=_patterns(doc.get("denied_datasets"), "denied_datasets") or (),
        masked_columns=_dataset_masks(doc.get("masked_columns"), "masked_columns"),
    )


def parse_roles(body: object) -> tuple[Role, ...]:
    """Return the roles of a ``PUT /rbac/users/{user_id}/roles`` body ``{"roles": [...]}``."""
    return _roles(_object(body, required={"roles"})["roles"])


def parse_dataset_access(body: object) -> DatasetAccessUpdate:
    """Return the update of a ``PUT .../dataset-access`` body; at least one list is required."""
    doc = _object(body, optional={"allowed_datasets", "denied_datasets"})
    if not doc:
        raise InvalidRequest("allowed_datasets", "give allowed_datasets, denied_datasets or both")
    return DatasetAccessUpdate(
        allowed_datasets=_patterns(doc.get("allowed_datasets"), "allowed_datasets"),
        denied_datasets=_patterns(doc.get("denied_datasets"), "denied_datasets"),
    )


def parse_column_masking(body: object) -> ColumnMaskingUpdate:
    """Return the update of a ``PUT .../column-masking`` body.

    Two shapes are accepted: ``{"dataset_id": D, "masked_columns": COLUMNS}`` for one dataset,
    or ``{"masked_columns": {D: COLUMNS, ...}}`` for several, where COLUMNS is a list of column
    names (masked as ``null``) or ``{column: mask_type}``. An empty COLUMNS clears the dataset.
    """
    doc = _object(body, required={"masked_columns"}, optional={"dataset_id"})
    if "dataset_id" not in doc:
        return ColumnMaskingUpdate(_dataset_masks(doc["masked_columns"], "masked_columns"))
    dataset = doc["dataset_id"]
    if not isinstance(dataset, str) or not _DATASET.fullmatch(dataset):
        raise InvalidRequest(
            "dataset_id", "expected a dataset name of letters, digits, '.', '_', '-'"
        )
    return ColumnMaskingUpdate({dataset: _column_masks(doc["masked_columns"], "masked_columns")})


def _object(
    body: object, required: AbstractSet[str] = frozenset(), optional: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("body", "expected a JSON object")
    for name in body:
        if name not in required and name not in optional:
            expected = ", ".join(sorted(required | optional))
            raise InvalidRequest(str(name), f"unknown field; expected only {expected}")
    for name in sorted(required):
        if name not in body:
            raise InvalidRequest(name, "this field is required")
    return body


def _roles(value: object) -> tuple[Role, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("roles", f"expected a non-empty list of roles from: {_ROLE_NAMES}")
    roles: list[Role] = []
    for item in value:
        if not isinstance(item, str) or item not in _ROLES:
            raise InvalidRequest("roles", f"unknown role {item!r}; use one of: {_ROLE_NAMES}")
        if Role(item) not in roles:
            roles.append(Role(item))
    return tuple(roles)


def _patterns(value: object, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise InvalidRequest(name, f"expected a list of at most {MAX_LIST} dataset names or globs")
    for item in value:
        if not isinstance(item, str) or not _PATTERN.fullmatch(item):
            raise InvalidRequest(
                name, f"{item!r} is not a dataset name or glob (letters, digits, . _ - * ? [ ] !)"
            )
    return tuple(dict.fromkeys(value))


def _dataset_masks(value: object, name: str) -> dict[str, dict[str, MaskType]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_LIST:
        raise InvalidRequest(name, "expected an object {dataset: [column, ...] or {column: type}}")
    masks: dict[str, dict[str, MaskType]] = {}
    for dataset, columns in value.items():
        if not _DATASET.fullmatch(dataset):
            raise InvalidRequest(name, f"{dataset!r} is not a dataset name")
        masks[dataset] = _column_masks(columns, f"{name}.{dataset}")
    return masks


def _column_masks(value: object, name: str) -> dict[str, MaskType]:
    if isinstance(value, list) and len(value) <= MAX_LIST:
        pairs: list[tuple[object, object]] = [(column, MaskType.NULL.value) for column in value]
    elif isinstance(value, dict) and len(value) <= MAX_LIST:
        pairs = list(value.items())
    else:
        raise InvalidRequest(name, "expected a list of column names or an object {column: type}")
    masks: dict[str, MaskType] = {}
    for column, kind in pairs:
        if not isinstance(column, str) or not column or len(column) > 256:
            raise InvalidRequest(name, f"{column!r} is not a column name")
        if not isinstance(kind, str) or kind not in _MASKS:
            raise InvalidRequest(f"{name}.{column}", f"unknown mask {kind!r}; use: {_MASK_NAMES}")
        masks[column] = MaskType(kind)
    return masks
