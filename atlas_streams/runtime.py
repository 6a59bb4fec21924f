"""The handles of a wired worker that the web view and the CLI use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from atlas_streams.agents.discovery import DatasetDiscovery
from atlas_streams.agents.trail import AuditTrail
from atlas_streams.metrics import WorkerMetrics
from atlas_streams.profiling import ProfileOptions
from atlas_streams.settings import Secrets, Settings
from atlas_streams.tables.access import AccessTables
from atlas_streams.tables.catalog import CatalogTables

__all__ = ["Atlas"]


@dataclass(frozen=True)
class Atlas:
    """A wired app and the tables and agents the web view reads and asks."""

    app: faust.App
    settings: Settings
    options: ProfileOptions
    catalog: CatalogTables
    discovery: DatasetDiscovery
    snapshot_agent: Any  # faust agent; answers ``ask`` with {"ok": bool, ...}
    access: AccessTables
    user_agent: Any  # faust agent; answers ``ask`` with {"ok": bool, "user"|"error": ...}
    secrets: Secrets
    trail: AuditTrail  # records decisions on this worker, answers access-log queries
    registry: Any = None  # tables.registry.RegistryTables: model states, every worker
    registry_agent: Any = None  # faust agent; answers ``ask`` (see agents/registry.py)
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
