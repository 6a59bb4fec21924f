"""The registry's commands, and the checks that turn a request body into one.

:func:`parse_command` takes the decoded JSON body of a request and the model and version
named by its URL, and returns a typed command or raises :class:`Invalid` naming the field.
Unknown fields are rejected, not ignored, so a misspelt field fails loudly instead of being
dropped. ``promote_staging`` and ``promote_production`` are promotions to that stage (see
:func:`~atlas_streams.registry.stage.promotion_path`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import Invalid
from .metrics import check_metrics
from .names import check_model_name, parse_version
from .stage import Stage, parse_stage
from .state import Framework, Lineage, parse_framework

__all__ = [
    "ACTIONS",
    "LINEAGE_FIELDS",
    "AddVersion",
    "ChangeStage",
    "Command",
    "DeleteModel",
    "RegisterModel",
    "SetArtifact",
    "UpdateMetrics",
    "parse_command",
    "parse_training_range",
]

MAX_DESCRIPTION = 4000
MAX_TAGS = 32
MAX_TEXT = 256
MAX_URI = 2048
MAX_DEPTH = 16
_SHA256 = re.compile(r"[0-9a-f]{64}")
# ``profile_run_id`` is the seed's name of ``training_run_id``, still accepted.
LINEAGE_FIELDS = ("feature_group", "feature_version", "features_used", "training_dataset_id",
                  "training_run_id", "profile_run_id", "training_range", "serving_dataset_id")


@dataclass(frozen=True)
class RegisterModel:
    """Register a new model."""

    model: str
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeleteModel:
    """Delete a model and all its versions."""

    model: str


@dataclass(frozen=True)
class AddVersion:
    """Add a version to a model, in development."""

    model: str
    version: str
    framework: Framework
    description: str = ""
    parameters: Mapping[str, Any] | None = None
    metrics: Mapping[str, float] | None = None
    lineage: Lineage | None = None


@dataclass(frozen=True)
class ChangeStage:
    """Move a version to another stage; a promotion may pass through staging on the way."""

    model: str
    version: str
    stage: Stage
    promotion: bool = False


@dataclass(frozen=True)
class UpdateMetrics:
    """Merge metrics into a version's metrics, replacing those of the same name."""

    model: str
    version: str
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class SetArtifact:
    """Record the artifact uploaded for a version."""

    model: str
    version: str
    uri: str
    sha256: str
    size: int  # bytes


Command = RegisterModel | DeleteModel | AddVersion | ChangeStage | UpdateMetrics | SetArtifact
_Body = Mapping[str, Any]


