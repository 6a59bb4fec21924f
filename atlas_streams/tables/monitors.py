"""Drift monitors, pure: a dataset's reference and thresholds, and the verdict on a window.

A monitor is the body of ``PUT /catalog/datasets/{id}/monitor``:
``{"reference": "run:<run_id>" | "range:<since ISO>/<until ISO>", "thresholds": {"psi": 0.25}}``
(thresholds left out take the defaults; null: reported, not judged). When a window closes, or a
late row corrects it, the window writer compares the window with the reference and keeps a
``verdict``: its inputs (reference, window, row counts, thresholds) and one drift event per
breach (dataset, window, column, metric, value, threshold, reference), each also sent to
``atlas.drift``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atlas_streams.drift import DriftReport, DriftThresholds, ThresholdsError
from atlas_streams.profiling import DatasetProfile
from atlas_streams.windowing import format_instant, parse_instant

__all__ = ["Monitor", "MonitorError", "drift_columns", "verdict", "verdict_key"]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_FIELDS = ("reference", "thresholds")


class MonitorError(ValueError):
    """A monitor body is invalid; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        """Name the offending ``field`` and say what to send instead."""
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Monitor:
    """A dataset's drift reference and thresholds."""

    reference: str
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    @classmethod
    def from_json(cls, body: object) -> Monitor:
        """Return the monitor a PUT body describes; raise MonitorError naming the field."""
        if not isinstance(body, Mapping):
            raise MonitorError("body", "send a JSON object with reference and thresholds")
        for key in body:
            if key not in _FIELDS:
                raise MonitorError(str(key), f"unknown field; send {', '.join(_FIELDS)}")
        reference = body.get("reference")
        if not isinstance(reference, str):
            raise MonitorError("reference", "send run:<run_id> or range:<since ISO>/<until ISO>")
        kind, _, rest = reference.partition(":")
        if kind == "run" and _RUN_ID.match(rest):
            pass
        elif kind == "range" and "/" in rest:
            since, _, until = rest.partition("/")
            try:
                low, high = parse_instant(since), parse_instant(until)
            except ValueError as exc:
                raise MonitorError("reference", str(exc)) from None
            if high <= low:
                raise MonitorError("reference", "the range ends before it starts")
            reference = f"range:{format_instant(low)}/{format_instant(high)}"
        else:
            raise MonitorError("reference", f"{reference[:80]!r} is not a reference; send "
                               "run:<run_id> or range:<since ISO>/<until ISO>")
        try:
            thresholds = DriftThresholds.from_json(body.get("thresholds") or {})
        except ThresholdsError as exc:
            raise MonitorError(f"thresholds.{exc.field}", str(exc)) from None
        return cls(reference, thresholds)

    def to_json(self) -> dict[str, Any]:
        """Return the monitor as ``GET .../monitor`` answers it."""
        return {"reference": self.reference, "thresholds": self.thresholds.to_json()}


def verdict_key(dataset: str, start: int) -> str:
    """Return the key of a window's verdict: windows of a dataset sort by start."""
    return f"{dataset}/{start:015d}"


def verdict(dataset: str, start: int, end: int, monitor: Monitor, report: DriftReport,
            rows: tuple[int, int], corrected: bool, at: str) -> dict[str, Any]:
    """Return a window's verdict: its inputs, its outcome and one event per breach."""
    window = format_instant(start)
    events = [{"dataset_id": dataset, "window": window, "column": b.column, "metric": b.metric,
               "value": b.value, "threshold": b.threshold, "reference": monitor.reference,
               "corrected": corrected, "at": at}
              for b in report.breaches()]
    return {
        "dataset_id": dataset, "window": window, "window_end": format_instant(end),
        "reference": monitor.reference, "drift": report.drift,
        "drifted_columns": report.drifted_columns, "corrected": corrected, "at": at,
        "inputs": {"reference_rows": rows[0], "window_rows": rows[1],
                   "thresholds": monitor.thresholds.to_json()},
        "events": events,
    }


def drift_columns(reference: DatasetProfile, current: DatasetProfile,
                  event_time: str | None) -> list[str] | None:
    """Return the columns drift compares: all but the event-time column (None: all).

    A window's event times lie in the window by construction, so its event-time column drifts
    from any other window's: comparing it would flag every window.
    """
    if event_time is None:
        return None
    names = set(reference.columns) | set(current.columns)
    return sorted(n for n in names if n != event_time and not n.startswith(f"{event_time}."))
