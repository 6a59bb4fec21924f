"""Access-control agents: user changes, one at a time, and the audit chain writer.

The web view never writes tables itself (Faust's RocksDB store needs a current event): it asks
the user agent, which applies each change to the stored user in order, and it sends raw access
decisions to a single-partition topic whose one consumer chains them. One consumer means one
writer per chain, and the chain head, with the last raw offset applied, lives in a table: a
replay after a crash is skipped, so the chain never forks or repeats.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
import orjson

from atlas_streams.agents.context import current_event
from atlas_streams.rbac import (
    GENESIS,
    ColumnMaskingUpdate,
    DatasetAccessUpdate,
    MaskType,
    Role,
    User,
    chain_event,
    revoke,
    with_column_masking,
    with_dataset_access,
    with_roles,
)
from atlas_streams.tables.access import AccessTables

__all__ = ["apply_user_change", "register_access_agents"]

log = logging.getLogger(__name__)

AUDIT_BATCH = 1000
AUDIT_BATCH_SECONDS = 0.05


class UserChangeRefused(Exception):
    """A user change cannot apply to the current state; the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply_user_change(current: User | None, change: dict[str, Any]) -> User:
    """Return the user after ``change``; raise UserChangeRefused when it cannot apply."""
    op = change["op"]
    if op == "create":
        if current is not None:
            raise UserChangeRefused(409, f"user {current.user_id} already exists")
        return User.from_bytes(bytes.fromhex(change["user"]))
    if current is None or current.disabled:
        raise UserChangeRefused(404, f"user {change['user_id']!r} not found")
    if op == "revoke":
        return revoke(current)
    if op == "set_roles":
        return with_roles(current, tuple(Role(r) for r in change["roles"]))
    if op == "set_dataset_access":
        update = DatasetAccessUpdate(
            allowed_datasets=_tuple_or_none(change.get("allowed_datasets")),
            denied_datasets=_tuple_or_none(change.get("denied_datasets")),
        )
        return with_dataset_access(current, update)
    if op == "set_column_masking":
        masks = {
            dataset: {column: MaskType(kind) for column, kind in columns.items()}
            for dataset, columns in change["masks"].items()
        }
        return with_column_masking(current, ColumnMaskingUpdate(masks=masks))
    if op == "set_key":
        return _with_key(current, change["key_id"], change["key_hash"])
    raise UserChangeRefused(422, f"unknown user change {op!r}")


def _hex(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value else None


def _tuple_or_none(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _with_key(user: User, key_id: str, key_hash: str) -> User:
    from dataclasses import replace

    return replace(user, key_id=key_id, key_hash=key_hash)


def register_access_agents(
    app: faust.App, user_commands: faust.TopicT, decisions: faust.TopicT,
    audit_topic: faust.TopicT, tables: AccessTables, chain_id: str,
) -> Any:
    """Register the user-change and audit-chain agents; return the user agent (for ``ask``)."""

    @app.agent(user_commands, name="atlas-rbac-users")
    async def user_changes(stream: faust.StreamT) -> Any:
        async for value in stream:
            change = orjson.loads(value)
            # A built-in user (demo keys, ATLAS_ADMIN_KEY) has no stored record until its
            # first change; the web view sends it along as the base to change.
            stored = tables.users.owned(change["user_id"]) or _hex(change.get("base"))
            current = User.from_bytes(stored) if stored else None
            try:
                updated = apply_user_change(current, change)
            except UserChangeRefused as exc:
                yield {"ok": False, "status": exc.status, "error": str(exc)}
                continue
            except (ValueError, KeyError, TypeError) as exc:  # never let a bad change stop the agent
                yield {"ok": False, "status": 422, "error": f"invalid user change: {exc}"}
                continue
            if current is not None and current.key_id != updated.key_id:
                tables.keys.pop(current.key_id, None)
            tables.users[updated.user_id] = updated.to_bytes()
            tables.keys[updated.key_id] = updated.user_id.encode()
            yield {"ok": True, "user": updated.to_json()}

    @app.agent(decisions, name="atlas-audit-chain")
    async def audit_chain(stream: faust.StreamT) -> None:
        async for events in stream.take_events(AUDIT_BATCH, within=AUDIT_BATCH_SECONDS):
            with current_event(events[-1]):  # no await inside: see the profiler agent
                _chain(events, tables, audit_topic, chain_id)

    return user_changes


def _chain(
    events: list[faust.EventT], tables: AccessTables, audit_topic: faust.TopicT, chain_id: str
) -> None:
    stored = tables.audit_head.owned("head")
    head = orjson.loads(stored) if stored else {"hash": GENESIS, "seq": -1, "offset": -1}
    for event in events:
        if event.message.offset <= head["offset"]:
            continue  # a replay: already chained
        decision = orjson.loads(event.value)
        chained = chain_event(head["hash"], {**decision, "chain": chain_id, "seq": head["seq"] + 1})
        body = orjson.dumps(chained)
        audit_topic.send_soon(key=chain_id.encode(), value=body)
        head = {"hash": chained["hash"], "seq": head["seq"] + 1, "offset": event.message.offset}
        tables.audit_log[f"{head['seq']:012d}"] = body
    tables.audit_head["head"] = orjson.dumps(head)
