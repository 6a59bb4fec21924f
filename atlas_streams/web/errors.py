"""HTTP errors as JSON bodies: every refusal says what was wrong, never with a traceback."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

__all__ = ["HttpError", "json_error", "json_response"]


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


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """Return ``{"error": message, "status": status, ...}`` with that status."""
    return json_response({"error": message, "status": status, **extra}, status=status)
