"""HTTP errors as JSON bodies: every refusal says what was wrong, never with a traceback."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from atlas_streams.registry import Invalid, NotFound, RegistryError

__all__ = ["HttpError", "json_error", "json_response", "registry_status"]


class HttpError(Exception):
    """Raise in a handler to answer ``status`` with ``{"error": message, ...}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return ``body`` encoded by orjson."""
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def json_error(
    status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """Return ``{"error": message, "status": status, ...}`` with that status."""
    return json_response({"error": message, "status": status, **extra}, status=status,
                         headers=headers)


def registry_status(exc: RegistryError) -> int:
    """Return the HTTP status of a registry refusal: 404 unknown, 422 invalid, else 409."""
    return 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, Invalid) else 409
