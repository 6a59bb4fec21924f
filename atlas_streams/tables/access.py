"""Faust tables of access control: users, their key index, and the audit chain's head.

All are read by every worker (each authenticates every request) and have one partition, and
each is written only by an agent that consumes a single-partition internal topic, so there is
exactly one writer. The two its agent reads before writing (users, the chain head) are
:class:`~atlas_streams.tables.owned.OwnedTable` s, so that agent always decides on its own latest
values. Every value is sealed (:class:`~atlas_streams.tables.sealed.SealedTable`): a record
written straight into a changelog by anyone but a worker is ignored when read, and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import faust

from atlas_streams.rbac import Keyring, User, bootstrap_admin, demo_users
from atlas_streams.settings import Secrets, Settings
from atlas_streams.tables.owned import define_owned_table
from atlas_streams.tables.sealed import OnForged, SealedTable
from atlas_streams.tables.store import store_options

__all__ = ["AccessTables", "builtin_users", "define_access_tables"]


@dataclass(frozen=True)
class AccessTables:
    """The access-control tables, as registered on the app."""

    users: SealedTable  # user_id -> rbac.User bytes (an OwnedTable inside)
    keys: SealedTable  # key_id -> user_id
    audit_head: SealedTable  # "head" -> rbac.ChainHead JSON (an OwnedTable inside)


def define_access_tables(app: faust.App, keyring: Keyring, on_forged: OnForged) -> AccessTables:
    """Register the access-control tables on ``app``; their values are sealed with ``keyring``."""
    keys = app.GlobalTable(
        "rbac_keys", partitions=1, recovery_buffer_size=1, key_type=str, value_type=bytes,
        options=store_options(), help="key id -> user id",
    )
    users = define_owned_table(app, "rbac_users", "users without key material beyond a hash")
    head = define_owned_table(app, "audit_head", "head of the audit chain")
    return AccessTables(
        users=SealedTable(users, "rbac_users", keyring, on_forged),
        keys=SealedTable(keys, "rbac_keys", keyring, on_forged),
        audit_head=SealedTable(head, "audit_head", keyring, on_forged),
    )


def builtin_users(settings: Settings, secrets: Secrets) -> dict[str, User]:
    """Return the users that exist without a stored record, by key id (demo and first admin)."""
    now = datetime.now(UTC)
    users: list[User] = []
    if settings.demo_keys:
        users.extend(demo_users(secrets.pepper, now))
    elif settings.admin_key is not None:
        users.append(bootstrap_admin(settings.admin_key.get_secret_value(), secrets.pepper, now))
    return {user.key_id: user for user in users}
