"""Metric values, metric filters such as ``accuracy>0.9``, and metric-by-metric comparison.

A metric value is a finite real number, kept as a float: ``1`` and ``1.0`` are the same
metric. Booleans, NaN, infinities and anything that is not a number are refused.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Invalid

__all__ = [
    "MetricComparison",
    "MetricDelta",
    "MetricFilter",
    "check_metrics",
    "compare_metrics",
    "parse_metric_filter",
]

_METRIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}")
_FILTER = re.compile(r"\s*([A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127})\s*(>=|<=|!=|==|=|>|<)\s*(\S+)\s*")
_OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}


def check_metrics(value: object, field: str = "metrics") -> dict[str, float]:
    """Return ``value`` as a mapping of metric name to finite float.

    Raises:
        Invalid: naming the first bad metric name or value.
    """
    if not isinstance(value, Mapping):
        raise Invalid(f"{field} must be an object of metric name to number; got {value!r}")
    metrics: dict[str, float] = {}
    for name, number in value.items():
        if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
            raise Invalid(
                f"{field}: metric name {name!r} must be 1-128 letters, digits, '_', '.', '-' "
                "or '/', not starting with '.', '-' or '/'"
            )
        metrics[name] = _finite(number, f"{field}.{name}")
    return metrics


def _finite(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{field} must be a number; got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise Invalid(f"{field} must be a finite number; got {value!r}")
    return number


@dataclass(frozen=True)
class MetricFilter:
    """A test of one metric against a number, parsed from text like ``accuracy>=0.9``."""

    metric: str
    op: str
    value: float

    def matches(self, metrics: Mapping[str, float]) -> bool:
        """Return whether ``metrics`` has the metric and it passes; a missing metric fails."""
        if self.metric not in metrics:
            return False
        return _OPERATORS[self.op](metrics[self.metric], self.value)


def parse_metric_filter(text: str) -> MetricFilter:
    """Return the filter written as ``<metric><op><number>`` with op one of > >= < <= = != .

    Raises:
        Invalid: showing the expected form.
    """
    found = _FILTER.fullmatch(text)
    hint = "write it as <metric><op><number> with op one of > >= < <= = !=, e.g. accuracy>0.9"
    if not found:
        raise Invalid(f"metric filter {text!r} is malformed; {hint}")
    metric, op, number = found.groups()
    try:
        value = float(number)
    except ValueError:
        raise Invalid(f"metric filter {text!r}: {number!r} is not a number; {hint}") from None
    if not math.isfinite(value):
        raise Invalid(f"metric filter {text!r}: the number must be finite; {hint}")
    return MetricFilter(metric, "=" if op == "==" else op, value)


@dataclass(frozen=True)
class MetricDelta:
    """One metric present on both sides: ``difference = a - b``, ``relative = (a - b) / |b|``.

    ``relative`` is None when ``b`` is zero; either is None when it does not fit a float.
    """

    metric: str
    a: float
    b: float
    difference: float | None
    relative: float | None


@dataclass(frozen=True)
class MetricComparison:
    """Metrics of two versions side by side, and the metrics only one side has."""

    common: tuple[MetricDelta, ...]
    only_a: Mapping[str, float]
    only_b: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        """Return the comparison as a JSON-able dict."""
        return {
            "metrics": [vars(delta) for delta in self.common],
            "only_in_a": dict(self.only_a),
            "only_in_b": dict(self.only_b),
        }


def compare_metrics(a: Mapping[str, float], b: Mapping[str, float]) -> MetricComparison:
    """Compare metric by metric; metric names come out sorted."""
    common = []
    for name in sorted(a.keys() & b.keys()):
        difference = a[name] - b[name]
        relative = difference / abs(b[name]) if b[name] != 0 else None
        common.append(MetricDelta(name, a[name], b[name], _or_none(difference), _or_none(relative)))
    return MetricComparison(
        common=tuple(common),
        only_a={name: a[name] for name in sorted(a.keys() - b.keys())},
        only_b={name: b[name] for name in sorted(b.keys() - a.keys())},
    )


def _or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
