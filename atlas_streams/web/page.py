"""The dashboard's page and static assets, shipped in the package and served without a key.

The page's Content-Security-Policy fits it exactly: its own origin for scripts and styles
(``/assets/``) plus the hash of any inline code, nothing from elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

from aiohttp import web

from atlas_streams.web.errors import HttpError

__all__ = ["ASSETS", "asset_response", "dashboard_page"]

_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)
# The only files served under /assets/, with their media types: nothing else is reachable.
ASSETS: Mapping[str, str] = MappingProxyType({
    "app.js": "text/javascript",
    "app.css": "text/css",
    "icon.svg": "image/svg+xml",
})


@cache
def _read(name: str) -> bytes:
    return (resources.files("atlas_streams.web") / "static" / name).read_bytes()


@cache
def _policy() -> str:
    """Return a Content-Security-Policy allowing the page's own assets and inline code only."""
    hashes: dict[bytes, list[str]] = {b"script": [], b"style": []}
    for match in _INLINE.finditer(_read("index.html")):
        digest = base64.b64encode(hashlib.sha256(match.group(2)).digest()).decode()
        hashes[match.group(1)].append(f"'sha256-{digest}'")
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *hashes[b"script"]]),
        " ".join(["style-src 'self'", *hashes[b"style"]]),
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ])


def dashboard_page(status: int = 200) -> web.Response:
    """Return the dashboard's HTML shell (it fetches its data with the key the user types in)."""
    response = web.Response(body=_read("index.html"), status=status, content_type="text/html",
                            charset="utf-8")
    response.headers["Content-Security-Policy"] = _policy()
    return response


def asset_response(name: str) -> web.Response:
    """Return one of :data:`ASSETS`, or answer 404 naming the ones there are."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HttpError(404, f"no asset {name!r}; the dashboard's assets are "
                        f"{', '.join(ASSETS)}")
    return web.Response(body=_read(name), content_type=media_type,
                        headers={"Cache-Control": "no-cache"})
