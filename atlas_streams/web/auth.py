"""API-key authentication, the access decision on every request, masking, and the audit.

One middleware enforces :func:`atlas_streams.rbac.decide` for the route aiohttp actually
matched: the permission belongs to the handler that runs, so no spelling of a path (``..``,
encoded slashes, case) reaches a handler without its check. Keys are looked up by key id and
compared as peppered hashes in constant time; the plaintext is never logged, stored or sent.

Every authenticated request's decision is audited with its final status, written to the
worker's outbox before the response goes out (``agents/trail.py``): no request waits on Kafka,
and no decision is lost. Failed authentications are rate-limited and summarised instead
(``web/floods.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from atlas_streams.rbac import (
    PUBLIC_ENDPOINTS,
    Decision,
    User,
    can_access_dataset,
    decide,
    guard_for,
    key_id_for,
    mask_key,
    mask_profile,
    minted,
    new_event,
    verify_key,
)
from atlas_streams.rbac.policy import DATASET_DENIED
from atlas_streams.registry import RegistryError
from atlas_streams.runtime import Atlas
from atlas_streams.tables.access import builtin_users
from atlas_streams.web.errors import HttpError, json_error, registry_status
from atlas_streams.web.floods import FailureLimiter, FailureSummary

__all__ = ["Authenticator", "UserAccess", "find_user", "middlewares"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_HEADER = "X-API-Key"
# A key minted by a worker but not yet in this worker's copy of the keys table was created on
# another worker a moment ago (its changelog takes ~20-50 ms to arrive here): wait this long
# for it. Keys no worker minted (guesses) are refused at once.
NEW_KEY_GRACE = 2.0


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


@dataclasses.dataclass(frozen=True)
class Authenticated:
    """The outcome of checking a presented key: the user, or why not."""

    user: User | None
    key_id: str | None
    failure: str | None = None  # missing_key, unknown_key, revoked_key, wrong_key, disabled


class Authenticator:
    """Resolve presented keys to active users."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas
        self.pepper = atlas.secrets.pepper
        self.builtins = builtin_users(atlas.settings, atlas.secrets)

    async def check(self, presented: str | None) -> Authenticated:
        """Return the user a presented key belongs to, or why it does not authenticate."""
        if not presented:
            return Authenticated(None, None, "missing_key")
        key_id = key_id_for(presented, self.pepper)
        if key_id is None:
            return Authenticated(None, None, "unknown_key")
        found = self._lookup(key_id)
        if found is None and minted(presented, self.pepper):
            found = await self._await_new_key(key_id)
        if found is None or found is False:
            return Authenticated(None, key_id, "revoked_key" if found is False else "unknown_key")
        if found.disabled:
            return Authenticated(None, key_id, "disabled")
        if not verify_key(presented, found.key_hash, self.pepper):
            return Authenticated(None, key_id, "wrong_key")
        return Authenticated(found, key_id)

    def _lookup(self, key_id: str) -> User | None | bool:
        """Return the key's user, None when unknown, False when the key was replaced."""
        user_id = self.atlas.access.keys.get(key_id)
        if user_id == b"":
            return False  # rotated away: a tombstone, so the old key never waits
        if user_id:
            return find_user(self.atlas, self.builtins, user_id.decode())
        builtin = self.builtins.get(key_id)
        if builtin is None:
            return None
        # A built-in user that was changed (deleted, key rotated) is overridden by its record.
        return find_user(self.atlas, self.builtins, builtin.user_id)

    async def _await_new_key(self, key_id: str) -> User | None | bool:
        deadline = time.monotonic() + NEW_KEY_GRACE
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            found = self._lookup(key_id)
            if found is not None:
                return found
        return None


def middlewares(atlas: Atlas, summary: FailureSummary) -> list[Any]:
    """Return the middleware that authenticates, authorises and audits every request."""
    auth = Authenticator(atlas)
    masking_key = mask_key(auth.pepper)
    limiter = FailureLimiter(atlas.settings.auth_failures_per_minute, time.monotonic)

    @web.middleware
    async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        template = getattr(route.resource, "canonical", None) if route.resource else None
        verb = "GET" if request.method == "HEAD" else request.method
        if (verb, template) in PUBLIC_ENDPOINTS:
            return await handler(request)
        found = await auth.check(request.headers.get(KEY_HEADER))
        if found.user is None:
            return _refuse(request, found, limiter, summary)
        user, key_id = found.user, found.key_id
        guard = guard_for(request.method, template) if template else None
        param = guard.dataset_param if guard else None
        dataset = request.match_info.get(param) if param else None
        decision = decide(user, guard.permission if guard else "unknown:route",
                          dataset if guard is None or guard.dataset_decides else None)
        allow = _allowed_methods(request)
        if guard is None:  # no such endpoint, or not with this method: say so, after the key check
            decision = Decision(False, 405, "method_not_allowed") if allow else Decision(
                False, 404, "no_such_endpoint")
        request["principal"] = user
        request["access"] = UserAccess(user, masking_key)
        request["audit_reason"] = decision.reason
        status = decision.status
        try:
            if not decision.allowed:
                headers = {"Allow": ", ".join(sorted(allow))} if status == 405 else None
                return json_error(status, _public(decision, dataset), headers=headers)
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
        except Exception:  # answered 500 by errors_as_json: audit what the caller got
            status = 500
            raise
        finally:
            _audit(atlas, request, user, key_id, guard.permission if guard else None, dataset,
                   decision, status)

    return [authorise]


def _refuse(
    request: web.Request, found: Authenticated, limiter: FailureLimiter, summary: FailureSummary,
) -> web.StreamResponse:
    """Answer a request whose key does not authenticate: 401, or 429 past the client's budget."""
    client = request.remote or ""
    retry = limiter.retry_after(client)
    if retry is not None:
        summary.add(client, "rate_limited")
        return json_error(429, f"too many failed authentications from this address; retry "
                          f"in {retry} s", headers={"Retry-After": str(retry)})
    limiter.failed(client)
    summary.add(client, found.failure or "unknown_key")
    return json_error(401, "missing API key: send header X-API-Key" if found.failure ==
                      "missing_key" else "invalid API key")


def _allowed_methods(request: web.Request) -> set[str]:
    """Return the methods the path allows when the request's method is not one of them."""
    exc = request.match_info.http_exception
    return set(exc.allowed_methods) if isinstance(exc, web.HTTPMethodNotAllowed) else set()


def _public(decision: Decision, dataset: str | None) -> str:
    if decision.reason == "no_such_endpoint":
        return "no such endpoint"
    if decision.reason == "method_not_allowed":
        return "method not allowed on this endpoint; see the Allow header"
    if decision.reason == DATASET_DENIED:  # word for word what an absent dataset gets
        return f"dataset {dataset!r} not found"
    return decision.public_message


def _audit(
    atlas: Atlas, request: web.Request, user: User, key_id: str | None, permission: str | None,
    dataset: str | None, decision: Decision, status: int,
) -> None:
    """Make the decision durable on this worker; it reaches the chain from there."""
    reason = request.get("audit_reason", decision.reason)
    # A denied dataset is answered 404 like an absent one, but the audit says what happened.
    allowed = decision.allowed and reason != DATASET_DENIED
    final = Decision(allowed, status, reason)
    atlas.trail.record(new_event(
        ts=datetime.now(UTC), method=request.method, path=request.path, permission=permission,
        decision=final, user_id=user.user_id, key_id=key_id, dataset=dataset,
        client=request.remote, request_id=request.get("request_id"),
    ))
