"""The API document (OpenAPI 3.1), built from the routes the worker actually serves.

Three sources, each the only one for its part (see :mod:`atlas_streams.web.operations`): the
aiohttp router, the permission table of :mod:`atlas_streams.rbac.endpoints` and the operation
table. Building fails loudly when a served route has no operation, so the document cannot
silently fall behind the code; ``GET /openapi.json`` serves it and ``GET /docs`` renders it.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from aiohttp import web

from atlas_streams.rbac import guard_for, is_public
from atlas_streams.web.docs_page import render_docs
from atlas_streams.web.errors import json_response
from atlas_streams.web.operations import OPERATIONS, Operation
from atlas_streams.web.schemas import SCHEMAS, ref

__all__ = ["API_KEY_SCHEME", "build_document", "routes", "served_routes"]

API_KEY_SCHEME = "ApiKey"
_PATH_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    400: "A query or path parameter is malformed (the message and `field` name it)",
    401: "No key, or an unknown or disabled one: send a valid key in the X-API-Key header",
    403: "The key's roles do not grant the permission this endpoint needs",
    404: "No such resource (a dataset the caller may not see answers the same)",
    409: "The request conflicts with the current state (the message says which)",
    413: "The body is over the size limit",
    415: "The body is not of the declared media type",
    422: "The body or a parameter is invalid (the message names the field)",
    429: "Too many failed authentications from this address: wait Retry-After seconds",
    503: "A worker agent did not answer in time: read the resource before retrying",
}

routes = web.RouteTableDef()


def served_routes(app: web.Application) -> dict[tuple[str, str], Any]:
    """Return every served ``(METHOD, template)`` with its handler (HEAD left out: it is GET)."""
    served: dict[tuple[str, str], Any] = {}
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else None
        if canonical is not None and route.method != "HEAD":
            served[(route.method, canonical)] = route.handler
    return served


def build_document(app: web.Application) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every route ``app`` serves.

    Raises:
        KeyError: a served route has no entry in the operation table.
    """
    paths: dict[str, dict[str, Any]] = {}
    for (method, template), handler in sorted(served_routes(app).items(), key=_order):
        operation = OPERATIONS.get((method, template))
        if operation is None:
            raise KeyError(f"{method} {template} is served but has no operation: add it to "
                           "atlas_streams/web/operations.py")
        paths.setdefault(template, {})[method.lower()] = _operation(
            method, template, handler, operation)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Atlas Streams",
            "version": _version(),
            "description": (
                "Column profiles of every dataset topic, a model registry and access control, "
                "served by every worker. Send your key in the X-API-Key header; every refusal "
                "is a JSON body {\"error\": ..., \"status\": ...}."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(SCHEMAS),
            "securitySchemes": {API_KEY_SCHEME: {
                "type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "A user's API key (admins create users and rotate keys)."}},
        },
    }


def _order(item: tuple[tuple[str, str], Any]) -> tuple[str, int]:
    (method, template), _ = item
    return template, ["GET", "POST", "PUT", "DELETE"].index(method) if method in (
        "GET", "POST", "PUT", "DELETE") else 9


def _operation(method: str, template: str, handler: Any, operation: Operation) -> dict[str, Any]:
    guard = guard_for(method, template)
    public = is_public(method, template)
    doc = inspect.getdoc(handler) or ""
    summary = doc.splitlines()[0] if doc else f"{method} {template}"
    details = "\n".join(doc.splitlines()[1:]).strip()  # the docstring past its summary line
    access = "No key needed." if public else (
        f"Needs permission `{guard.permission}`." if guard else "Not reachable: no permission.")
    if guard is not None and guard.dataset_param and guard.dataset_decides:
        access += f" The caller's dataset lists must allow `{{{guard.dataset_param}}}`."
    body: dict[str, Any] = {
        "operationId": f"{method.lower()}_{handler.__name__}",
        "summary": summary,
        "description": "\n\n".join(part for part in (details, access) if part),
        "tags": [operation.tag],
        "security": [] if public else [{API_KEY_SCHEME: []}],
        "parameters": _parameters(template, operation),
        "responses": _responses(operation, guarded=not public),
    }
    if operation.body is not None:
        body["requestBody"] = {"required": True, "content": {
            operation.body_content: {"schema": ref(operation.body)}}}
    return body


def _parameters(template: str, operation: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(template)
    ]
    params.extend(
        {"name": q.name, "in": "query", "required": q.required, "description": q.description,
         "schema": dict(q.schema)}
        for q in operation.query
    )
    return params


def _responses(operation: Operation, guarded: bool) -> dict[str, Any]:
    content = {ctype: ({"schema": ref(operation.response)} if operation.response else {})
               for ctype in operation.content}
    responses: dict[str, Any] = {str(operation.status): {"description": "Done",
                                                         "content": content}}
    for status, schema in operation.responses.items():
        responses[str(status)] = {"description": "See the body",
                                  "content": {"application/json": {"schema": ref(schema)}}}
    refusals = set(operation.errors) | ({401, 403, 429} if guarded else set())
    for status in sorted(refusals):
        responses[str(status)] = {"description": _ERRORS[status], "content": {
            "application/json": {"schema": ref("Error")}}}
    return responses


def _version() -> str:
    try:
        return package_version("atlas-streams")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@routes.get("/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    """Return the OpenAPI 3.1 document of this worker's API."""
    return json_response(build_document(request.app))


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    """Return the API reference as one HTML page (no script, nothing from the internet)."""
    html = render_docs(build_document(request.app))
    return web.Response(text=html, content_type="text/html", charset="utf-8")
