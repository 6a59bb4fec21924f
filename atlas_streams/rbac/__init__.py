"""Access control: permissions, roles, users, the access decision, masking, keys and audit.

A pure domain (standard library and orjson only): no I/O, no clock, no environment. The web
layer looks a route up in :data:`ENDPOINT_PERMISSIONS`, resolves the ``X-API-Key`` to a
:class:`User`, asks :func:`decide`, audits with :func:`new_event` (chained under a secret by
:func:`chain_decisions`), and masks profiles with :func:`mask_column_report`. Whatever crosses
Kafka between workers is sealed with :func:`seal` and opened with :func:`unseal`.
"""

from __future__ import annotations

from .accounts import (
    DEMO_KEYS,
    active_admins,
    bootstrap_admin,
    create_user,
    demo_users,
    lockout_problem,
    revoke,
    rotate_key,
    with_column_masking,
    with_dataset_access,
    with_roles,
)
from .audit import (
    LogQuery,
    anonymous_summary,
    filter_events,
    new_event,
    parse_log_query,
    refusal_event,
)
from .chain import (
    GENESIS,
    ChainBreak,
    ChainCheck,
    ChainHead,
    ChainReport,
    chain_decisions,
    chain_event,
    link_problem,
    verify_chain,
)
from .endpoints import ENDPOINT_PERMISSIONS, PUBLIC_ENDPOINTS, Guard, guard_for, is_public
from .errors import CorruptRecord, Forged, InvalidRequest, RbacError
from .keys import generate_key, hash_key, key_id_for, minted, parse_key, verify_key
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
from .policy import DATASET_DENIED, GRANTED, Decision, can_access_dataset, decide, visible_datasets
from .roles import ROLE_PERMISSIONS, Role, describe_roles, permissions_of_roles
from .signing import Keyring, is_sealed, seal, unseal
from .users import User

__all__ = [
    "DATASET_DENIED",
    "DEMO_KEYS",
    "ENDPOINT_PERMISSIONS",
    "GENESIS",
    "GRANTED",
    "PERMISSIONS",
    "PERMISSION_NAMES",
    "PUBLIC_ENDPOINTS",
    "ROLE_PERMISSIONS",
    "ChainBreak",
    "ChainCheck",
    "ChainHead",
    "ChainReport",
    "ColumnMaskingUpdate",
    "CorruptRecord",
    "DatasetAccessUpdate",
    "Decision",
    "Forged",
    "Guard",
    "InvalidRequest",
    "Keyring",
    "LogQuery",
    "MaskType",
    "NewUser",
    "Permission",
    "RbacError",
    "Role",
    "User",
    "active_admins",
    "anonymous_summary",
    "bootstrap_admin",
    "can_access_dataset",
    "chain_decisions",
    "chain_event",
    "create_user",
    "decide",
    "demo_users",
    "describe_permissions",
    "describe_roles",
    "filter_events",
    "generate_key",
    "guard_for",
    "is_public",
    "hash_key",
    "is_sealed",
    "key_id_for",
    "link_problem",
    "lockout_problem",
    "mask_column_report",
    "mask_key",
    "mask_profile",
    "mask_value",
    "minted",
    "new_event",
    "parse_column_masking",
    "parse_dataset_access",
    "parse_key",
    "parse_log_query",
    "parse_new_user",
    "parse_roles",
    "refusal_event",
    "permissions_of_roles",
    "revoke",
    "rotate_key",
    "seal",
    "unseal",
    "verify_chain",
    "verify_key",
    "visible_datasets",
    "with_column_masking",
    "with_dataset_access",
    "with_roles",
]
