"""Nested rows become dotted columns, array lengths and array items, down to a depth."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_streams.profiling import DatasetProfile, ProfileOptions, with_freshness
from atlas_streams.profiling.flatten import columns_of

EVENT = {"id": 1, "user": {"id": 13, "country": "DE"}, "tags": ["a", "b"],
         "ts": "2026-11-10T10:00:00Z"}


def flat(rows: list[dict[str, Any]], depth: int = 3) -> dict[str, list[Any]]:
    """Return the flattened columns' values."""
    names = list(dict.fromkeys(key for row in rows for key in row))
    return {name: values for name, (values, _) in columns_of(rows, names, depth).items()}


def test_objects_become_dotted_columns_and_arrays_lengths_and_items() -> None:
    second = {"id": 2, "user": {"id": 14}, "tags": [], "ts": None}
    columns = flat([EVENT, second])
    assert columns == {
        "id": [1, 2], "user": [None, None], "user.id": [13, 14], "user.country": ["DE", None],
        "tags": [None, None], "tags.length": [2, 0], "tags[]": ["a", "b"],
        "ts": ["2026-11-10T10:00:00Z", None],
    }


def test_objects_deeper_than_the_depth_stay_json_text() -> None:
    row = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert flat([row], depth=3)["a.b.c.d"] == [{"e": 1}]
    assert flat([row], depth=1)["a.b"] == [{"c": {"d": {"e": 1}}}]
    assert flat([row], depth=0) == {"a": [row["a"]]}


def test_a_column_that_is_sometimes_an_object_keeps_its_plain_values() -> None:
    columns = flat([{"u": {"x": 1}}, {"u": "anonymous"}, {}])
    assert columns == {"u": [None, "anonymous", None], "u.x": [1, None, None]}


def test_report_of_nested_events() -> None:
    profile = DatasetProfile.zero(ProfileOptions())
    later = {**EVENT, "ts": "2026-11-10T12:30:00+01:00", "user": {"id": 15, "country": "FR"}}
    profile.update([EVENT, later, {"id": 3, "tags": ["a", {"k": 1}]}], now=0.0)
    report = profile.report("events", now=1794308400.0)["columns"]
    assert "user" not in report and "tags" not in report  # only ever objects or arrays
    assert report["user.country"]["top_values"][0] == {
        "value": "DE", "count": 1, "count_bounds": {"lower": 1, "upper": 1}}
    assert report["user.country"]["null_count"] == 1
    assert report["tags.length"]["max"] == 2 and report["tags.length"]["count"] == 3
    items = report["tags[]"]
    assert items["items"] is True and items["type"] == "string" and items["count"] == 6
    assert {e["value"]: e["count"] for e in items["top_values"]} == {"a": 3, "b": 2, '{"k":1}': 1}
    ts = report["ts"]
    assert ts["type"] == "datetime"
    assert (ts["min"], ts["max"]) == ("2026-11-10T10:00:00Z", "2026-11-10T11:30:00Z")
    assert ts["freshness_seconds"] == pytest.approx(1794308400.0 - 1794310200.0)
    assert set(ts["quantiles"].values()) <= {ts["min"], ts["max"]}
    for name, column in report.items():
        if not column.get("items"):
            assert column["count"] + column["null_count"] == 3, name


def test_numeric_datetime_columns_report_iso_times() -> None:
    options = ProfileOptions(datetime_columns=(("user.created", 0.001),))
    profile = DatasetProfile.zero(options)
    profile.update([{"user": {"created": 1_794_304_800_000}}, {"user": {"created": None}}], now=0)
    column = profile.report("d", now=1_794_304_810.0)["columns"]["user.created"]
    assert column["type"] == "datetime" and column["max"] == "2026-11-10T10:00:00Z"
    assert column["freshness_seconds"] == pytest.approx(10.0)
    assert column["top_values"][0]["value"] == "2026-11-10T10:00:00Z"


def test_big_integers_are_counted_without_turning_the_column_into_floats() -> None:
    profile = DatasetProfile.zero(ProfileOptions())
    profile.update([{"n": 2**70}, {"n": 4}, {"n": 5}], now=0)
    column = profile.report("d")["columns"]["n"]
    assert column["type"] == "numeric" and column["bigint_count"] == 1
    assert (column["min"], column["max"], column["count"]) == (4, 5, 3)
    assert type(column["max"]) is int
    assert {"value": str(2**70), "count": 1, "count_bounds": {"lower": 1, "upper": 1},
            "bigint": True} in column["top_values"]
    only = DatasetProfile.zero(ProfileOptions())
    only.update([{"n": 2**70}, {"n": -(2**70)}], now=0)
    assert only.report("d")["columns"]["n"]["type"] == "bigint"


def test_freshness_is_stamped_on_a_copy_of_a_report_made_once() -> None:
    profile = DatasetProfile.zero(ProfileOptions())
    profile.update([{"ts": "2026-11-10T10:00:00Z"}, {"ts": "2026-11-10T10:00:30.5Z"}], now=0)
    cached = profile.report("d")
    assert "freshness_seconds" not in cached["columns"]["ts"]
    stamped = with_freshness(cached, 1794304900.0)
    assert stamped["columns"]["ts"]["freshness_seconds"] == pytest.approx(69.5)
    assert "freshness_seconds" not in cached["columns"]["ts"]  # the cached report is untouched
    assert stamped == profile.report("d", now=1794304900.0)
