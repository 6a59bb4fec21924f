"""Access-control endpoints: roles, permissions, users and keys, checks, the audit log."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

from atlas_streams import topics
from atlas_streams.connectors.security import client_options
from atlas_streams.rbac import (
    InvalidRequest,
    User,
    can_access_dataset,
    create_user,
    describe_permissions,
    describe_roles,
    filter_events,
    parse_column_masking,
    parse_dataset_access,
    parse_log_query,
    parse_new_user,
    parse_roles,
    rotate_key,
    verify_chain,
)
from atlas_streams.runtime import Atlas
from atlas_streams.web.auth import builtin_users, find_user
from atlas_streams.web.context import ATLAS, read_json
from atlas_streams.web.errors import HttpError, json_response

__all__ = ["read_chain_raw", "recent_audit", "routes", "unique_in_chain_order"]

routes = web.RouteTableDef()
VISIBLE_TIMEOUT = 10.0  # s to wait until this worker's copy shows a change it just made


def _pepper(atlas: Atlas) -> bytes:
    return atlas.settings.key_pepper.get_secret_value().encode()


def _all_users(atlas: Atlas) -> list[User]:
    stored = {uid: User.from_bytes(v) for uid, v in atlas.access.users.items()}
    for user in builtin_users(atlas).values():
        stored.setdefault(user.user_id, user)
    return sorted(stored.values(), key=lambda u: u.user_id)


def _existing(atlas: Atlas, user_id: str) -> User:
    user = find_user(atlas, builtin_users(atlas), user_id)
    if user is None or user.disabled:
        raise HttpError(404, f"user {user_id!r} not found")
    return user


async def _change(atlas: Atlas, change: dict[str, Any], base: User | None = None) -> dict[str, Any]:
    """Ask the user agent to apply ``change``; wait until this worker's copy shows it."""
    if base is not None and atlas.access.users.get(base.user_id) is None:
        change = {**change, "base": base.to_bytes().hex()}
    reply = await atlas.user_agent.ask(value=orjson.dumps(change))
    if not reply.get("ok"):
        raise HttpError(int(reply.get("status", 409)), str(reply.get("error")))
    expected = orjson.dumps(reply["user"], option=orjson.OPT_SORT_KEYS)
    deadline = time.monotonic() + VISIBLE_TIMEOUT
    while time.monotonic() < deadline:
        stored = atlas.access.users.get(change["user_id"])
        if stored and orjson.dumps(User.from_bytes(stored).to_json(),
                                   option=orjson.OPT_SORT_KEYS) == expected:
            break
        await asyncio.sleep(0.02)
    return dict(reply["user"])


@routes.get("/rbac/roles")
async def roles(request: web.Request) -> web.Response:
    """List the roles and their permissions."""
    return json_response({"roles": describe_roles()})


@routes.get("/rbac/permissions")
async def permissions(request: web.Request) -> web.Response:
    """List every permission with its description."""
    return json_response({"permissions": describe_permissions()})


@routes.post("/rbac/users")
async def create(request: web.Request) -> web.Response:
    """Create a user and return their API key, shown this once."""
    atlas: Atlas = request.app[ATLAS]
    new = _parsed(parse_new_user, await read_json(request))
    if any(u.username == new.username and not u.disabled for u in _all_users(atlas)):
        raise HttpError(409, f"username {new.username!r} is taken")
    user, plaintext = create_user(new, _pepper(atlas), datetime.now(UTC))
    body = await _change(atlas, {"op": "create", "user_id": user.user_id,
                                 "user": user.to_bytes().hex()})
    return json_response({**body, "api_key": plaintext,
                          "note": "store this key now: it is shown only once"}, status=201)


def _parsed(parse: Any, body: Any) -> Any:
    try:
        return parse(body)
    except InvalidRequest as exc:
        raise HttpError(422, exc.message, field=exc.field) from None


@routes.get("/rbac/users")
async def list_users(request: web.Request) -> web.Response:
    """List active users (never their keys)."""
    users = [u.to_json() for u in _all_users(request.app[ATLAS]) if not u.disabled]
    return json_response({"users": users, "count": len(users)})


