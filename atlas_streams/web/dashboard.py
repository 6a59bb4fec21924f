"""The HTML dashboard and the one JSON document it renders."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atlas_streams.rbac import User
from atlas_streams.runtime import Atlas
from atlas_streams.web.catalog import REPORTS, stored_dataset_listing
from atlas_streams.web.context import ATLAS
from atlas_streams.web.errors import json_response
from atlas_streams.web.page import asset_response, dashboard_page

__all__ = ["routes"]

routes = web.RouteTableDef()
RECENT_AUDIT = 50


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    """Serve the dashboard's page (no key needed: it asks for one, then fetches data)."""
    return dashboard_page()


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """Serve the dashboard's icon, so a browser's automatic request finds one."""
    return asset_response("icon.svg")


@routes.get("/assets/{name}")
async def asset(request: web.Request) -> web.Response:
    """Serve one of the dashboard's script, style sheet and icon."""
    return asset_response(request.match_info["name"])


@routes.get("/dashboard/data")
async def data(request: web.Request) -> web.Response:
    """Return what the dashboard shows, as far as the caller may see it."""
    atlas: Atlas = request.app[ATLAS]
    user: User = request["principal"]
    body: dict[str, Any] = {
        "user": {"user_id": user.user_id, "username": user.username,
                 "roles": [str(r) for r in user.roles]},
        "datasets": stored_dataset_listing(atlas, request["access"], request.app[REPORTS]),
        "models": None,
        "audit": None,
    }
    if "models:read" in user.permissions:
        body["models"] = _models(atlas)
    if "admin:audit" in user.permissions:
        body["audit"] = atlas.trail.index.recent(RECENT_AUDIT)
    return json_response(body)


def _models(atlas: Atlas) -> list[dict[str, Any]]:
    try:
        from atlas_streams.web.models import models_summary
    except ImportError:  # the registry's web view is not installed in this build
        return []
    return list(models_summary(atlas))
