"""One middleware around every request: the HTTP metrics and one access log line.

It is the outermost middleware, so it sees the status the client gets, JSON errors included.
The access line (logger ``atlas_streams.web.access``) has the method, the path without its
query, the route template, status, duration, response size, client, user id and request id:
never a header (so never a key), a query string or a body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from atlas_streams.logs import CURRENT_REQUEST, REQUEST_ID_KEY
from atlas_streams.rbac import GRANTED
from atlas_streams.web.context import ATLAS

__all__ = ["ACCESS_LOGGER", "observe_requests"]

ACCESS_LOGGER = "atlas_streams.web.access"
UNMATCHED = "unmatched"  # the route label of requests no route matched: bounds the label set

access_log = logging.getLogger(ACCESS_LOGGER)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else None
    return canonical if canonical and request.match_info.http_exception is None else UNMATCHED


@web.middleware
async def observe_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer, then count the request, time it and write its access line."""
    token = CURRENT_REQUEST.set(request)
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        _record(request, status, elapsed, response)
        CURRENT_REQUEST.reset(token)


def _record(
    request: web.Request, status: int, elapsed: float, response: web.StreamResponse | None
) -> None:
    route = _route_of(request)
    atlas = request.app.get(ATLAS)
    metrics = getattr(atlas, "metrics", None)
    if metrics is not None:
        metrics.http_requests.labels(request.method, route, str(status)).inc()
        metrics.http_latency.labels(request.method, route).observe(elapsed)
        reason = request.get("audit_reason")
        if reason is not None:  # set by the auth middleware once a key authenticated
            decision = "allowed" if reason == GRANTED else "denied"
            metrics.audit_decisions.labels(decision, reason).inc()
        elif status in (401, 429):  # refused before any permission check (floods are summarised)
            metrics.audit_decisions.labels("denied", "unauthenticated").inc()
    principal = request.get("principal")
    size = getattr(response, "content_length", None)  # None when streamed
    access_log.info(
        "%s %s %d %.1fms", request.method, request.path, status, elapsed * 1000,
        extra={
            "method": request.method, "path": request.path, "route": route, "status": status,
            "duration_ms": round(elapsed * 1000, 3), "bytes": size, "client": request.remote,
            "user_id": getattr(principal, "user_id", None),
            "request_id": request.get(REQUEST_ID_KEY),
        },
    )
