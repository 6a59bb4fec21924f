"""Read-only questions about registered models: summaries, lookups, comparison, search, history.

Every function takes states and returns values or JSON-able dicts; none changes a state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import Invalid, NotFound
from .metrics import MetricComparison, compare_metrics, parse_metric_filter
from .stage import Stage, parse_stage
from .state import EventType, ModelState, ModelVersion, parse_framework

__all__ = [
    "SearchHit",
    "compare",
    "export",
    "history",
    "latest",
    "production",
    "search",
    "summarize",
]

EXPORT_FORMAT = 1


def summarize(models: Iterable[ModelState]) -> list[dict[str, Any]]:
    """Return one summary per model, by name, naming its latest and production versions."""
    summaries = []
    for model in sorted(models, key=lambda m: m.name):
        top, serving = model.latest_version(), model.production_version()
        summaries.append({
            "name": model.name,
            "description": model.description,
            "tags": list(model.tags),
            "versions": len(model.versions),
            "latest": top.version if top else None,
            "production": serving.version if serving else None,
            "updated_at": model.updated_at,
        })
    return summaries


def latest(model: ModelState) -> ModelVersion:
    """Return the version of highest semver precedence.

    Raises:
        NotFound: the model has no versions yet.
    """
    top = model.latest_version()
    if top is None:
        raise NotFound(f"model {model.name!r} has no versions yet; add one first")
    return top


def production(model: ModelState) -> ModelVersion:
    """Return the version in production.

    Raises:
        NotFound: no version is in production.
    """
    serving = model.production_version()
    if serving is None:
        raise NotFound(
            f"model {model.name!r} has no version in production; promote one with POST "
            f"/models/{model.name}/versions/<version>/promote-production"
        )
    return serving


def compare(model: ModelState, version_a: str, version_b: str) -> MetricComparison:
    """Compare the metrics of two versions: ``a - b`` and ``(a - b) / |b|`` per metric.

    Raises:
        NotFound: either version does not exist.
    """
    return compare_metrics(
        model.get_version(version_a).metrics, model.get_version(version_b).metrics
    )


@dataclass(frozen=True)
class SearchHit:
    """A model that matched a search, with its matching versions, highest first."""

    model: str
    description: str
    tags: tuple[str, ...]
    versions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the hit as a JSON-able dict."""
        return {**vars(self), "tags": list(self.tags), "versions": list(self.versions)}


def search(
    models: Iterable[ModelState],
    *,
    q: str | None = None,
    tag: str | None = None,
    stage: str | None = None,
    framework: str | None = None,
    metric: str | None = None,
) -> list[SearchHit]:
    """Return the models matching every filter given, by name.

    ``q`` is a case-insensitive substring of the name or description and ``tag`` an exact
    tag: both select models. ``stage``, ``framework`` and ``metric`` (``accuracy>0.9``, ops
    > >= < <= = !=) select versions; when any is given a model matches only through its
    matching versions, and a version lacking the metric does not match.

    Raises:
        Invalid: a stage, framework or metric expression is malformed.
    """
    wanted_stage = None if stage is None else parse_stage(stage)
    wanted_framework = None if framework is None else parse_framework(framework)
    metric_filter = None if metric is None else parse_metric_filter(metric)
    by_version = not (wanted_stage is None and wanted_framework is None and metric is None)
    needle = q.casefold() if q else None
    hits = []
    for model in sorted(models, key=lambda m: m.name):
        if needle and needle not in model.name.casefold() + "\n" + model.description.casefold():
            continue
        if tag is not None and tag not in model.tags:
            continue
        versions = tuple(
            name
            for name in model.versions_by_precedence()
            if (wanted_stage is None or model.versions[name].stage is wanted_stage)
            and (wanted_framework is None or model.versions[name].framework is wanted_framework)
            and (metric_filter is None or metric_filter.matches(model.versions[name].metrics))
        )
        if by_version and not versions:
            continue
        hits.append(SearchHit(model.name, model.description, model.tags, versions))
    return hits


def export(model: ModelState) -> dict[str, Any]:
    """Return everything about the model as JSON: its fields, versions and full change log."""
    return {"format": EXPORT_FORMAT, **model.to_json(), "history": _changes(model, None)}


def history(model: ModelState, at: datetime | None = None) -> dict[str, Any]:
    """Return the changes up to ``at`` (all when None) and which versions each stage held then.

    ``at`` must be timezone-aware. ``stages`` maps every stage to its versions, highest
    first; production holds at most one.
    """
    if at is not None and at.tzinfo is None:
        raise Invalid("at must carry a timezone, e.g. 2024-05-01T12:00:00Z")
    changes = _changes(model, at)
    held: dict[str, Stage] = {}
    for change in changes:
        if change["type"] in (EventType.VERSION_ADDED, EventType.STAGE_CHANGED):
            held[change["version"]] = Stage(change["to_stage"])
    order = {name: rank for rank, name in enumerate(model.versions_by_precedence())}
    stages = {
        stage.value: sorted(
            (v for v, s in held.items() if s is stage), key=lambda v: order.get(v, len(order))
        )
        for stage in Stage
    }
    return {
        "model": model.name,
        "at": None if at is None else at.isoformat(),
        "changes": changes,
        "stages": stages,
    }


def _changes(model: ModelState, at: datetime | None) -> list[dict[str, Any]]:
    return [
        change.to_dict()
        for change in model.history
        if at is None or datetime.fromisoformat(change.timestamp) <= at
    ]
