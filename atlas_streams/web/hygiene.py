"""HTTP hygiene for every response: request ids, security headers, JSON for malformed requests.

- ``X-Request-ID``: taken from the request when it is a sane token, made otherwise; echoed on
  the response, set on the request for the audit event and the access log.
- Security headers on everything: ``X-Content-Type-Options: nosniff``, no framing
  (``X-Frame-Options`` and CSP ``frame-ancestors``), no referrer, ``Cache-Control: no-store``
  (responses carry keys, profiles and audit data), and a CSP that allows nothing for JSON.
  The dashboard page sets its own CSP (``web/page.py``).
- A request line or header over aiohttp's 8 KB limit was answered ``text/plain`` 400 with the
  offending input echoed and a traceback in the log; :class:`JsonErrorRunner` answers 414 (URL)
  or 431 (header) as JSON, with no echo, and logs one line.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from atlas_streams.web.errors import json_error

__all__ = ["REQUEST_ID_HEADER", "JsonErrorRunner", "hygiene"]

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def hygiene(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id and the response its id and security headers."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    request["request_id"] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # aiohttp's own (a 404 before routing, say)
        response = json_error(exc.status, exc.reason)
    _finish(response, request_id)
    return response


def _finish(response: web.StreamResponse, request_id: str) -> None:
    if response.prepared:  # a streamed download: its headers went out already
        return
    response.headers[REQUEST_ID_HEADER] = request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class _JsonErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering unparseable requests with JSON."""

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        status, text = _classify(exc)
        log.warning("refused a malformed request from %s: %d %s", request.remote, status, text)
        response = json_error(status, text, headers=dict(SECURITY_HEADERS))
        response.force_close()
        return response


def _classify(exc: HttpProcessingError) -> tuple[int, str]:
    """Return the status and a message that does not echo the request."""
    if isinstance(exc, LineTooLong):
        # aiohttp's parser says only which bytes were too long: the request target (the URL,
        # read as a bytearray, starting with "/" or a scheme) or a header line.
        line = exc.args[0] if exc.args else b""
        if isinstance(line, bytearray) or bytes(line[:1]) == b"/" or bytes(line[:4]) == b"http":
            return 414, "request URL too long (8 KB at most)"
        return 431, "request header fields too large (8 KB per line at most)"
    return 400, "malformed HTTP request"


class _JsonErrorServer(Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """An AppRunner whose connections answer malformed requests with JSON (414, 431, 400)."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer  # same state, our handler factory
        return server
