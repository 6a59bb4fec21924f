"""The drift answer: its JSON shape, schema changes, verdicts, breaches and restrictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from atlas_streams.drift import DriftThresholds, compare
from atlas_streams.profiling import DatasetProfile

NUMERIC_KEYS = ["psi", "js", "hellinger", "ks", "wasserstein", "null_rate_change", "distinct_ratio"]
OTHER_KEYS = ["js", "linf", "chi2", "null_rate_change", "distinct_ratio"]


def profile_of(rows: list[dict[str, Any]]) -> DatasetProfile:
    profile = DatasetProfile.zero()
    profile.update(rows, 0.0)
    return profile


def _rows(seed: int, shift: float, n: int = 5_000) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    amounts = rng.normal(100 + shift * 10, 10, n).tolist()
    colors = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]).tolist()
    return [{"amount": a, "color": c, "id": i} for i, (a, c) in enumerate(zip(amounts, colors, strict=True))]


def test_answer_has_the_contract_shape() -> None:
    answer = compare(profile_of(_rows(1, 0)), profile_of(_rows(2, 1)),
                     reference_label="run:r1", current_label="latest").to_json()
    assert list(answer) == ["reference", "current", "columns", "drifted_columns",
                            "schema_changes", "drift"]
    assert (answer["reference"], answer["current"]) == ("run:r1", "latest")
    amount, color = answer["columns"]["amount"], answer["columns"]["color"]
    assert list(amount) == ["type", "metrics", "bounds", "drift", "by"]
    assert amount["type"] == "numeric" and color["type"] == "string"
    assert list(amount["metrics"]) == NUMERIC_KEYS == list(amount["bounds"])
    assert list(color["metrics"]) == OTHER_KEYS == list(color["bounds"])
    assert set(amount["bounds"]["psi"]) == {"lower", "upper"}
    assert amount["drift"] and amount["by"][0] == "psi"
    assert answer["drifted_columns"] == ["amount"]  # colors and ids follow one law
    assert answer["drift"] is True
    assert answer["schema_changes"] == {"new": [], "vanished": [], "retyped": {}, "missing": []}


def test_identical_profiles_do_not_drift() -> None:
    profile = profile_of(_rows(1, 0))
    report = compare(profile, profile)
    assert report.drifted_columns == [] and not report.drift and report.breaches() == []
    for column in report.columns.values():
        for name, metric in column.metrics.items():
            assert metric is not None
            expected = 1.0 if name == "distinct_ratio" else 0.0
            assert metric.value == pytest.approx(expected, abs=1e-12), name


def test_inputs_are_left_unchanged() -> None:
    reference, current = profile_of(_rows(1, 0)), profile_of(_rows(2, 1))
    before = reference.to_bytes(), current.to_bytes()
    compare(reference, current)
    assert (reference.to_bytes(), current.to_bytes()) == before


def test_schema_changes_new_vanished_retyped_and_missing() -> None:
    reference = profile_of([{"a": 1, "b": "x", "c": 2.5} for _ in range(50)])
    current = profile_of([{"a": "one", "c": 2.5, "d": True} for _ in range(50)])
    report = compare(reference, current)
    assert report.schema_changes.to_json() == {
        "new": ["d"], "vanished": ["b"],
        "retyped": {"a": {"reference": "numeric", "current": "string"}}, "missing": [],
    }
    assert report.columns["a"].type == "string"  # compared on values, as categories
    assert set(report.columns) == {"a", "c"}
    assert report.drift
    only_new = compare(reference, profile_of([{"a": 1, "b": "x", "c": 2.5, "z": 0}] * 50))
    assert only_new.schema_changes.new == ("z",) and not only_new.drift

    asked = compare(reference, current, columns=["c", "nowhere"])
    assert list(asked.columns) == ["c"]
    assert asked.schema_changes.missing == ("nowhere",) and asked.drift


def test_a_column_null_in_every_current_row_drifts_on_its_null_rate() -> None:
    reference = profile_of([{"x": float(i)} for i in range(100)])
    current = profile_of([{"x": None} for _ in range(100)])
    column = compare(reference, current).columns["x"]
    assert column.type == "numeric" and column.by == ("null_rate_change",)
    assert column.metrics["psi"] is None and column.metrics["ks"] is None
    null_rate = column.metrics["null_rate_change"]
    assert null_rate is not None and null_rate.value == 1.0
    assert not compare(reference, current).schema_changes.retyped


def test_constant_reference_has_no_wasserstein_but_other_metrics_see_the_change() -> None:
    reference = profile_of([{"x": 5} for _ in range(200)])
    current = profile_of([{"x": 6} for _ in range(200)])
    column = compare(reference, current).columns["x"]
    assert column.metrics["wasserstein"] is None
    ks = column.metrics["ks"]
    assert ks is not None and ks.value == 1.0
    assert column.drift and "ks" in column.by and "wasserstein" not in column.by


def test_thresholds_decide_and_breaches_name_them() -> None:
    reference, current = profile_of(_rows(1, 0)), profile_of(_rows(2, 0.3))
    lenient = DriftThresholds(psi=None, js=None, hellinger=None, ks=None, wasserstein=None)
    report = compare(reference, current, lenient, columns=["amount"])
    assert not report.drift and report.columns["amount"].by == ()
    strict = compare(reference, current, DriftThresholds(ks=0.01), columns=["amount"])
    breach = next(b for b in strict.breaches() if b.metric == "ks")
    ks = strict.columns["amount"].metrics["ks"]
    assert ks is not None
    assert (breach.column, breach.value, breach.threshold) == ("amount", ks.value, 0.01)


def test_distinct_ratio_bounds_hold_both_sketches() -> None:
    reference = profile_of([{"id": i} for i in range(4_000)])
    current = profile_of([{"id": i} for i in range(2_000)])
    ratio = compare(reference, current, DriftThresholds(distinct_ratio=1.5)).columns["id"]
    metric = ratio.metrics["distinct_ratio"]
    assert metric is not None and metric.lower <= 0.5 <= metric.upper
    assert metric.value == pytest.approx(0.5, rel=0.05)
    assert "distinct_ratio" in ratio.by
