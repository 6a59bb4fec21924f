"""The dashboard's one HTML page, shipped in the package, with a CSP that fits it exactly."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from aiohttp import web

__all__ = ["dashboard_page"]

_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)


@cache
def _page() -> tuple[bytes, str]:
    """Return the page and a Content-Security-Policy allowing exactly its inline code."""
    html = (resources.files("atlas_streams.web") / "static" / "index.html").read_bytes()
    hashes: dict[bytes, list[str]] = {b"script": [], b"style": []}
    for match in _INLINE.finditer(html):
        digest = base64.b64encode(hashlib.sha256(match.group(2)).digest()).decode()
        hashes[match.group(1)].append(f"'sha256-{digest}'")
    policy = "; ".join([
        "default-src 'self'",
        "script-src 'self' " + " ".join(hashes[b"script"]),
        "style-src 'self' " + " ".join(hashes[b"style"]),
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ])
    return html, policy


def dashboard_page(status: int = 200) -> web.Response:
    """Return the dashboard's HTML (it fetches its data with the key the user types in)."""
    html, policy = _page()
    response = web.Response(body=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = policy
    return response
