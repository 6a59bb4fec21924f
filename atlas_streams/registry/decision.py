"""Decide what a command changes: check it against a model's state and return the events.

:func:`decide` is pure: the clock reading, the actor and whether a profiling run exists are
arguments. It returns events and changes nothing; the caller folds them through
:func:`~atlas_streams.registry.events.apply` to get the new state, so a refused command
leaves no half-update. Within one model timestamps never go backwards: a ``now`` earlier than
the model's last change is raised to it, so the change log is in time order.

Rules beyond the stage table: moving a version into production first archives the version
that held production (two events), so a model never has two; a promotion from development
to production is two moves (through staging), each its own event; a model with a version in
production cannot be deleted; an artifact can be set only while its version is in
development, so what was validated in staging is what ships.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .commands import (
    AddVersion,
    ChangeStage,
    Command,
    DeleteModel,
    RegisterModel,
    SetArtifact,
    UpdateMetrics,
)
from .errors import Conflict, Invalid, NotFound
from .events import Event, apply
from .names import precedence
from .stage import Stage, promotion_path, transition
from .state import EventType, ModelState

__all__ = ["decide"]

_EVENT_IDS = uuid.UUID("6f1c1e0a-3b5d-4c1e-9a57-0c2d5e8b9a10")  # uuid5 namespace of event ids


@dataclass(frozen=True)
class _Draft:
    type: EventType
    version: str | None = None
    from_stage: Stage | None = None
    to_stage: Stage | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def decide(
    state: ModelState | None,
    command: Command,
    *,
    now: datetime,
    actor: str,
    event_id: str | None = None,
    run_exists: Callable[[str], bool] | None = None,
) -> list[Event]:
    """Return the events that carry out ``command`` on ``state`` (None: no such model).

    ``now`` must be timezone-aware. ``event_id``, when given, must be unique to this command
    (e.g. its request id); events get ``<event_id>.<n>``, otherwise a uuid derived from the
    model, revision and time. ``run_exists`` checks a version's ``lineage.training_run_id``
    (or ``profile_run_id``, its older name); None skips that check.

    Raises:
        NotFound: the model or version does not exist.
        Conflict: the model or version already exists, or the stage move is not allowed.
        Invalid: the profiling run named by the lineage does not exist.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    if not actor:
        raise Invalid("actor must name who made the change")
    if state is not None and state.name != command.model:
        raise ValueError(f"command for {command.model!r} was given the state of {state.name!r}")
    drafts = _drafts(state, command, run_exists)
    timestamp = _timestamp(now, state)
    events: list[Event] = []
    current = state
    for index, draft in enumerate(drafts):
        revision = 1 if draft.type is EventType.MODEL_REGISTERED else _revision(current) + 1
        event = Event(
            event_id=_event_id(event_id, index, command.model, revision, timestamp),
            type=draft.type,
            model=command.model,
            version=draft.version,
            from_stage=draft.from_stage,
            to_stage=draft.to_stage,
            actor=actor,
            timestamp=timestamp,
            revision=revision,
            data=draft.data,
        )
        current = apply(current, event)
        events.append(
            Event(**vars(event.change()), state=current.to_dict(history=False) if current else None)
        )
    return events


def _drafts(
    state: ModelState | None, command: Command, run_exists: Callable[[str], bool] | None
) -> list[_Draft]:
    if isinstance(command, RegisterModel):
        return _register(state, command)
    model = _existing(state, command.model)
    if isinstance(command, DeleteModel):
        return _delete(model)
    if isinstance(command, AddVersion):
        return _add_version(model, command, run_exists)
    if isinstance(command, ChangeStage):
        return _change_stage(model, command)
    if isinstance(command, UpdateMetrics):
        return _update_metrics(model, command)
    return _set_artifact(model, command)


def _existing(state: ModelState | None, name: str) -> ModelState:
    if state is None:
        raise NotFound(f"model {name!r} does not exist; register it first")
    return state


