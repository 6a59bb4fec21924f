"""Drift monitors: the PUT body, and the verdict kept when a window closes."""

from __future__ import annotations

import pytest

from atlas_streams.drift import compare
from atlas_streams.profiling import DatasetProfile, ProfileOptions
from atlas_streams.tables.monitors import Monitor, MonitorError, drift_columns, verdict, verdict_key


def test_a_monitor_names_its_reference_and_overrides_thresholds() -> None:
    monitor = Monitor.from_json({"reference": "range:2024-05-01T10:00:00Z/2024-05-01T11:00:00",
                                 "thresholds": {"psi": 0.3, "ks": None}})
    assert monitor.reference == "range:2024-05-01T10:00:00+00:00/2024-05-01T11:00:00+00:00"
    assert monitor.to_json()["thresholds"]["psi"] == 0.3
    assert monitor.to_json()["thresholds"]["ks"] is None
    assert Monitor.from_json({"reference": "run:" + "a" * 32}).thresholds.psi == 0.2


@pytest.mark.parametrize(("body", "field"), [
    ({"reference": "latest"}, "reference"),
    ({"reference": "range:2024-05-02/2024-05-01"}, "reference"),
    ({"reference": "range:soon/later"}, "reference"),
    ({"reference": "run:xyz"}, "reference"),
    ({}, "reference"),
    ({"reference": "run:" + "a" * 32, "thresholds": {"psi": -1}}, "thresholds.psi"),
    ({"reference": "run:" + "a" * 32, "thresholds": {"colour": 1}}, "thresholds.colour"),
    ({"reference": "run:" + "a" * 32, "extra": 1}, "extra"),
    ([1], "body"),
])
def test_a_bad_monitor_names_the_field(body: object, field: str) -> None:
    with pytest.raises(MonitorError) as caught:
        Monitor.from_json(body)
    assert caught.value.field == field


def test_a_verdict_keeps_its_inputs_and_one_event_a_breach() -> None:
    reference, current = DatasetProfile.zero(ProfileOptions()), DatasetProfile.zero(ProfileOptions())
    reference.update([{"v": i % 10} for i in range(500)], 0)
    current.update([{"v": 100 + i % 10} for i in range(500)], 0)
    monitor = Monitor.from_json({"reference": "run:" + "a" * 32})
    report = compare(reference, current, monitor.thresholds)

    kept = verdict("d", 60_000, 120_000, monitor, report, (500, 500), False, "now")

    assert kept["drift"] and kept["drifted_columns"] == ["v"]
    assert kept["inputs"]["window_rows"] == 500 and kept["inputs"]["thresholds"]["psi"] == 0.2
    assert {e["metric"] for e in kept["events"]} >= {"psi", "ks"}
    assert all(e["column"] == "v" and e["value"] >= e["threshold"] for e in kept["events"])
    assert verdict_key("d", 60_000) < verdict_key("d", 600_000)


def test_drift_leaves_out_the_event_time_column() -> None:
    first, second = DatasetProfile.zero(ProfileOptions()), DatasetProfile.zero(ProfileOptions())
    first.update([{"at": 1, "v": 1, "n": {"x": 1}}], 0)
    second.update([{"at": 2, "w": 1, "at2": 3}], 0)
    assert drift_columns(first, second, None) is None
    assert drift_columns(first, second, "at") == sorted(
        (set(first.columns) | set(second.columns)) - {"at"})
    assert "at2" in (drift_columns(first, second, "at") or [])
