"""Column reports: every contract field, with the right type for each column kind."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from atlas_streams.profiling import ColumnProfile, DatasetProfile, ProfileOptions
from atlas_streams.profiling.canonical import canonicalise

COMMON = {
    "type": str, "count": int, "null_count": int, "null_percent": float,
    "distinct_estimate": int, "distinct_bounds": dict, "top_values": list, "memory_bytes": int,
}
NUMERIC = {
    "min": (int, float), "max": (int, float), "mean": float, "std": float,
    "median": (int, float), "quantiles": dict, "quantile_rank_error": float, "histogram": dict,
}
STRING = {"string_length": dict}


def column_of(values: list[Any]) -> dict[str, Any]:
    """Return the report of a column fed the values in two batches."""
    column = ColumnProfile.zero(ProfileOptions())
    half = len(values) // 2
    column.update(canonicalise(values[:half]))
    column.update(canonicalise(values[half:]))
    report = column.report()
    orjson.dumps(report)  # must serialise as is
    return report


def assert_fields(report: dict[str, Any], expected: dict[str, Any]) -> None:
    """Assert the report has exactly the expected fields, each of the expected type."""
    assert set(report) == set(expected)
    for field, kind in expected.items():
        assert isinstance(report[field], kind), field


def test_numeric_column_has_every_numeric_field() -> None:
    report = column_of([*range(100), None, 2.5])
    assert_fields(report, COMMON | NUMERIC)
    assert report["type"] == "numeric"
    assert (report["count"], report["null_count"]) == (101, 1)
    assert list(report["quantiles"]) == ["0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"]
    assert sum(report["histogram"]["counts"]) == report["count"]
    assert len(report["histogram"]["edges"]) == len(report["histogram"]["counts"]) + 1
    assert report["null_percent"] == pytest.approx(100 / 102)


def test_integral_columns_report_ints_and_float_columns_floats() -> None:
    ints = column_of([1, 2, 3, 4.0])
    assert all(type(ints[f]) is int for f in ("min", "max", "median"))
    assert all(type(v) is int for v in ints["quantiles"].values())
    assert type(ints["top_values"][0]["value"]) is int
    floats = column_of([1.5, 2, 3])
    assert all(type(floats[f]) is float for f in ("min", "max", "median"))


def test_string_column_has_lengths_and_no_numeric_fields() -> None:
    report = column_of(["a", "bb", "bb", None, "cccc"])
    assert_fields(report, COMMON | STRING)
    assert report["string_length"] == {"min": 1, "max": 4, "mean": 2.25}
    assert report["top_values"][0] == {
        "value": "bb", "count": 2, "count_bounds": {"lower": 2, "upper": 2}
    }
    assert report["memory_bytes"] == 3 + 4 + 4 + 6


def test_boolean_and_mixed_columns_have_only_the_common_fields() -> None:
    boolean = column_of([True, False, True])
    assert_fields(boolean, COMMON)
    assert boolean["type"] == "boolean"
    assert boolean["top_values"][0]["value"] is True
    mixed = column_of([1, "1", True, {"a": 1}])
    assert_fields(mixed, COMMON)
    assert mixed["type"] == "mixed"
    assert mixed["distinct_estimate"] == 4
    # Typed pairs: in a set of values True == 1, so a lost boolean or int would go unseen.
    typed = sorted((type(e["value"]).__name__, repr(e["value"]), e["count"]) for e in mixed["top_values"])
    assert typed == [("bool", "True", 1), ("int", "1", 1), ("str", "'1'", 1), ("str", """'{"a":1}'""", 1)]


def test_single_value_and_constant_columns() -> None:
    one = column_of([5])
    assert one["std"] is None  # the sample std needs two values
    constant = column_of([7] * 10)
    assert constant["std"] == 0.0
    assert constant["histogram"] == {"edges": [7.0, 7.0], "counts": [10]}


def test_all_null_column_reports_mixed_with_zero_counts() -> None:
    report = column_of([None, None])
    assert_fields(report, COMMON)
    assert (report["count"], report["null_count"], report["null_percent"]) == (0, 2, 100.0)
    assert report["top_values"] == [] and report["distinct_estimate"] == 0


def test_dataset_report_has_the_contract_envelope() -> None:
    profile = DatasetProfile.zero()
    profile.update([{"a": 1, "b": "x"}], now=1_700_000_000.5)
    profile.add_invalid(2)
    report = profile.report("flights")
    assert set(report) == {"dataset_id", "row_count", "invalid_count", "updated_at", "columns"}
    assert report["dataset_id"] == "flights"
    assert report["updated_at"] == "2023-11-14T22:13:20.500000+00:00"
    assert (report["row_count"], report["invalid_count"]) == (1, 2)
    assert list(report["columns"]) == ["a", "b"]
    orjson.dumps(report)
    assert DatasetProfile.zero().report("empty")["updated_at"] is None
