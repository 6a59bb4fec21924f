"""The API document is built from the served routes and cannot fall behind them."""

from __future__ import annotations

from typing import Any, cast

import jsonschema_rs
import pytest

from atlas_streams.rbac import ENDPOINT_PERMISSIONS, PUBLIC_ENDPOINTS
from atlas_streams.runtime import Atlas
from atlas_streams.web.docs_page import render_docs
from atlas_streams.web.openapi import build_document, served_routes
from atlas_streams.web.operations import OPERATIONS
from atlas_streams.web.server import build_application


@pytest.fixture(scope="module")
def application() -> Any:
    return build_application(cast(Atlas, object()), [])


@pytest.fixture(scope="module")
def document(application: Any) -> dict[str, Any]:
    return build_document(application)


def test_every_served_route_has_one_access_rule_and_one_operation(application: Any) -> None:
    served = set(served_routes(application))
    assert served == set(OPERATIONS), "operations.py and the router disagree"
    assert served == set(ENDPOINT_PERMISSIONS) | PUBLIC_ENDPOINTS, "rbac/endpoints.py disagrees"


def test_the_document_lists_exactly_the_served_routes(
    application: Any, document: dict[str, Any]
) -> None:
    documented = {(m.upper(), path) for path, ops in document["paths"].items() for m in ops}
    assert documented == set(served_routes(application))


def test_a_route_served_without_an_operation_fails_the_build(application: Any) -> None:
    from aiohttp import web

    async def undocumented(request: web.Request) -> web.Response:
        return web.Response()

    app = build_application(cast(Atlas, object()), [])
    app.router.add_get("/not-in-the-table", undocumented)
    with pytest.raises(KeyError, match="GET /not-in-the-table is served but has no operation"):
        build_document(app)


def test_guarded_operations_declare_the_key_and_their_refusals(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            guard = ENDPOINT_PERMISSIONS.get((method.upper(), path))
            if guard is None:
                assert op["security"] == [] and "401" not in op["responses"], (method, path)
                continue
            assert op["security"] == [{"ApiKey": []}]
            assert f"`{guard.permission}`" in op["description"]
            for status in ("401", "403"):
                error = op["responses"][status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}


def test_path_parameters_match_the_template(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        for op in ops.values():
            names = [p["name"] for p in op["parameters"] if p["in"] == "path"]
            assert [f"{{{n}}}" for n in names] == [s for s in path.split("/") if s.startswith("{")]


def test_every_schema_is_valid_json_schema_and_every_reference_resolves(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
        assert name
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs and all(r.rsplit("/", 1)[-1] in schemas for r in refs)


def test_the_error_schema_matches_the_one_error_shape() -> None:
    from atlas_streams.web.schemas import SCHEMAS

    validator = jsonschema_rs.Draft202012Validator(dict(SCHEMAS["Error"]))
    assert validator.is_valid({"error": "model 'x' does not exist", "status": 404})
    assert validator.is_valid({"error": "bad", "status": 422, "field": "roles"})
    assert not validator.is_valid({"detail": "bad"})


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_docs_page_renders_every_operation_and_loads_nothing_from_outside(
    document: dict[str, Any],
) -> None:
    html = render_docs(document)
    for path in document["paths"]:
        assert f"<code>{path}</code>" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html.replace(
        document["jsonSchemaDialect"], "")
