"""Thresholds: defaults, per-dataset overrides from JSON, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_streams.drift import DriftThresholds, ThresholdsError


def test_defaults_are_the_issue_s() -> None:
    assert DriftThresholds().to_json() == {
        "psi": 0.2, "js": 0.1, "hellinger": 0.1, "ks": 0.1, "wasserstein": 0.1, "linf": 0.1,
        "chi2": None, "null_rate_change": 0.05, "distinct_ratio": None,
    }


def test_overrides_keep_the_rest() -> None:
    thresholds = DriftThresholds.from_json({"psi": 0.25, "chi2": 0.01, "ks": None})
    assert (thresholds.psi, thresholds.chi2, thresholds.ks, thresholds.js) == (0.25, 0.01, None, 0.1)
    again = DriftThresholds.from_json({"js": 0.2}, base=thresholds)
    assert (again.psi, again.js) == (0.25, 0.2)
    assert DriftThresholds.from_json(thresholds.to_json()) == thresholds


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"pSi": 0.2}, "pSi", "unknown metric"),
    ({"psi": -1}, "psi", ">= 0"),
    ({"js": float("nan")}, "js", "finite"),
    ({"ks": "0.1"}, "ks", "number or null"),
    ({"linf": True}, "linf", "number or null"),
    ({"distinct_ratio": 0.5}, "distinct_ratio", "factor >= 1"),
])
def test_bad_bodies_name_the_field(body: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ThresholdsError) as caught:
        DriftThresholds.from_json(body)
    assert caught.value.field == field and words in str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ThresholdsError, match="JSON object"):
        DriftThresholds.from_json([0.2])  # type: ignore[arg-type]


def test_breached_reaches_and_judges_signed_and_ratio_metrics() -> None:
    thresholds = DriftThresholds(distinct_ratio=2)
    assert thresholds.breached("psi", 0.2) and not thresholds.breached("psi", 0.19)
    assert thresholds.breached("null_rate_change", -0.05)
    assert not thresholds.breached("null_rate_change", 0.049)
    assert thresholds.breached("distinct_ratio", 2.0) and thresholds.breached("distinct_ratio", 0.5)
    assert not thresholds.breached("distinct_ratio", 0.6)
    assert not thresholds.breached("chi2", 1.0)  # not judged unless set