def parse_command(
    action: str, body: object, *, model: str | None = None, version: str | None = None
) -> Command:
    """Return the command ``action`` asks for, checked against ``body`` and the URL's names.

    ``body`` is the decoded JSON body (None or ``{}`` when the request has none).

    Raises:
        Invalid: naming the bad field, or the actions there are.
    """
    parser = ACTIONS.get(action)
    if parser is None:
        raise Invalid(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise Invalid(f"the request body must be a JSON object; got {type(body).__name__}")
    return parser(body, model, version)


def _register(body: _Body, model: str | None, _: str | None) -> RegisterModel:
    _only(body, {"name", "description", "tags"})
    name = check_model_name(body.get("name", model))
    if model is not None and name != model:
        raise Invalid(f"name {name!r} in the body differs from {model!r} in the URL; use one")
    return RegisterModel(name, _description(body), _tags(body.get("tags", [])))


def _delete(body: _Body, model: str | None, _: str | None) -> DeleteModel:
    _only(body, set())
    return DeleteModel(check_model_name(model, "model"))


def _add_version(body: _Body, model: str | None, _: str | None) -> AddVersion:
    _only(body, {"version", "framework", "description", "parameters", "metrics", "lineage"})
    lineage = body.get("lineage")
    return AddVersion(
        model=check_model_name(model, "model"),
        version=parse_version(body.get("version")),
        framework=parse_framework(body.get("framework")),
        description=_description(body),
        parameters=_json_object(body.get("parameters", {}), "parameters"),
        metrics=check_metrics(body.get("metrics", {})),
        lineage=None if lineage is None else _lineage(lineage),
    )


def _stage_change(body: _Body, model: str | None, version: str | None) -> ChangeStage:
    _only(body, {"stage"})
    stage = parse_stage(body.get("stage"))
    return ChangeStage(check_model_name(model, "model"), parse_version(version), stage)


def _promotion(stage: Stage) -> Callable[[_Body, str | None, str | None], ChangeStage]:
    def parse(body: _Body, model: str | None, version: str | None) -> ChangeStage:
        _only(body, set())
        return ChangeStage(
            check_model_name(model, "model"), parse_version(version), stage, promotion=True
        )

    return parse


def _update_metrics(body: _Body, model: str | None, version: str | None) -> UpdateMetrics:
    metrics = check_metrics(body)
    if not metrics:
        raise Invalid("metrics: send at least one metric, e.g. {\"accuracy\": 0.93}")
    return UpdateMetrics(check_model_name(model, "model"), parse_version(version), metrics)


def _set_artifact(body: _Body, model: str | None, version: str | None) -> SetArtifact:
    _only(body, {"uri", "sha256", "size"})
    uri = _text(body.get("uri"), "uri", MAX_URI)
    if not uri:
        raise Invalid("uri must not be empty")
    sha256 = body.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        raise Invalid(f"sha256 must be 64 hexadecimal digits; got {sha256!r}")
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise Invalid(f"size must be a whole number of bytes, 0 or more; got {size!r}")
    return SetArtifact(
        check_model_name(model, "model"), parse_version(version), uri, sha256.lower(), size
    )


ACTIONS: Mapping[str, Callable[[_Body, str | None, str | None], Command]] = {
    "register_model": _register,
    "delete_model": _delete,
    "add_version": _add_version,
    "transition": _stage_change,
    "promote_staging": _promotion(Stage.STAGING),
    "promote_production": _promotion(Stage.PRODUCTION),
    "update_metrics": _update_metrics,
    "set_artifact": _set_artifact,
}


def _only(body: _Body, allowed: set[str]) -> None:
    unknown = sorted(str(key) for key in body if key not in allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "no fields"
        raise Invalid(f"unknown field(s) {', '.join(unknown)}; this request takes {expected}")


def _text(value: object, field: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string; got {value!r}")
    if len(value) > limit:
        raise Invalid(f"{field} is {len(value)} characters long; shorten it to {limit} or fewer")
    return value


def _description(body: _Body) -> str:
    return _text(body.get("description", ""), "description", MAX_DESCRIPTION)


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid(f"tags must be a list of strings; got {value!r}")
    tags = [_text(tag, "tags[]", 64).strip() for tag in value]
    if any(not tag for tag in tags):
        raise Invalid("tags must not be empty or blank")
    unique = tuple(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise Invalid(f"a model takes at most {MAX_TAGS} tags; got {len(unique)}")
    return unique


def _lineage(value: object) -> Lineage | None:
    if not isinstance(value, Mapping):
        raise Invalid(f"lineage must be an object; got {value!r}")
    _only_in(value, "lineage", set(LINEAGE_FIELDS))
    if not value:
        return None  # {} says no more than leaving lineage out
    feature_version = value.get("feature_version")
    if isinstance(feature_version, int) and not isinstance(feature_version, bool):
        feature_version = str(feature_version)  # feature stores number versions; keep one type
    features = value.get("features_used", [])
    if not isinstance(features, list):
        raise Invalid(f"lineage.features_used must be a list of strings; got {features!r}")
    dataset = _optional_text(value.get("training_dataset_id"), "lineage.training_dataset_id")
    run = _training_run(value)
    span = value.get("training_range")
    if span is not None:
        if run is not None:
            raise Invalid("lineage: give training_run_id (a snapshot) or training_range, not "
                          "both; they name the training data two ways")
        if dataset is None:
            raise Invalid("lineage.training_range needs lineage.training_dataset_id: the "
                          "dataset whose windows the range selects")
        span = parse_training_range(span)
    return Lineage(
        feature_group=_optional_text(value.get("feature_group"), "lineage.feature_group"),
        feature_version=_optional_text(feature_version, "lineage.feature_version"),
        features_used=tuple(_text(f, "lineage.features_used[]") for f in features),
        training_dataset_id=dataset,
        training_run_id=run,
        training_range=span,
        serving_dataset_id=_optional_text(value.get("serving_dataset_id"),
                                          "lineage.serving_dataset_id"),
    )


def _training_run(value: Mapping[str, Any]) -> str | None:
    """Return the training snapshot's run id: ``training_run_id``, or the seed's name of it."""
    run = _optional_text(value.get("training_run_id"), "lineage.training_run_id")
    old = _optional_text(value.get("profile_run_id"), "lineage.profile_run_id")
    if run is not None and old is not None and run != old:
        raise Invalid(f"lineage.training_run_id {run!r} and lineage.profile_run_id {old!r} "
                      "differ; profile_run_id is the older name of training_run_id, send one")
    return run if run is not None else old


def parse_training_range(value: object, field: str = "lineage.training_range") -> str:
    """Return ``"<since ISO>/<until ISO>"`` in UTC to the millisecond, as windows name times.

    A time without a zone is UTC. The range is half-open, ``since`` before ``until``.

    Raises:
        Invalid: naming ``field`` and what to send.
    """
    example = "2024-05-01T00:00:00Z/2024-05-08T00:00:00Z"
    if not isinstance(value, str) or value.count("/") != 1:
        raise Invalid(f"{field} must be \"<since ISO>/<until ISO>\", e.g. {example}; "
                      f"got {str(value)[:80]!r}")
    since, until = (_instant(text, field, example) for text in value.split("/"))
    if until <= since:
        raise Invalid(f"{field}: the range ends before it starts; got {value[:80]!r}")
    return f"{since.isoformat()}/{until.isoformat()}"


def _instant(text: str, field: str, example: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"{field}: {text[:64]!r} is not an ISO-8601 time; send e.g. "
                      f"{example}") from None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _optional_text(value: object, field: str) -> str | None:
    return None if value is None else _text(value, field)


def _only_in(value: Mapping[Any, Any], field: str, allowed: set[str]) -> None:
    try:
        _only(value, allowed)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc}") from None


def _json_object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(f"{field} must be a JSON object; got {value!r}")
    _check_json(value, field, 0)
    return dict(value)


def _check_json(value: object, field: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Invalid(f"{field} nests deeper than {MAX_DEPTH} levels; flatten it")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Invalid(f"{field}: keys must be strings; got {key!r}")
            _check_json(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{field}[{index}]", depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{field} must be a finite number; got {value!r}")
    elif isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise Invalid(f"{field} does not fit in 64 bits; send it as a string")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise Invalid(f"{field} must be JSON (object, list, string, number, bool or null)")
