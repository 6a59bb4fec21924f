"""When a metric counts as drift: one threshold a metric, frozen, overridable per dataset."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atlas_streams.drift.errors import ThresholdsError

__all__ = ["DriftThresholds"]


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    """Choose the effect size at which each metric counts as drift; None reports without judging.

    A metric drifts when its value reaches its threshold (``>=``); ``null_rate_change`` on its
    absolute value; ``distinct_ratio`` (a factor >= 1) when the ratio reaches it or falls to its
    inverse. Defaults: PSI 0.2 (the usual "significant shift"), Jensen-Shannon distance 0.1 (as
    Evidently and NannyML), Hellinger 0.1, KS 0.1, Wasserstein over the reference std 0.1 (as
    Evidently), L-infinity 0.1 (as TFDV), null rate 0.05 absolute. Chi-square per row and the
    distinct ratio are reported but not judged unless set. Decisions use effect sizes, never
    p-values, which go to zero at stream sizes.
    """

    psi: float | None = 0.2
    js: float | None = 0.1
    hellinger: float | None = 0.1
    ks: float | None = 0.1
    wasserstein: float | None = 0.1
    linf: float | None = 0.1
    chi2: float | None = None
    null_rate_change: float | None = 0.05
    distinct_ratio: float | None = None

    def __post_init__(self) -> None:
        """Reject negative, non-finite or non-numeric thresholds, naming the field."""
        for field in dataclasses.fields(self):
            _check(field.name, getattr(self, field.name))

    def breached(self, metric: str, value: float) -> bool:
        """Return whether ``value`` of ``metric`` counts as drift."""
        threshold: float | None = getattr(self, metric)
        if threshold is None:
            return False
        if metric == "null_rate_change":
            return abs(value) >= threshold
        if metric == "distinct_ratio":
            return value >= threshold or value <= 1.0 / threshold
        return value >= threshold

    def to_json(self) -> dict[str, float | None]:
        """Return the thresholds as a JSON object, one key a metric."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], base: DriftThresholds | None = None) -> DriftThresholds:
        """Return ``base`` (the defaults if None) with the metrics ``body`` names overridden.

        Raise ThresholdsError naming the first unknown metric or bad value.
        """
        if not isinstance(body, Mapping):
            raise ThresholdsError("thresholds", f"send a JSON object, not {type(body).__name__}")
        names = [field.name for field in dataclasses.fields(cls)]
        for key in body:
            if key not in names:
                raise ThresholdsError(str(key), f"unknown metric; known: {', '.join(names)}")
        return dataclasses.replace(base or cls(), **dict(body))


def _check(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThresholdsError(name, f"send a number or null, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ThresholdsError(name, f"send a finite number >= 0, not {value!r}")
    if name == "distinct_ratio" and value < 1:
        raise ThresholdsError(name, f"send a factor >= 1 (2 means halved or doubled), not {value!r}")
