"""A model's state: its versions, their stages, metrics, lineage and artifact, and its change log.

States are values: nothing here mutates one, :func:`atlas_streams.registry.events.apply`
returns a new state for each event. ``to_bytes`` is what the registry table stores: a leading
format byte then JSON (never pickle), so a later release can still read what this one wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from .errors import Invalid, NotFound
from .names import precedence
from .stage import Stage

__all__ = [
    "FORMAT_VERSION",
    "Artifact",
    "Change",
    "EventType",
    "Framework",
    "Lineage",
    "ModelState",
    "ModelVersion",
    "parse_framework",
]

FORMAT_VERSION = 1


class Framework(StrEnum):
    """The framework a model version was trained with."""

    SKLEARN = "sklearn"
    PYTORCH = "pytorch"
    TENSORFLOW = "tensorflow"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    CATBOOST = "catboost"
    ONNX = "onnx"
    CUSTOM = "custom"


def parse_framework(value: object, field: str = "framework") -> Framework:
    """Return the framework named by ``value``.

    Raises:
        Invalid: naming ``field`` and the frameworks there are.
    """
    if isinstance(value, str) and value in {framework.value for framework in Framework}:
        return Framework(value)
    names = ", ".join(framework.value for framework in Framework)
    raise Invalid(f"{field} must be one of {names}; got {value!r}")


class EventType(StrEnum):
    """The kind of change an event records."""

    MODEL_REGISTERED = "model_registered"
    MODEL_DELETED = "model_deleted"
    VERSION_ADDED = "version_added"
    STAGE_CHANGED = "stage_changed"
    METRICS_UPDATED = "metrics_updated"
    ARTIFACT_SET = "artifact_set"


@dataclass(frozen=True)
class Lineage:
    """Where a version's training data came from; every field is optional (None: not given).

    The platform we replace documents lineage as ``feature_group``, ``feature_version`` and
    ``features_used`` alone, so no field is required; ``features_used`` is empty when not given.
    The training data is ``training_dataset_id`` with at most one of ``training_run_id`` (a
    profile snapshot of it; the seed called it ``profile_run_id``, and ``to_dict`` still shows
    it under that name too) and ``training_range`` (``"<since ISO>/<until ISO>"``, its windows
    in that range). ``serving_dataset_id`` names the live stream skew is measured on (None:
    the training dataset).
    """

    feature_group: str | None = None
    feature_version: str | None = None
    features_used: tuple[str, ...] = ()
    training_dataset_id: str | None = None
    training_run_id: str | None = None
    training_range: str | None = None
    serving_dataset_id: str | None = None

    @property
    def profile_run_id(self) -> str | None:
        """The seed's name of ``training_run_id``."""
        return self.training_run_id

    @property
    def serving_dataset(self) -> str | None:
        """The dataset skew is measured on: ``serving_dataset_id``, else the training dataset."""
        return self.serving_dataset_id or self.training_dataset_id

    def to_dict(self) -> dict[str, Any]:
        """Return the lineage as a JSON-able dict, every field present (``profile_run_id`` too)."""
        return {**vars(self), "features_used": list(self.features_used),
                "profile_run_id": self.training_run_id}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Lineage:
        """Return the lineage ``to_dict`` wrote (of this or an earlier release).

        Earlier releases wrote the training run as ``profile_run_id`` alone.
        """
        fields = {key: value for key, value in doc.items() if key != "profile_run_id"}
        run = doc.get("training_run_id") or doc.get("profile_run_id")
        return cls(**{**fields, "training_run_id": run,
                      "features_used": tuple(doc.get("features_used") or ())})


