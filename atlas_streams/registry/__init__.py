"""The model registry's pure domain: commands in, events out, states rebuilt from events.

The agent's loop for one command::

    command = parse_command(action, body, model=name, version=version)
    events = decide(state, command, now=now, actor=actor)
    for event in events:
        state = apply(state, event)
    # store state.to_bytes() (or delete the key when state is None), emit event.to_dict()

Nothing here imports faust or aiohttp, reads the clock or does I/O.
"""

from __future__ import annotations

from .commands import (
    ACTIONS,
    LINEAGE_FIELDS,
    AddVersion,
    ChangeStage,
    Command,
    DeleteModel,
    RegisterModel,
    SetArtifact,
    UpdateMetrics,
    parse_command,
)
from .decision import decide
from .errors import Conflict, IllegalTransition, Invalid, NotFound, RegistryError
from .events import Event, apply, rebuild
from .metrics import MetricComparison, MetricDelta, MetricFilter, parse_metric_filter
from .names import check_model_name, parse_version, precedence
from .queries import (
    SearchHit,
    compare,
    export,
    history,
    latest,
    production,
    search,
    summarize,
)
from .stage import ALLOWED_TRANSITIONS, Stage, parse_stage, promotion_path, transition
from .state import (
    Artifact,
    Change,
    EventType,
    Framework,
    Lineage,
    ModelState,
    ModelVersion,
    parse_framework,
)

__all__ = [
    "ACTIONS",
    "ALLOWED_TRANSITIONS",
    "LINEAGE_FIELDS",
    "AddVersion",
    "Artifact",
    "Change",
    "ChangeStage",
    "Command",
    "Conflict",
    "DeleteModel",
    "Event",
    "EventType",
    "Framework",
    "IllegalTransition",
    "Invalid",
    "Lineage",
    "MetricComparison",
    "MetricDelta",
    "MetricFilter",
    "ModelState",
    "ModelVersion",
    "NotFound",
    "RegisterModel",
    "RegistryError",
    "SearchHit",
    "SetArtifact",
    "Stage",
    "UpdateMetrics",
    "apply",
    "check_model_name",
    "compare",
    "decide",
    "export",
    "history",
    "latest",
    "parse_command",
    "parse_framework",
    "parse_metric_filter",
    "parse_stage",
    "parse_version",
    "precedence",
    "production",
    "promotion_path",
    "rebuild",
    "search",
    "summarize",
    "transition",
]
