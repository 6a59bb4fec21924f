"""What a request handler gets besides the request: the app, and the caller's access."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from aiohttp import web

from atlas_streams.runtime import Atlas
from atlas_streams.web.errors import HttpError

__all__ = ["ATLAS", "Access", "is_json", "read_json", "view_report"]

ATLAS = web.AppKey("atlas", Atlas)


class Access(Protocol):
    """The caller's view of data, set on each request by the auth middleware."""

    def can_see_dataset(self, dataset: str) -> bool:
        """Return True when the caller may know that ``dataset`` exists."""

    def mask_report(self, dataset: str, report: dict[str, Any]) -> dict[str, Any]:
        """Return a profile report with the caller's masked columns masked."""


def view_report(request: web.Request, dataset: str, report: dict[str, Any]) -> dict[str, Any]:
    """Return ``report`` as the caller may see it."""
    access: Access = request["access"]
    return access.mask_report(dataset, report)


def is_json(content_type: str) -> bool:
    """Return whether a media type (without parameters) is JSON."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def read_json(request: web.Request) -> Any:
    """Return the request's JSON body (None when empty), or answer 415/422 saying why not.

    A body that is not declared JSON is refused (415) before it is parsed: a browser form can
    send ``text/plain`` to another site without a preflight, JSON cannot.
    """
    raw = await request.read()
    if not raw.strip():
        return None
    if not is_json(request.headers.get("Content-Type", "")):
        raise HttpError(415, "send the body as JSON, with the header Content-Type: application/json")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(422, f"the request body is not valid JSON: {exc}") from None