@dataclass(frozen=True)
class Artifact:
    """Where a version's model file is stored, with the digest and size to check it against."""

    uri: str
    sha256: str
    size: int  # bytes


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model; ``parameters`` and ``metrics`` are never mutated."""

    version: str
    framework: Framework
    stage: Stage
    description: str
    parameters: Mapping[str, Any]
    metrics: Mapping[str, float]
    lineage: Lineage | None
    artifact: Artifact | None
    created_at: str
    created_by: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """Return the version as a JSON-able dict."""
        return {
            **vars(self),
            "framework": self.framework.value,
            "stage": self.stage.value,
            "parameters": dict(self.parameters),
            "metrics": dict(self.metrics),
            "lineage": self.lineage.to_dict() if self.lineage else None,
            "artifact": vars(self.artifact) if self.artifact else None,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ModelVersion:
        """Return the version ``to_dict`` wrote."""
        return cls(
            **{
                **doc,
                "framework": Framework(doc["framework"]),
                "stage": Stage(doc["stage"]),
                "lineage": Lineage.from_dict(doc["lineage"]) if doc["lineage"] else None,
                "artifact": Artifact(**doc["artifact"]) if doc["artifact"] else None,
            }
        )


@dataclass(frozen=True)
class Change:
    """One entry of a model's change log: an event without the state snapshot it carries.

    ``revision`` counts the model's changes from 1 (its registration); ``data`` holds what
    the change set (the version added, the metrics merged, the artifact recorded).
    """

    event_id: str
    type: EventType
    model: str
    version: str | None
    from_stage: Stage | None
    to_stage: Stage | None
    actor: str
    timestamp: str  # ISO-8601, UTC
    revision: int
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-able dict."""
        return {
            "event_id": self.event_id,
            "type": self.type.value,
            "model": self.model,
            "version": self.version,
            "from_stage": self.from_stage.value if self.from_stage else None,
            "to_stage": self.to_stage.value if self.to_stage else None,
            "actor": self.actor,
            "timestamp": self.timestamp,
            "revision": self.revision,
            "data": dict(self.data),
        }

    @staticmethod
    def fields_from_dict(doc: Mapping[str, Any]) -> dict[str, Any]:
        """Return the constructor arguments of the change ``to_dict`` wrote."""
        return {
            "event_id": doc["event_id"],
            "type": EventType(doc["type"]),
            "model": doc["model"],
            "version": doc["version"],
            "from_stage": Stage(doc["from_stage"]) if doc["from_stage"] else None,
            "to_stage": Stage(doc["to_stage"]) if doc["to_stage"] else None,
            "actor": doc["actor"],
            "timestamp": doc["timestamp"],
            "revision": doc["revision"],
            "data": doc["data"],
        }


@dataclass(frozen=True)
class ModelState:
    """A registered model: its versions (in the order added) and its change log."""

    name: str
    description: str
    tags: tuple[str, ...]
    created_at: str
    created_by: str
    updated_at: str
    revision: int
    versions: Mapping[str, ModelVersion] = field(default_factory=dict)
    history: tuple[Change, ...] = ()

    def get_version(self, version: str) -> ModelVersion:
        """Return the version named ``version``.

        Raises:
            NotFound: naming the model's versions to pick from.
        """
        try:
            return self.versions[version]
        except KeyError:
            known = ", ".join(self.versions_by_precedence()) or "none yet"
            raise NotFound(
                f"model {self.name!r} has no version {version!r}; its versions are: {known}"
            ) from None

    def versions_by_precedence(self) -> list[str]:
        """Return the version strings, highest semver precedence first."""
        return sorted(self.versions, key=precedence, reverse=True)

    def latest_version(self) -> ModelVersion | None:
        """Return the version of highest semver precedence, if any."""
        ordered = self.versions_by_precedence()
        return self.versions[ordered[0]] if ordered else None

    def production_version(self) -> ModelVersion | None:
        """Return the version in production, if any."""
        return next((v for v in self.versions.values() if v.stage is Stage.PRODUCTION), None)

    def to_dict(self, history: bool = True) -> dict[str, Any]:
        """Return the state as a JSON-able dict, with or without the change log."""
        doc: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "revision": self.revision,
            "versions": [v.to_dict() for v in self.versions.values()],
        }
        if history:
            doc["history"] = [change.to_dict() for change in self.history]
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ModelState:
        """Return the state ``to_dict`` wrote; a dict without history gets an empty log."""
        versions = [ModelVersion.from_dict(v) for v in doc["versions"]]
        return cls(
            name=doc["name"],
            description=doc["description"],
            tags=tuple(doc["tags"]),
            created_at=doc["created_at"],
            created_by=doc["created_by"],
            updated_at=doc["updated_at"],
            revision=doc["revision"],
            versions={v.version: v for v in versions},
            history=tuple(Change(**Change.fields_from_dict(c)) for c in doc.get("history", [])),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the HTTP view: the state without its log, versions highest first."""
        latest, production = self.latest_version(), self.production_version()
        return {
            **self.to_dict(history=False),
            "versions": [self.versions[v].to_dict() for v in self.versions_by_precedence()],
            "latest": latest.version if latest else None,
            "production": production.version if production else None,
        }

    def to_bytes(self) -> bytes:
        """Return the state encoded for the registry table: a format byte, then JSON."""
        return bytes([FORMAT_VERSION]) + orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelState:
        """Return the state ``to_bytes`` wrote.

        Raises:
            ValueError: when the bytes are empty or of a format this release cannot read.
        """
        if not data or data[0] != FORMAT_VERSION:
            found = data[0] if data else "nothing"
            raise ValueError(
                f"registry state has format {found}, this release reads format "
                f"{FORMAT_VERSION}; upgrade atlas-streams or rebuild the table from the topic"
            )
        return cls.from_dict(orjson.loads(data[1:]))
