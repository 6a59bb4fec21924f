"""TEMPORARY development stub: replaced by the RBAC middleware before commit."""
from __future__ import annotations
from typing import Any
from aiohttp import web

class _All:
    def can_see_dataset(self, dataset: str) -> bool:
        return True
    def mask_report(self, dataset: str, report: dict[str, Any]) -> dict[str, Any]:
        return report

def middlewares(atlas: Any) -> list[Any]:
    @web.middleware
    async def allow(request: web.Request, handler: Any) -> web.StreamResponse:
        request["access"] = _All()
        return await handler(request)
    return [allow]