@routes.get("/rbac/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    """Return one user."""
    return json_response(_existing(request.app[ATLAS], request.match_info["user_id"]).to_json())


@routes.delete("/rbac/users/{user_id}")
async def delete_user(request: web.Request) -> web.Response:
    """Delete a user: their key stops working at once."""
    atlas: Atlas = request.app[ATLAS]
    user = _existing(atlas, request.match_info["user_id"])
    await _change(atlas, {"op": "revoke", "user_id": user.user_id}, base=user)
    return json_response({"deleted": user.user_id})


async def _update(request: web.Request, op: str, fields: dict[str, Any]) -> web.Response:
    atlas: Atlas = request.app[ATLAS]
    user = _existing(atlas, request.match_info["user_id"])
    body = await _change(atlas, {"op": op, "user_id": user.user_id, **fields}, base=user)
    return json_response(body)


@routes.put("/rbac/users/{user_id}/roles")
async def set_roles(request: web.Request) -> web.Response:
    """Replace a user's roles."""
    new_roles = _parsed(parse_roles, await read_json(request))
    return await _update(request, "set_roles", {"roles": [str(r) for r in new_roles]})


@routes.put("/rbac/users/{user_id}/dataset-access")
async def set_dataset_access(request: web.Request) -> web.Response:
    """Replace a user's allowed and denied dataset patterns."""
    update = _parsed(parse_dataset_access, await read_json(request))
    return await _update(request, "set_dataset_access", {
        "allowed_datasets": update.allowed_datasets, "denied_datasets": update.denied_datasets})


@routes.put("/rbac/users/{user_id}/column-masking")
async def set_column_masking(request: web.Request) -> web.Response:
    """Replace a user's column masks for the datasets named."""
    update = _parsed(parse_column_masking, await read_json(request))
    masks = {d: {c: str(t) for c, t in cols.items()} for d, cols in update.masks.items()}
    return await _update(request, "set_column_masking", {"masks": masks})


@routes.post("/rbac/users/{user_id}/rotate-key")
async def rotate(request: web.Request) -> web.Response:
    """Give a user a new key (shown once); the old one stops working."""
    atlas: Atlas = request.app[ATLAS]
    user = _existing(atlas, request.match_info["user_id"])
    rotated, plaintext = rotate_key(user, _pepper(atlas))
    body = await _change(atlas, {"op": "set_key", "user_id": user.user_id,
                                 "key_id": rotated.key_id, "key_hash": rotated.key_hash}, base=user)
    return json_response({**body, "api_key": plaintext,
                          "note": "store this key now: it is shown only once"})


@routes.get("/rbac/check-permission/{permission}")
async def check_permission(request: web.Request) -> web.Response:
    """Say whether the caller holds a permission."""
    user: User = request["principal"]
    name = request.match_info["permission"]
    return json_response({"permission": name, "allowed": name in user.permissions})


@routes.get("/rbac/check-dataset-access/{dataset}")
async def check_dataset(request: web.Request) -> web.Response:
    """Say whether the caller may read a dataset."""
    user: User = request["principal"]
    name = request.match_info["dataset"]
    return json_response({"dataset": name, "allowed": can_access_dataset(user, name)})


@routes.get("/rbac/my-permissions")
async def my_permissions(request: web.Request) -> web.Response:
    """Return the caller, their roles and every permission they hold."""
    user: User = request["principal"]
    return json_response({"user": user.to_json(), "permissions": sorted(user.permissions)})


def recent_audit(atlas: Atlas) -> list[dict[str, Any]]:
    """Return every chained decision this worker's copy holds, oldest first."""
    return [orjson.loads(v) for _, v in sorted(atlas.access.audit_log.items())]


@routes.get("/rbac/access-logs")
async def access_logs(request: web.Request) -> web.Response:
    """List access decisions of every worker, newest first, with filters."""
    query = _parsed(parse_log_query, dict(request.query))
    events = query.apply(recent_audit(request.app[ATLAS]))
    return json_response({"events": events, "count": len(events)})


@routes.get("/rbac/access-logs/denied")
async def denied_logs(request: web.Request) -> web.Response:
    """List denied access decisions, newest first."""
    params = {k: v for k, v in request.query.items() if k != "decision"}
    query = _parsed(parse_log_query, params)
    events = filter_events(recent_audit(request.app[ATLAS]), user=query.user, decision="denied",
                           since=query.since, limit=query.limit)
    return json_response({"events": events, "count": len(events)})


@routes.get("/rbac/audit/verify")
async def verify(request: web.Request) -> web.Response:
    """Re-walk this deployment's chain in the audit topic and report the first break."""
    atlas: Atlas = request.app[ATLAS]
    raw = await read_chain_raw(atlas)
    events = unique_in_chain_order(raw)
    head = atlas.access.audit_head.get("head")
    expected = orjson.loads(head)["hash"] if head else None
    report = verify_chain(events)
    body = report.to_json()
    body["head_in_table"] = expected
    body["topic"] = topics.AUDIT
    body["duplicates_skipped"] = len(raw) - len(events)
    return json_response(body)


async def read_chain_raw(atlas: Atlas) -> list[dict[str, Any]]:
    """Return this deployment's chained events from the audit topic as stored, copies included."""
    consumer = AIOKafkaConsumer(bootstrap_servers=atlas.settings.bootstrap_servers,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **client_options(atlas.settings.kafka_security))
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topics.AUDIT) or set()
        tps = [TopicPartition(topics.AUDIT, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        return await _drain(consumer, tps, atlas.settings.app_id)
    finally:
        await consumer.stop()


async def _drain(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], chain_id: str
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    idle = 0
    while idle < 3:  # the broker's end offsets can be short (see KAFKA_NOTES): read to idle
        batch = await consumer.getmany(*tps, timeout_ms=200)
        idle = idle + 1 if not batch else 0
        for records in batch.values():
            for record in records:
                event = orjson.loads(record.value)
                if event.get("chain") == chain_id:
                    events.append(event)
    return events


def unique_in_chain_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return events in chain order with exact re-sends dropped.

    Chaining is deterministic: when the chain agent is restarted mid-batch (Faust restarts agents
    on a rebalance) it re-chains the replayed decisions from the same head and sends identical
    events, with identical hashes. Those copies are delivery artifacts, not tampering; an edited
    or missing event still breaks the chain.
    """
    seen: set[str] = set()
    unique = []
    for event in sorted(events, key=lambda e: e.get("seq", -1)):
        digest = str(event.get("hash"))
        if digest not in seen:
            seen.add(digest)
            unique.append(event)
    return unique
