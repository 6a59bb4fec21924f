"""Which permission every endpoint of the web view needs: one table to audit at a glance.

Keys are ``(METHOD, route template)`` exactly as aiohttp writes the template; the value names
the one permission the caller must hold and, when a route parameter names a dataset, that
parameter so the dataset allow/deny lists are checked too. :data:`PUBLIC_ENDPOINTS` are the
routes that need no key (health, the dashboard's shell page and its static assets, the API
document and its page): they carry no data, and a browser loads them before it has a key. A
route in neither table is refused (deny by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ENDPOINT_PERMISSIONS", "PUBLIC_ENDPOINTS", "Guard", "guard_for", "is_public"]


@dataclass(frozen=True)
class Guard:
    """The permission a route needs, and the route parameter that names a dataset, if any.

    ``dataset_decides`` False keeps the dataset in the audit without refusing the request on
    it: ``check-dataset-access`` answers ``allowed: false`` for a denied dataset instead.
    """

    permission: str
    dataset_param: str | None = None
    dataset_decides: bool = True


# fmt: off
ENDPOINT_PERMISSIONS: Mapping[tuple[str, str], Guard] = MappingProxyType({
    # dashboard and catalog (profiles)
    ("GET", "/dashboard/data"):                               Guard("catalog:read"),
    ("GET", "/catalog/stored-datasets"):                      Guard("catalog:read"),
    ("GET", "/catalog/datasets/{dataset_id}/profile"):        Guard("catalog:read", "dataset_id"),
    ("POST", "/catalog/datasets/{dataset_id}/profile"):       Guard("catalog:write", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/snapshots"):      Guard("catalog:read", "dataset_id"),
    ("PUT", "/catalog/datasets/{dataset_id}/windowing"):      Guard("catalog:write", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/windowing"):      Guard("catalog:read", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/windows"):        Guard("catalog:read", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/windows/{start}"): Guard("catalog:read", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/drift"):          Guard("catalog:read", "dataset_id"),
    ("PUT", "/catalog/datasets/{dataset_id}/monitor"):        Guard("catalog:write", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/monitor"):        Guard("catalog:read", "dataset_id"),
    ("GET", "/catalog/datasets/{dataset_id}/drift-events"):   Guard("catalog:read", "dataset_id"),
    ("GET", "/catalog/profile/by-run/{run_id}"):              Guard("catalog:read"),
    ("POST", "/catalog/profile/by-run/{run_id}"):             Guard("catalog:read"),  # a read
    # operations
    ("GET", "/metrics"):                                      Guard("monitoring:read"),
    # access control: introspection
    ("GET", "/rbac/roles"):                                   Guard("rbac:read"),
    ("GET", "/rbac/permissions"):                             Guard("rbac:read"),
    ("GET", "/rbac/my-permissions"):                          Guard("rbac:read"),
    ("GET", "/rbac/check-permission/{permission}"):           Guard("rbac:read"),
    ("GET", "/rbac/check-dataset-access/{dataset}"):          Guard("rbac:read", "dataset", False),
    # access control: administration
    ("POST", "/rbac/users"):                                  Guard("admin:users"),
    ("GET", "/rbac/users"):                                   Guard("admin:users"),
    ("GET", "/rbac/users/{user_id}"):                         Guard("admin:users"),
    ("DELETE", "/rbac/users/{user_id}"):                      Guard("admin:users"),
    ("PUT", "/rbac/users/{user_id}/roles"):                   Guard("admin:roles"),
    ("PUT", "/rbac/users/{user_id}/dataset-access"):          Guard("admin:users"),
    ("PUT", "/rbac/users/{user_id}/column-masking"):          Guard("admin:users"),
    ("POST", "/rbac/users/{user_id}/rotate-key"):             Guard("admin:keys"),
    ("GET", "/rbac/access-logs"):                             Guard("admin:audit"),
    ("GET", "/rbac/access-logs/denied"):                      Guard("admin:audit"),
    ("GET", "/rbac/audit/verify"):                            Guard("admin:audit"),
    # model registry: reads
    ("GET", "/models/"):                                      Guard("models:read"),
    ("GET", "/models/search"):                                Guard("models:read"),
    ("GET", "/models/{name}"):                                Guard("models:read"),
    ("GET", "/models/{name}/versions"):                       Guard("models:read"),
    ("GET", "/models/{name}/versions/{version}"):             Guard("models:read"),
    ("GET", "/models/{name}/versions/{version}/skew"):        Guard("models:read"),
    ("GET", "/models/{name}/latest"):                         Guard("models:read"),
    ("GET", "/models/{name}/production"):                     Guard("models:read"),
    ("GET", "/models/{name}/compare"):                        Guard("models:read"),
    ("POST", "/models/{name}/compare"):                       Guard("models:read"),
    ("GET", "/models/{name}/history"):                        Guard("models:read"),
    ("GET", "/models/{name}/export"):                         Guard("models:export"),
    ("GET", "/models/{name}/versions/{version}/artifact"):    Guard("models:export"),
    # model registry: writes
    ("POST", "/models/register"):                             Guard("models:write"),
    ("POST", "/models/{name}/versions"):                      Guard("models:write"),
    ("PUT", "/models/{name}/versions/{version}/metrics"):     Guard("models:write"),
    ("PUT", "/models/{name}/versions/{version}/artifact"):    Guard("models:write"),
    ("DELETE", "/models/{name}"):                             Guard("models:delete"),
    ("POST", "/models/{name}/versions/{version}/transition"):  Guard("models:transition"),
    ("POST", "/models/{name}/versions/{version}/promote-staging"):    Guard("models:promote"),
    ("POST", "/models/{name}/versions/{version}/promote-production"): Guard("models:promote"),
})
# fmt: on

PUBLIC_ENDPOINTS: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/health"),
    ("GET", "/"),  # the dashboard's shell: it asks for a key, then fetches data with it
    ("GET", "/favicon.ico"),
    ("GET", "/assets/{name}"),  # the dashboard's script and styles
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
})


def _verb(method: str) -> str:
    # HEAD is answered by the GET handler in aiohttp, so it is guarded as GET.
    verb = method.upper()
    return "GET" if verb == "HEAD" else verb


def guard_for(method: str, template: str) -> Guard | None:
    """Return the guard of a route, or None when the route is public or unknown.

    ``HEAD`` is looked up as ``GET`` because aiohttp answers it with the GET handler. Tell a
    public route from an unknown one with :func:`is_public`; refuse unknown ones.
    """
    return ENDPOINT_PERMISSIONS.get((_verb(method), template))


def is_public(method: str, template: str | None) -> bool:
    """Return whether a route needs no key (``HEAD`` as ``GET``)."""
    return template is not None and (_verb(method), template) in PUBLIC_ENDPOINTS
