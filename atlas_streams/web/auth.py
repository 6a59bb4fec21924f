"""API-key authentication, the access decision on every request, masking, and the audit.

One middleware enforces :func:`atlas_streams.rbac.decide` for the route aiohttp actually
matched: the permission belongs to the handler that runs, so no spelling of a path (``..``,
encoded slashes, case) reaches a handler without its check. Every decision, 401s included, is
sent to the audit chain with its final status. Keys are looked up by key id and compared as
peppered hashes in constant time; the plaintext is never logged, stored or sent anywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from atlas_streams.rbac import (
    Decision,
    User,
    bootstrap_admin,
    can_access_dataset,
    decide,
    demo_users,
    guard_for,
    key_id_for,
    mask_key,
    mask_profile,
    new_event,
    parse_key,
    verify_key,
)
from atlas_streams.registry import RegistryError
from atlas_streams.runtime import Atlas
from atlas_streams.web.errors import HttpError, json_error, registry_status
from atlas_streams.web.page import dashboard_page

__all__ = ["UserAccess", "builtin_users", "find_user", "middlewares"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_HEADER = "X-API-Key"
NEW_KEY_GRACE = 2.0  # s a worker waits for a just-created key to reach its copy of the table


def builtin_users(atlas: Atlas) -> dict[str, User]:
    """Return the users that exist without a stored record, by key id (demo and first admin)."""
    settings = atlas.settings
    pepper = settings.key_pepper.get_secret_value().encode()
    now = datetime.now(UTC)
    users: list[User] = []
    if settings.demo_keys:
        users.extend(demo_users(pepper, now))
    elif settings.admin_key is not None:
        users.append(bootstrap_admin(settings.admin_key.get_secret_value(), pepper, now))
    return {user.key_id: user for user in users}


def find_user(atlas: Atlas, builtins: dict[str, User], user_id: str) -> User | None:
    """Return a user by id: the stored record, else the built-in one."""
    stored = atlas.access.users.get(user_id)
    if stored:
        return User.from_bytes(stored)
    return next((u for u in builtins.values() if u.user_id == user_id), None)


class UserAccess:
    """What one caller may see of the data."""

    def __init__(self, user: User, masking_key: bytes) -> None:
        self.user = user
        self.masking_key = masking_key

    def can_see_dataset(self, dataset: str) -> bool:
        """Return True when the caller may know that ``dataset`` exists."""
        return can_access_dataset(self.user, dataset)

    def mask_report(self, dataset: str, report: dict[str, Any]) -> dict[str, Any]:
        """Return the profile with the caller's masked columns masked."""
        masks = self.user.masks_for(dataset)
        return mask_profile(report, masks, self.masking_key) if masks else report


class Authenticator:
    """Resolve presented keys to active users."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas
        self.pepper = atlas.settings.key_pepper.get_secret_value().encode()
        self.builtins = builtin_users(atlas)

    async def user_for(self, presented: str | None) -> tuple[User | None, str | None]:
        """Return (user, key id) for a presented key; (None, key id or None) when unknown."""
        key_id = key_id_for(presented, self.pepper) if presented else None
        if key_id is None:
            return None, None
        user = self._lookup(key_id)
        if user is None and parse_key(presented) is not None:
            user = await self._await_new_key(key_id)
        if user is None or user.disabled or not verify_key(presented, user.key_hash, self.pepper):
            return None, key_id
        return user, key_id

    def _lookup(self, key_id: str) -> User | None:
        user_id = self.atlas.access.keys.get(key_id)
        if user_id:
            return find_user(self.atlas, self.builtins, user_id.decode())
        builtin = self.builtins.get(key_id)
        if builtin is None:
            return None
        # A built-in user that was changed (deleted, key rotated) is overridden by its record.
        return find_user(self.atlas, self.builtins, builtin.user_id)

    async def _await_new_key(self, key_id: str) -> User | None:
        # A key created on another worker a moment ago may not have reached this worker's copy.
        deadline = time.monotonic() + NEW_KEY_GRACE
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            user = self._lookup(key_id)
            if user is not None:
                return user
        return None


def middlewares(atlas: Atlas) -> list[Any]:
    """Return the middleware that authenticates, authorises and audits every request."""
    auth = Authenticator(atlas)
    masking_key = mask_key(auth.pepper)

    @web.middleware
    async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        template = getattr(route.resource, "canonical", None) if route.resource else None
        if (request.method, template) in {("GET", "/health"), ("HEAD", "/health")}:
            return await handler(request)
        user, key_id = await auth.user_for(request.headers.get(KEY_HEADER))
        guard = guard_for(request.method, template) if template else None
        param = guard.dataset_param if guard else None
        dataset = request.match_info.get(param) if param else None
        decision = decide(user, guard.permission if guard else "unknown:route", dataset)
        if user is not None and guard is None:  # no such endpoint: say so, after the key check
            decision = Decision(False, 404, "no_such_endpoint")
        request["principal"] = user
        request["access"] = UserAccess(user, masking_key) if user is not None else None
        request["audit_reason"] = decision.reason
        status = decision.status
        try:
            if not decision.allowed:
                if status == 401 and template == "/" and request.method == "GET":
                    return dashboard_page(status)  # a browser: the page asks for a key
                return json_error(status, _public(decision, dataset))
            response = await handler(request)
            status = response.status
            return response
        except HttpError as exc:
            status = exc.status
            raise
        except RegistryError as exc:
            status = registry_status(exc)
            raise
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            await _audit(atlas, request, user, key_id, guard.permission if guard else None,
                         dataset, dataclasses.replace(decision, status=status))

    return [authorise]


def _public(decision: Decision, dataset: str | None) -> str:
    if decision.reason == "no_such_endpoint":
        return "no such endpoint"
    if decision.reason == "dataset_denied":  # word for word what an absent dataset gets
        return f"dataset {dataset!r} not found"
    return decision.public_message


async def _audit(
    atlas: Atlas, request: web.Request, user: User | None, key_id: str | None,
    permission: str | None, dataset: str | None, decision: Decision,
) -> None:
    reason = request.get("audit_reason", decision.reason)
    event = new_event(
        ts=datetime.now(UTC), method=request.method, path=request.path, permission=permission,
        decision=dataclasses.replace(decision, reason=reason),
        user_id=user.user_id if user else None, key_id=key_id, dataset=dataset,
        client=request.remote,
    )
    try:
        await atlas.decisions.send(value=orjson.dumps(event))
    except Exception:  # the request has been answered; losing the audit must be loud
        log.exception("could not send an access decision to the audit chain")
