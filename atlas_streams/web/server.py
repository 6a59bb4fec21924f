"""The web view: one aiohttp application per worker, started by Faust after table recovery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from mode import Service

from atlas_streams.registry import RegistryError
from atlas_streams.runtime import Atlas
from atlas_streams.web import (
    auth,
    catalog,
    dashboard,
    metrics,
    models,
    openapi,
    rbac,
    windows,
)
from atlas_streams.web.context import ATLAS
from atlas_streams.web.errors import HttpError, json_error, json_response, registry_status
from atlas_streams.web.floods import FailureSummary
from atlas_streams.web.hygiene import JsonErrorRunner, hygiene
from atlas_streams.web.reports import ReportCache
from atlas_streams.web.telemetry import observe_requests

__all__ = ["WebView", "build_application"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576  # JSON bodies; artifact uploads stream past this limit
RUNNER_CLEANUP_SECONDS = 3.0  # a stopping worker gives open requests this long
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def health(request: web.Request) -> web.Response:
    """Answer 200 once the worker has joined, recovered its tables and is processing."""
    app = request.app[ATLAS].app
    if app.rebalancing or not app.tables.recovery.completed.is_set():
        return json_response({"status": "recovering"}, status=503)
    return json_response({"status": "ok"})


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every refusal into a JSON body; log and hide anything unexpected."""
    try:
        return await handler(request)
    except HttpError as exc:
        return json_error(exc.status, exc.message, **exc.extra)
    except RegistryError as exc:  # the registry's typed refusals, wherever a handler meets them
        return json_error(registry_status(exc), str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = {404: "no such endpoint", 405: "method not allowed on this endpoint",
                  413: "request body too large"}.get(exc.status, exc.reason)
        return json_error(exc.status, reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; the worker log has the details")


def build_application(atlas: Atlas, middlewares: list[Any]) -> web.Application:
    """Return the aiohttp application with every route of the web view."""
    application = web.Application(
        middlewares=[observe_requests, hygiene, errors_as_json, *middlewares],
        client_max_size=MAX_BODY_BYTES,
    )
    application[ATLAS] = atlas
    application[catalog.REPORTS] = ReportCache()
    application.router.add_get("/health", health)
    application.router.add_routes(catalog.routes)
    application.router.add_routes(windows.routes)
    application.router.add_routes(rbac.routes)
    application.router.add_routes(dashboard.routes)
    application.router.add_routes(models.routes)
    application.router.add_routes(openapi.routes)
    application.router.add_routes(metrics.routes)
    return application


class WebView(Service):
    """Serve the web view on the configured host and port while the worker runs.

    The audit trail's shipper and reader run as its dependencies: they start before it serves
    and stop after it stopped answering, so the last decisions reach the outbox first.
    """

    def __init__(self, atlas: Atlas, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.atlas = atlas
        self.failures = FailureSummary(atlas.trail.record)
        self._runner: web.AppRunner | None = None

    def on_init_dependencies(self) -> list[Service]:
        """Return the services that run with the web view."""
        return [self.atlas.trail.shipper, self.atlas.trail.reader]

    async def on_start(self) -> None:
        """Bind the HTTP port and start answering."""
        settings = self.atlas.settings
        application = build_application(self.atlas, auth.middlewares(self.atlas, self.failures))
        self._runner = JsonErrorRunner(application, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, settings.web_host, settings.web_port).start()
        log.info("web view on http://%s:%d", settings.web_host, settings.web_port)

    @Service.task
    async def _summarise_failures(self) -> None:
        interval = self.atlas.settings.auth_summary_seconds
        while not self.should_stop:
            await self.sleep(interval)
            self.failures.flush()

    async def on_stop(self) -> None:
        """Stop answering and close the port; record the failed authentications counted."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            try:
                await asyncio.wait_for(runner.cleanup(), RUNNER_CLEANUP_SECONDS)
            except TimeoutError:
                log.warning("web view: open requests did not finish in %.0f s; closed anyway",
                            RUNNER_CLEANUP_SECONDS)
        self.failures.flush()

    async def on_shutdown(self) -> None:
        """Close the trail's databases once its services have stopped."""
        self.atlas.trail.close()
