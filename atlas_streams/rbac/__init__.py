"""Access control: permissions, roles, users, the access decision, masking, keys and audit.

A pure domain (standard library and orjson only): no I/O, no clock, no environment. The web
layer looks a route up in :data:`ENDPOINT_PERMISSIONS`, resolves the ``X-API-Key`` to a
:class:`User`, asks :func:`decide`, audits with :func:`chain_event`, and masks profiles with
:func:`mask_column_report`.
"""

from __future__ import annotations

from .accounts import (
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
from .audit import (
    GENESIS,
    ChainReport,
    LogQuery,
    chain_event,
    filter_events,
    new_event,
    parse_log_query,
    verify_chain,
)
from .endpoints import ENDPOINT_PERMISSIONS, PUBLIC_ENDPOINTS, Guard, guard_for
from .errors import CorruptRecord, InvalidRequest, RbacError
from .keys import generate_key, hash_key, key_id_for, parse_key, verify_key
from .masking import MaskType, mask_column_report, mask_key, mask_profile, mask_value
from .payloads import (
    ColumnMaskingUpdate,
    DatasetAccessUpdate,
    NewUser,
    parse_column_masking,
    parse_dataset_access,
    parse_new_user,
    parse_roles,
)
from .permissions import PERMISSION_NAMES, PERMISSIONS, Permission, describe_permissions
from .policy import Decision, can_access_dataset, decide, visible_datasets
from .roles import ROLE_PERMISSIONS, Role, describe_roles, permissions_of_roles
from .users import User

__all__ = [
    "DEMO_KEYS",
    "ENDPOINT_PERMISSIONS",
    "GENESIS",
    "PERMISSIONS",
    "PERMISSION_NAMES",
    "PUBLIC_ENDPOINTS",
    "ROLE_PERMISSIONS",
    "ChainReport",
    "ColumnMaskingUpdate",
    "CorruptRecord",
    "DatasetAccessUpdate",
    "Decision",
    "Guard",
    "InvalidRequest",
    "LogQuery",
    "MaskType",
    "NewUser",
    "Permission",
    "RbacError",
    "Role",
    "User",
    "bootstrap_admin",
    "can_access_dataset",
    "chain_event",
    "create_user",
    "decide",
    "demo_users",
    "describe_permissions",
    "describe_roles",
    "filter_events",
    "generate_key",
    "guard_for",
    "hash_key",
    "key_id_for",
    "mask_column_report",
    "mask_key",
    "mask_profile",
    "mask_value",
    "new_event",
    "parse_column_masking",
    "parse_dataset_access",
    "parse_key",
    "parse_log_query",
    "parse_new_user",
    "parse_roles",
    "permissions_of_roles",
    "revoke",
    "rotate_key",
    "verify_chain",
    "verify_key",
    "visible_datasets",
    "with_column_masking",
    "with_dataset_access",
    "with_roles",
]
