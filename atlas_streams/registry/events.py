"""Registry events, and how a state is rebuilt from them.

An event is a :class:`Change` plus ``state``, the model's state after the change (without
its change log, so events stay small; None after ``model_deleted``). :func:`apply` replays
an event from its own fields and ``data``, never from ``state``, so a consumer of the events
topic that folds every event through :func:`rebuild` gets the registry back, change log
included. That needs the topic to keep every event (``retention.ms=-1`` or compaction off).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .stage import Stage
from .state import Artifact, Change, EventType, Framework, Lineage, ModelState, ModelVersion

__all__ = ["Event", "apply", "rebuild"]


@dataclass(frozen=True)
class Event(Change):
    """A change to one model, with the model's resulting state as a JSON-able dict."""

    state: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the event as the JSON-able dict sent to the events topic."""
        return {**super().to_dict(), "state": None if self.state is None else dict(self.state)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Event:
        """Return the event ``to_dict`` wrote."""
        return cls(**Change.fields_from_dict(doc), state=doc.get("state"))

    def change(self) -> Change:
        """Return the event without its state snapshot, as kept in the change log."""
        fields = {name: getattr(self, name) for name in Change.__dataclass_fields__}
        return Change(**fields)


def apply(state: ModelState | None, event: Change) -> ModelState | None:
    """Return the state after ``event``: a new value; None once the model is deleted.

    Raises:
        ValueError: when the event does not follow ``state`` (wrong model, a revision
            skipped, a version that is not there): the event log is damaged.
    """
    expected = 1 if event.type is EventType.MODEL_REGISTERED else _revision(state) + 1
    if event.revision != expected:
        raise ValueError(
            f"event {event.event_id} of model {event.model!r} has revision {event.revision}, "
            f"expected {expected}; the event log is missing or repeating events"
        )
    if event.type is EventType.MODEL_REGISTERED:
        if state is not None:
            raise ValueError(f"event {event.event_id} registers {event.model!r} twice")
        return _registered(event)
    if state is None or state.name != event.model:
        raise ValueError(f"event {event.event_id} changes {event.model!r}, which does not exist")
    if event.type is EventType.MODEL_DELETED:
        return None
    return replace(
        state,
        versions={**state.versions, _version_of(event): _changed_version(state, event)},
        updated_at=event.timestamp,
        revision=event.revision,
        history=(*state.history, _as_change(event)),
    )


def _revision(state: ModelState | None) -> int:
    return 0 if state is None else state.revision


def _registered(event: Change) -> ModelState:
    return ModelState(
        name=event.model,
        description=event.data["description"],
        tags=tuple(event.data["tags"]),
        created_at=event.timestamp,
        created_by=event.actor,
        updated_at=event.timestamp,
        revision=event.revision,
        history=(_as_change(event),),
    )


def _version_of(event: Change) -> str:
    if event.version is None:
        raise ValueError(f"event {event.event_id} ({event.type.value}) names no version")
    return event.version


def _changed_version(state: ModelState, event: Change) -> ModelVersion:
    data, now = event.data, event.timestamp
    if event.type is EventType.VERSION_ADDED:
        return _added(event)
    current = state.versions.get(_version_of(event))
    if current is None:
        raise ValueError(f"event {event.event_id} changes version {event.version}, not added")
    if event.type is EventType.STAGE_CHANGED:
        if event.from_stage is not current.stage or event.to_stage is None:
            raise ValueError(f"event {event.event_id} moves {event.version} from a stage it left")
        return replace(current, stage=event.to_stage, updated_at=now)
    if event.type is EventType.METRICS_UPDATED:
        return replace(current, metrics={**current.metrics, **data["metrics"]}, updated_at=now)
    if event.type is EventType.ARTIFACT_SET:
        return replace(current, artifact=Artifact(**data["artifact"]), updated_at=now)
    raise ValueError(f"event {event.event_id} ({event.type.value}) changes no version")


def _added(event: Change) -> ModelVersion:
    data = event.data
    return ModelVersion(
        version=_version_of(event),
        framework=Framework(data["framework"]),
        stage=Stage.DEVELOPMENT,
        description=data["description"],
        parameters=data["parameters"],
        metrics=data["metrics"],
        lineage=Lineage.from_dict(data["lineage"]) if data["lineage"] else None,
        artifact=None,
        created_at=event.timestamp,
        created_by=event.actor,
        updated_at=event.timestamp,
    )


def _as_change(event: Change) -> Change:
    return event.change() if isinstance(event, Event) else event


def rebuild(events: Iterable[Event | Change]) -> dict[str, ModelState]:
    """Return every live model's state after replaying ``events`` in topic order.

    An event whose revision the model has already reached is a redelivery and is skipped, so
    at-least-once delivery rebuilds the same registry.
    """
    models: dict[str, ModelState] = {}
    for event in events:
        state = models.get(event.model)
        if _is_redelivery(state, event):
            continue
        new = apply(state, event)
        if new is None:
            del models[event.model]
        else:
            models[event.model] = new
    return models


def _is_redelivery(state: ModelState | None, event: Change) -> bool:
    if state is None:
        return event.type is EventType.MODEL_DELETED
    if event.type is EventType.MODEL_REGISTERED:
        return any(change.event_id == event.event_id for change in state.history[:1])
    return event.revision <= state.revision
