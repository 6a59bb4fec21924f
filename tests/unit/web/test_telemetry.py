"""Every request is counted by route template and status, and logged once without its key."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest

from atlas_streams.metrics import WorkerMetrics
from atlas_streams.web.context import ATLAS
from atlas_streams.web.errors import HttpError
from atlas_streams.web.server import errors_as_json
from atlas_streams.web.telemetry import ACCESS_LOGGER, observe_requests


@web.middleware
async def fake_auth(request: web.Request, handler):  # type: ignore[no-untyped-def]
    request["audit_reason"] = "granted" if request.headers.get("X-API-Key") else "missing key"
    request["principal"] = SimpleNamespace(user_id="admin-001")
    request["request_id"] = "req-7"
    return await handler(request)


async def model(request: web.Request) -> web.Response:
    if request.match_info["name"] == "absent":
        raise HttpError(404, "model 'absent' does not exist")
    return web.json_response({"name": request.match_info["name"]})


# The web view keeps its per-request values under string keys (aiohttp 3.14 suggests RequestKey).
@pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")
async def test_requests_are_counted_by_template_and_logged_without_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = WorkerMetrics()
    app = web.Application(middlewares=[observe_requests, errors_as_json, fake_auth])
    app[ATLAS] = SimpleNamespace(metrics=metrics)  # type: ignore[assignment]
    app.router.add_get("/models/{name}", model)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    async with TestClient(TestServer(app)) as client:
        for name in ("churn", "fraud", "absent"):
            response = await client.get(f"/models/{name}?q=secret",
                                        headers={"X-API-Key": "atlas-admin-key"})
            await response.read()
        assert (await client.get("/nowhere")).status == 404
    text = generate_latest(metrics.registry).decode()
    assert 'atlas_http_requests_total{method="GET",route="/models/{name}",status="200"} 2.0' in text
    assert 'atlas_http_requests_total{method="GET",route="/models/{name}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'atlas_http_request_duration_seconds_count{method="GET",route="/models/{name}"} 3.0' in text
    assert 'atlas_audit_decisions_total{decision="allowed",reason="granted"} 3.0' in text
    lines = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 4
    first = lines[0]
    assert (first.method, first.path, first.route, first.status) == (
        "GET", "/models/churn", "/models/{name}", 200)
    assert first.request_id == "req-7" and first.user_id == "admin-001"
    assert first.duration_ms >= 0 and first.bytes is not None
    logged = "\n".join(r.getMessage() + str(vars(r)) for r in lines)
    assert "atlas-admin-key" not in logged and "secret" not in logged
