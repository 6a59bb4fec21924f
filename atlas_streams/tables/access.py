"""Faust tables of access control: users, their key index, and the audit chain.

All are global (every worker authenticates and lists every decision) with one partition, and
each is written only by an agent that consumes a single-partition internal topic, so there is
exactly one writer and the RocksDB store files every write under partition 0. The two its agent
reads before writing (users, the chain head) are :class:`~atlas_streams.tables.owned.OwnedTable`
s, so that agent always decides on its own latest values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from atlas_streams.tables.owned import OwnedTable, define_owned_table
from atlas_streams.tables.store import store_options

__all__ = ["AccessTables", "define_access_tables"]


@dataclass(frozen=True)
class AccessTables:
    """The access-control tables, as registered on the app."""

    users: OwnedTable  # user_id -> rbac.User bytes
    keys: Any  # key_id -> user_id
    audit_log: Any  # zero-padded sequence number -> chained audit event (JSON)
    audit_head: OwnedTable  # "head" -> {"hash", "seq", "offset"} of the chain (JSON)


def define_access_tables(app: faust.App) -> AccessTables:
    """Register the access-control tables on ``app``."""

    def table(name: str, help_text: str) -> Any:
        return app.GlobalTable(
            name, partitions=1, recovery_buffer_size=1, key_type=str, value_type=bytes,
            options=store_options(), help=help_text,
        )

    return AccessTables(
        users=define_owned_table(
            app, "rbac_users", "users without key material beyond a peppered hash"
        ),
        keys=table("rbac_keys", "key id -> user id"),
        audit_log=table("audit_log", "chained access decisions"),
        audit_head=define_owned_table(app, "audit_head", "head of the audit chain"),
    )
