"""The dashboard's one HTML page, shipped in the package."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

__all__ = ["dashboard_page"]


def dashboard_page(status: int = 200) -> web.Response:
    """Return the dashboard's HTML (it fetches its data with the key the user types in)."""
    html = (resources.files("atlas_streams.web") / "static" / "index.html").read_bytes()
    return web.Response(body=html, status=status, content_type="text/html", charset="utf-8")