def _register(state: ModelState | None, command: RegisterModel) -> list[_Draft]:
    if state is not None:
        raise Conflict(
            f"model {command.model!r} already exists; choose another name or delete it first"
        )
    data = {"description": command.description, "tags": list(command.tags)}
    return [_Draft(EventType.MODEL_REGISTERED, data=data)]


def _delete(model: ModelState) -> list[_Draft]:
    serving = model.production_version()
    if serving is not None:
        raise Conflict(
            f"model {model.name!r} has version {serving.version} in production; "
            "archive it before deleting the model"
        )
    return [_Draft(EventType.MODEL_DELETED)]


def _add_version(
    model: ModelState, command: AddVersion, run_exists: Callable[[str], bool] | None
) -> list[_Draft]:
    key = precedence(command.version)
    twin = next((v for v in model.versions if precedence(v) == key), None)
    if twin is not None:
        same = "already exists" if twin == command.version else f"ranks the same as {twin}"
        raise Conflict(
            f"version {command.version} of model {model.name!r} {same}; versions are unique "
            "by semver precedence (build metadata does not count), so bump the version"
        )
    run = command.lineage.training_run_id if command.lineage else None
    if run is not None and run_exists is not None and not run_exists(run):
        raise Invalid(
            f"lineage.training_run_id (or profile_run_id) {run!r} names no profiling run; "
            "profile the training data first or leave the field out"
        )
    data = {
        "framework": command.framework.value,
        "description": command.description,
        "parameters": dict(command.parameters or {}),
        "metrics": dict(command.metrics or {}),
        "lineage": command.lineage.to_dict() if command.lineage else None,
    }
    return [_Draft(EventType.VERSION_ADDED, command.version, None, Stage.DEVELOPMENT, data)]


def _change_stage(model: ModelState, command: ChangeStage) -> list[_Draft]:
    version = model.get_version(command.version)
    if command.promotion:
        path = promotion_path(version.stage, command.stage)
    else:
        path = (transition(version.stage, command.stage),)
    drafts = []
    serving = model.production_version()
    stage = version.stage
    for target in path:  # one event per move, so the history shows the path taken
        if target is Stage.PRODUCTION and serving is not None:
            archived = transition(Stage.PRODUCTION, Stage.ARCHIVED)
            drafts.append(
                _Draft(EventType.STAGE_CHANGED, serving.version, Stage.PRODUCTION, archived)
            )
        drafts.append(_Draft(EventType.STAGE_CHANGED, version.version, stage, target))
        stage = target
    return drafts


def _update_metrics(model: ModelState, command: UpdateMetrics) -> list[_Draft]:
    version = model.get_version(command.version)
    data = {"metrics": dict(command.metrics)}
    return [_Draft(EventType.METRICS_UPDATED, version.version, data=data)]


def _set_artifact(model: ModelState, command: SetArtifact) -> list[_Draft]:
    version = model.get_version(command.version)
    if version.stage is not Stage.DEVELOPMENT:
        raise Conflict(
            f"version {version.version} of model {model.name!r} is in {version.stage.value}; "
            "artifacts can be set only in development, so add a new version for a new artifact"
        )
    artifact = {"uri": command.uri, "sha256": command.sha256, "size": command.size}
    return [_Draft(EventType.ARTIFACT_SET, version.version, data={"artifact": artifact})]


def _revision(state: ModelState | None) -> int:
    return 0 if state is None else state.revision


def _timestamp(now: datetime, state: ModelState | None) -> str:
    moment = now.astimezone(UTC)
    if state is not None:
        moment = max(moment, datetime.fromisoformat(state.updated_at))
    return moment.isoformat(timespec="microseconds")


def _event_id(given: str | None, index: int, model: str, revision: int, timestamp: str) -> str:
    if given is not None:
        return f"{given}.{index}"
    return str(uuid.uuid5(_EVENT_IDS, f"{model}\n{revision}\n{timestamp}"))


