"""The windowing body: defaults, durations, alignment, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_streams.windowing import WindowingConfig, WindowingConfigError, format_duration, parse_duration

HOUR, MINUTE, DAY = 3_600_000, 60_000, 86_400_000


def test_defaults_are_the_contract_s() -> None:
    config = WindowingConfig.from_json({})
    assert config == WindowingConfig()
    assert config.to_json() == {"event_time": None, "size": "1h", "grace": "10m", "retention": "30d"}


def test_a_full_body_round_trips() -> None:
    body = {"event_time": "created_at", "size": "15m", "grace": "90s", "retention": "7d"}
    config = WindowingConfig.from_json(body)
    assert (config.event_time, config.size, config.grace, config.retention) == (
        "created_at", 15 * MINUTE, 90_000, 7 * DAY)
    assert config.to_json() == body
    assert WindowingConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(("text", "ms"), [
    ("15m", 15 * MINUTE), ("1h", HOUR), ("7d", 7 * DAY), ("2w", 14 * DAY), ("500ms", 500),
    ("1h30m", 90 * MINUTE), (" 1H ", HOUR), ("0", 0), ("0s", 0),
])
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text, "size") == ms


@pytest.mark.parametrize(("ms", "text"), [(0, "0s"), (HOUR, "1h"), (90 * MINUTE, "90m"),
                                          (14 * DAY, "14d"), (1500, "1500ms")])
def test_durations_print_in_their_largest_whole_unit(ms: int, text: str) -> None:
    assert format_duration(ms) == text
    assert parse_duration(text, "x") == ms


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"sise": "1h"}, "sise", "unknown field"),
    ({"size": "1 hour"}, "size", "is not a duration"),
    ({"size": 3600}, "size", "duration string"),
    ({"grace": "-5m"}, "grace", "is not a duration"),
    ({"size": "500ms"}, "size", "out of range"),
    ({"size": "1d", "retention": "1d"}, "retention", "shorter than size + grace"),
    ({"size": "1m", "retention": "30d"}, "retention", "more than the 10000"),
    ({"event_time": 5}, "event_time", "column name or null"),
    ({"event_time": "  "}, "event_time", "column name"),
])
def test_bad_bodies_name_the_field(body: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(WindowingConfigError) as caught:
        WindowingConfig.from_json(body)
    assert caught.value.field == field and words in str(caught.value)


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(WindowingConfigError, match="JSON object"):
        WindowingConfig.from_json(["1h"])


def test_windows_are_aligned_to_the_epoch() -> None:
    config = WindowingConfig(size=15 * MINUTE)
    assert config.window_of(0) == 0
    assert config.window_of(15 * MINUTE - 1) == 0
    assert config.window_of(15 * MINUTE) == 15 * MINUTE
    assert config.window_of(-1) == -15 * MINUTE  # floor, before 1970 too
    assert config.window_of(1_714_557_600_123) == 1_714_557_600_000  # 2024-05-01T10:00:00Z


def test_only_size_and_event_time_reshape_windows() -> None:
    config = WindowingConfig()
    assert not config.reshapes_windows(WindowingConfig(grace=0, retention=7 * DAY))
    assert config.reshapes_windows(WindowingConfig(size=15 * MINUTE))
    assert config.reshapes_windows(WindowingConfig(event_time="ts"))
