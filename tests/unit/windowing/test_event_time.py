"""Reading a row's event time: ISO strings, epoch seconds or milliseconds, typed rejections."""

from __future__ import annotations

import pytest

from atlas_streams.windowing import EventTimeRejection, event_time_of, format_instant, parse_instant
from atlas_streams.windowing.event_time import MAX_AHEAD, event_times

T = 1_714_557_600_000  # 2024-05-01T10:00:00Z


@pytest.mark.parametrize(("value", "ms"), [
    ("2024-05-01T10:00:00Z", T),
    ("2024-05-01T12:00:00+02:00", T),
    ("2024-05-01T10:00:00", T),  # no zone: UTC
    ("2024-05-01 10:00:00.250", T + 250),
    ("2024-05-01", T - 10 * 3_600_000),
    (T // 1000, T),  # epoch seconds
    (T / 1000 + 0.25, T + 250),  # fractional seconds
    (T, T),  # epoch milliseconds
    (float(T), T),
    (99_999_999_999, 99_999_999_999_000),  # just below 1e11: seconds (year 5138)
    (100_000_000_000, 100_000_000_000),  # 1e11 on: milliseconds (1973-03-03)
    (-86_400, -86_400_000),  # seconds before 1970
])
def test_event_times_that_parse(value: object, ms: int) -> None:
    assert event_time_of(value) == ms


@pytest.mark.parametrize(("value", "words"), [
    (None, "null"), (True, "bool"), ({"t": 1}, "dict"), ([1], "list"),
    (float("nan"), "finite"), (float("inf"), "finite"),
    ("yesterday", "not an ISO-8601 time"), ("", "not an ISO-8601 time"),
    (1e17, "outside years 1 to 9999"),
])
def test_event_times_that_are_rejected_say_why(value: object, words: str) -> None:
    rejection = event_time_of(value)
    assert isinstance(rejection, EventTimeRejection) and words in rejection.reason


def test_rows_read_their_column_and_are_checked_against_their_message() -> None:
    rows = [{"ts": T}, {"other": 1}, {"ts": T + MAX_AHEAD + 1}, {"ts": "bad"}, {"ts": T + 5}]
    read = event_times(rows, "ts", [T, T, T, T, -1])
    assert (read.times[0], read.times[4]) == (T, T + 5)  # no message timestamp: no check
    assert sorted(read.rejected) == [1, 2, 3]
    assert "'ts' is missing" in read.rejected[1]
    assert "more than a day after" in read.rejected[2]
    assert "ISO-8601" in read.rejected[3]


@pytest.mark.parametrize("values", [
    [T // 1000, T + 1, 1.5, -86_400, 99_999_999_999, 100_000_000_000, T / 1000 + 0.25],
    [T, float("nan"), 1e17, 10**400, float("-inf"), T // 1000],
    ["2024-05-01T10:00:00Z", " 2024-05-01 ", "2024-05-01T12:00:00.5+02:00", "nope", ""],
    ["2024-05-01", 5, None, True],
])
def test_a_column_reads_as_one_value_at_a_time_would(values: list[object]) -> None:
    read = event_times([{"ts": v} for v in values], "ts", [-1] * len(values))
    for i, value in enumerate(values):
        single = event_time_of(value)
        if value is None:
            assert "missing or null" in read.rejected[i]
            continue
        if isinstance(single, EventTimeRejection):
            assert read.rejected[i] == single.reason
        else:
            assert i not in read.rejected and read.times[i] == single


def test_without_a_column_the_message_timestamp_is_the_event_time() -> None:
    read = event_times([{}, {}], None, [T, -1])
    assert read.times[0] == T and list(read.rejected) == [1]
    assert "no timestamp" in read.rejected[1]


def test_instants_round_trip() -> None:
    assert format_instant(T) == "2024-05-01T10:00:00+00:00"
    assert parse_instant(format_instant(T + 7)) == T + 7
    with pytest.raises(ValueError, match="send one such as"):
        parse_instant("May 1st")
