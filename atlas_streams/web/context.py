"""What a request handler gets besides the request: the app, and the caller's access."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from atlas_streams.runtime import Atlas

__all__ = ["ATLAS", "Access", "view_report"]

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
