from __future__ import annotations

import math

import pytest

from atlas_streams.registry import Invalid, MetricFilter, parse_metric_filter
from atlas_streams.registry.metrics import check_metrics, compare_metrics


def test_metrics_become_floats() -> None:
    assert check_metrics({"acc": 1, "loss": 0.25, "f1/macro": -3}) == {
        "acc": 1.0, "loss": 0.25, "f1/macro": -3.0
    }


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, True, False, "0.9", None, [1], {"a": 1}, 10**400]
)
def test_non_finite_or_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(Invalid, match=r"metrics\.acc must be a"):
        check_metrics({"acc": value})


@pytest.mark.parametrize("name", ["", "a b", "x>y", ".hidden", "a=b", 3])
def test_bad_metric_names_are_refused(name: object) -> None:
    with pytest.raises(Invalid, match="metric name"):
        check_metrics({name: 1.0})


def test_metrics_must_be_an_object() -> None:
    with pytest.raises(Invalid, match="metrics must be an object"):
        check_metrics([("acc", 1.0)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy>0.9", MetricFilter("accuracy", ">", 0.9)),
        ("accuracy >= 0.9", MetricFilter("accuracy", ">=", 0.9)),
        ("loss<-1e-3", MetricFilter("loss", "<", -0.001)),
        ("loss<=2", MetricFilter("loss", "<=", 2.0)),
        ("f1/macro=1", MetricFilter("f1/macro", "=", 1.0)),
        ("f1==1", MetricFilter("f1", "=", 1.0)),
        ("auc!=0.5", MetricFilter("auc", "!=", 0.5)),
    ],
)
def test_filters_parse(text: str, expected: MetricFilter) -> None:
    assert parse_metric_filter(text) == expected


@pytest.mark.parametrize(
    "text", ["", "accuracy", "accuracy>", ">0.9", "accuracy>>0.9", "accuracy~0.9",
             "accuracy>high", "accuracy>nan", "accuracy>inf", "a>1 and b<2"]
)
def test_bad_filters_are_invalid(text: str) -> None:
    with pytest.raises(Invalid, match="op one of > >= < <= = !="):
        parse_metric_filter(text)


@pytest.mark.parametrize(
    ("text", "matches"),
    [("acc>0.9", False), ("acc>=0.9", True), ("acc<1", True), ("acc<=0.8", False),
     ("acc=0.9", True), ("acc!=0.9", False), ("loss>0", False), ("loss!=0", False)],
)
def test_filters_match(text: str, matches: bool) -> None:
    assert parse_metric_filter(text).matches({"acc": 0.9}) is matches


def test_compare_lists_differences_and_one_sided_metrics() -> None:
    result = compare_metrics({"acc": 0.9, "loss": 0.0, "a_only": 1.0},
                             {"acc": 0.8, "loss": 0.0, "b_only": 2.0})
    by_name = {d.metric: d for d in result.common}
    assert by_name["acc"].difference == pytest.approx(0.1)
    assert by_name["acc"].relative == pytest.approx(0.125)
    assert by_name["loss"].relative is None  # b is zero
    assert dict(result.only_a) == {"a_only": 1.0}
    assert dict(result.only_b) == {"b_only": 2.0}
    doc = result.to_json()
    assert [m["metric"] for m in doc["metrics"]] == ["acc", "loss"]
    assert doc["only_in_a"] == {"a_only": 1.0} and doc["only_in_b"] == {"b_only": 2.0}


def test_compare_overflow_is_none_not_inf() -> None:
    (delta,) = compare_metrics({"x": 1e308}, {"x": -1e308}).common
    assert delta.difference is None
