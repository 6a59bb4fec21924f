"""Access-control agents: user changes, one at a time, and the audit chain writer.

The web view never writes tables itself (Faust's RocksDB store needs a current event): it asks
the user agent, which applies each change to the stored user in order, and every worker ships
its raw access decisions (``agents/trail.py``) to a single-partition topic whose one consumer
chains them under the audit key. One consumer means one writer per chain, and the chain head,
with the last raw offset and the last outbox number per worker, lives in a table: a replay after
a crash or a re-sent decision is skipped, so the chain never forks or repeats. Both agents open
each message's seal first (``agents/sealing.py``): what no worker sealed changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
import orjson

from atlas_streams.agents.context import current_event
from atlas_streams.agents.sealing import Opener
from atlas_streams.rbac import (
    ChainHead,
    ColumnMaskingUpdate,
    DatasetAccessUpdate,
    Keyring,
    MaskType,
    Role,
    User,
    chain_decisions,
    lockout_problem,
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
        created = User.from_bytes(bytes.fromhex(change["user"]))
        if current is not None and current != created:
            raise UserChangeRefused(409, f"user {current.user_id} already exists")
        return created  # the very same user again: the web view sent its command twice
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


@dataclass(frozen=True)
class AccessAgentOptions:
    """What the access agents need besides their topics and tables."""

    chain_id: str  # names this deployment's chain in the shared audit topic
    opener: Opener  # opens the seals of commands and decisions
    audit: Keyring  # keys the chain
    builtins: Callable[[], dict[str, User]]  # users with no stored record (demo, first admin)
    # Where the chain stands as this worker last read it: the writer resumes from there when
    # its stored head is missing or forged, instead of starting a second chain at seq 0. Its
    # origins skip decisions the chain holds already: a restarted worker found no stored head
    # and chained the last 3 decisions of the killed one a second time (kill-9 test, CI).
    last_read: Callable[[], ChainHead]


def register_access_agents(
    app: faust.App, user_commands: faust.TopicT, decisions: faust.TopicT,
    audit_topic: faust.TopicT, tables: AccessTables, options: AccessAgentOptions,
) -> Any:
    """Register the user-change and audit-chain agents; return the user agent (for ``ask``)."""

    @app.agent(user_commands, name="atlas-rbac-users")
    async def user_changes(stream: faust.StreamT) -> Any:
        async for event in stream.events():
            change = options.opener.open(event)
            if not isinstance(change, dict):
                yield {"ok": False, "status": 403, "error": "refused: not sealed by a worker"}
                continue
            yield _change_user(change, tables, options)

    @app.agent(decisions, name="atlas-audit-chain")
    async def audit_chain(stream: faust.StreamT) -> None:
        async for events in stream.take_events(AUDIT_BATCH, within=AUDIT_BATCH_SECONDS):
            head, chained = _chain(events, tables.audit_head.owned("head"), options)
            # The chain's events reach the audit topic before the head moves past them. A head
            # stored first ran ahead of them when the worker was killed with the events still
            # in its producer's buffer: the replayed decisions were then skipped as chained
            # already, and their events were never written (21 of 40 decisions lost, verify
            # broken; tests/integration/test_service.py). Delivered first, a crash before the
            # head is stored replays the decisions into the same events (the same MACs), which
            # the index and verify take as exact re-sends.
            await _deliver(audit_topic, options.chain_id, chained)
            with current_event(events[-1]):  # no await inside: see the profiler agent
                tables.audit_head["head"] = orjson.dumps(head.to_json())

    return user_changes


def _change_user(change: dict[str, Any], tables: AccessTables,
                 options: AccessAgentOptions) -> dict[str, Any]:
    """Apply one opened change to the owned users table; return the reply."""
    try:
        # A built-in user (demo keys, ATLAS_ADMIN_KEY) has no stored record until its
        # first change; the web view sends it along as the base to change.
        stored = tables.users.owned(change["user_id"]) or _hex(change.get("base"))
        current = User.from_bytes(stored) if stored else None
        updated = apply_user_change(current, change)
        problem = lockout_problem(_all_users(tables, options), updated)
        if problem is not None:
            raise UserChangeRefused(409, problem)
    except UserChangeRefused as exc:
        return {"ok": False, "status": exc.status, "error": str(exc)}
    except (ValueError, KeyError, TypeError) as exc:  # never let a bad change stop the agent
        return {"ok": False, "status": 422, "error": f"invalid user change: {exc}"}
    if current is not None and current.key_id != updated.key_id:
        tables.keys[current.key_id] = b""  # a tombstone: the old key is refused, never awaited
    tables.users[updated.user_id] = updated.to_bytes()
    tables.keys[updated.key_id] = updated.user_id.encode()
    return {"ok": True, "user": updated.to_json()}


def _all_users(tables: AccessTables, options: AccessAgentOptions) -> list[User]:
    users = {uid: User.from_bytes(value) for uid, value in tables.users.owned_items()}
    for user in options.builtins().values():
        users.setdefault(user.user_id, user)
    return list(users.values())


def _chain(
    events: list[faust.EventT], stored: bytes | None, options: AccessAgentOptions,
) -> tuple[ChainHead, list[dict[str, Any]]]:
    """Chain a batch of raw decisions after the ``stored`` head; return the new head and events.

    A stored head behind the audit topic (a worker delivered a batch's events, then was killed
    before it stored the head) is kept as it is: the decisions after it are replayed and make
    the same events again. Moving it up to what this worker read of the topic chained those
    replays a second time (3 decisions twice in a run of the kill-9 test).
    """
    head = ChainHead.from_json(orjson.loads(stored)) if stored else options.last_read()
    opened: list[tuple[int, dict[str, Any]]] = []
    for event in events:
        offset = event.message.offset
        if offset <= head.offset:
            continue  # a replay: chained already (and refused already, if it was forged)
        decision = options.opener.open(event)
        # A refused one moves the head's offset past it and chains nothing (its refusal is
        # chained in its place: Refusals records it on this worker like any decision).
        opened.append((offset, decision if isinstance(decision, dict) else {"skip": True}))
    head, chained = chain_decisions(
        head, [(o, d) for o, d in opened if "skip" not in d], options.audit, options.chain_id
    )
    last = max((o for o, _ in opened), default=head.offset)
    return ChainHead(head.hash, head.seq, max(head.offset, last), head.origins), chained


async def _deliver(audit_topic: faust.TopicT, chain_id: str, chained: list[dict[str, Any]]) -> None:
    """Send the chain's new events and wait until Kafka has them all."""
    key = chain_id.encode()
    pending = [await audit_topic.send(key=key, value=orjson.dumps(event)) for event in chained]
    await asyncio.gather(*pending)
