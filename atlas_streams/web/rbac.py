"""Access-control endpoints: roles, permissions, users and keys, checks, the audit log."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from atlas_streams import topics
from atlas_streams.rbac import (
    DATASET_DENIED,
    GRANTED,
    ChainHead,
    InvalidRequest,
    LogQuery,
    User,
    can_access_dataset,
    create_user,
    describe_permissions,
    describe_roles,
    parse_column_masking,
    parse_dataset_access,
    parse_log_query,
    parse_new_user,
    parse_roles,
    rotate_key,
)
from atlas_streams.runtime import Atlas
from atlas_streams.tables.access import builtin_users
from atlas_streams.web import commands
from atlas_streams.web.auth import find_user
from atlas_streams.web.context import ATLAS, read_json
from atlas_streams.web.errors import HttpError, json_response

__all__ = ["routes"]

routes = web.RouteTableDef()
VISIBLE_TIMEOUT = 10.0  # s to wait until this worker's copy shows a change it just made
VERIFY_WAIT = 5.0  # s to wait until this worker has read the chain up to the writer's head


def _pepper(atlas: Atlas) -> bytes:
    return atlas.secrets.pepper


def _all_users(atlas: Atlas) -> list[User]:
    stored = {uid: User.from_bytes(v) for uid, v in atlas.access.users.items()}
    for user in builtin_users(atlas.settings, atlas.secrets).values():
        stored.setdefault(user.user_id, user)
    return sorted(stored.values(), key=lambda u: u.user_id)


def _existing(atlas: Atlas, user_id: str) -> User:
    user = find_user(atlas, builtin_users(atlas.settings, atlas.secrets), user_id)
    if user is None or user.disabled:
        raise HttpError(404, f"user {user_id!r} not found")
    return user


async def _change(atlas: Atlas, change: dict[str, Any], base: User | None = None) -> dict[str, Any]:
    """Ask the user agent to apply ``change``; wait until this worker's copy shows it."""
    if base is not None and atlas.access.users.get(base.user_id) is None:
        change = {**change, "base": base.to_bytes().hex()}
    reply = await commands.send(atlas, atlas.user_agent, topics.USER_COMMANDS, change,
                                who="the user agent")
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
    """Say whether the caller may read a dataset, for any name (the answer leaks nothing)."""
    user: User = request["principal"]
    name = request.match_info["dataset"]
    allowed = can_access_dataset(user, name)
    request["audit_reason"] = GRANTED if allowed else DATASET_DENIED  # the answer, audited
    return json_response({"dataset": name, "allowed": allowed})


@routes.get("/rbac/my-permissions")
async def my_permissions(request: web.Request) -> web.Response:
    """Return the caller, their roles and every permission they hold."""
    user: User = request["principal"]
    return json_response({"user": user.to_json(), "permissions": sorted(user.permissions)})


def _query(request: web.Request, decision: str | None = None) -> LogQuery:
    params = {k: v for k, v in request.query.items() if decision is None or k != "decision"}
    query: LogQuery = _parsed(parse_log_query, params)
    return query if decision is None else dataclasses.replace(query, decision=decision)


@routes.get("/rbac/access-logs")
async def access_logs(request: web.Request) -> web.Response:
    """List access decisions of every worker, newest first, with filters."""
    events = request.app[ATLAS].trail.query(_query(request))
    return json_response({"events": events, "count": len(events)})


@routes.get("/rbac/access-logs/denied")
async def denied_logs(request: web.Request) -> web.Response:
    """List denied access decisions, newest first."""
    events = request.app[ATLAS].trail.query(_query(request, decision="denied"))
    return json_response({"events": events, "count": len(events)})


@routes.get("/rbac/audit/verify")
async def verify(request: web.Request) -> web.Response:
    """Report whether this deployment's chain in the audit topic is intact, up to the writer's head.

    Every worker checks each event as it reads it (``tables/audit_index.py``), so this reads
    only the events chained since the last call: it waits (briefly) until this worker has read
    the chain up to the writer's stored head, then compares the two.
    """
    atlas: Atlas = request.app[ATLAS]
    stored = atlas.access.audit_head.get("head")
    head = ChainHead.from_json(orjson.loads(stored)) if stored else ChainHead()
    caught_up = await atlas.trail.reader.caught_up(head, VERIFY_WAIT)
    check = atlas.trail.index.check
    problem = check.against_head(head)
    broken = check.broken
    return json_response({
        "ok": problem is None,
        "checked": check.checked,
        "reason": problem or "intact",
        "first_bad_offset": broken.offset if broken else None,
        "first_break_seq": broken.seq if broken else None,
        "first_break_event_id": broken.event_id if broken else None,
        "head": check.hash,
        "head_seq": check.seq,
        "head_in_table": head.hash if stored else None,
        "head_seq_in_table": head.seq if stored else None,
        "caught_up": caught_up,
        "topic": topics.AUDIT,
    })
