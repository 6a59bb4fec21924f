"""A dataset's windowing: which time a row has, window size, grace and retention.

The body of ``PUT /catalog/datasets/{id}/windowing`` is
``{"event_time": "<column>" | null, "size": "1h", "grace": "10m", "retention": "30d"}``; a field
left out takes its default (the message timestamp, 1 h windows, 10 min grace, 30 d retention).
Durations are whole numbers with a unit, ``ms``, ``s``, ``m``, ``h``, ``d`` or ``w``, and may be
chained (``"1h30m"``). Windows are tumbling and aligned to the epoch: a time t (epoch ms) falls in
the window starting at floor(t / size) * size. Grace and retention count in event time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atlas_streams.profiling import ProfileOptions
from atlas_streams.windowing.errors import WindowingConfigError

__all__ = [
    "MAX_WINDOWS",
    "WINDOW_PROFILE_OPTIONS",
    "WindowingConfig",
    "format_duration",
    "parse_duration",
]

SECOND, MINUTE, HOUR, DAY, WEEK = 1_000, 60_000, 3_600_000, 86_400_000, 604_800_000
_UNITS = {"w": WEEK, "d": DAY, "h": HOUR, "m": MINUTE, "s": SECOND, "ms": 1}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")
#: Windows a dataset keeps at most (retention / size): each closed window keeps one profile.
MAX_WINDOWS = 10_000
_MAX_RETENTION = 3660 * DAY

#: Sketch sizes of a window's profile, smaller than the all-time profile's, since a dataset keeps
#: 720 windows at the default windowing. Measured (bench/RESULTS.md): a closed 20-column window
#: of 100,000 rows of the mixed bench table takes ~85 KB (61 MB for 720 windows), an all-numeric
#: one ~137 KB (99 MB), against ~230 KB (166 MB) with the profile's sketches. The price: KLL rank
#: error 1.33% (bin masses 1.65%) instead of 0.27% (0.35%), so drift intervals 3 to 8 times wider.
WINDOW_PROFILE_OPTIONS = ProfileOptions(kll_k=200, distinct_lg_k=11, exact_distinct_limit=200)
_FIELDS = ("event_time", "size", "grace", "retention")


def parse_duration(text: object, field: str) -> int:
    """Return a duration such as ``"15m"`` in milliseconds; raise naming ``field`` if malformed."""
    if not isinstance(text, str):
        raise WindowingConfigError(field, f'send a duration string such as "15m", not {text!r}')
    compact = text.strip().lower()
    if compact == "0":
        return 0
    if not _DURATION.fullmatch(compact):
        raise WindowingConfigError(
            field, f'{text!r} is not a duration; send a number and a unit (ms, s, m, h, d, w), '
            'such as "15m", "1h", "7d" or "1h30m"')
    return sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(compact))


def format_duration(milliseconds: int) -> str:
    """Return a duration in its largest whole unit up to days: 3,600,000 -> ``"1h"``, 0 -> ``"0s"``.

    Weeks are read but printed as days, so a "7d" sent comes back as "7d".
    """
    if milliseconds == 0:
        return "0s"
    for unit, size in _UNITS.items():
        if unit != "w" and milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    raise AssertionError("unreachable: every int is a whole number of ms")


@dataclass(frozen=True, slots=True)
class WindowingConfig:
    """One dataset's windowing; durations in milliseconds. The defaults are the contract's."""

    event_time: str | None = None  # a column, or None for the message timestamp
    size: int = HOUR
    grace: int = 10 * MINUTE
    retention: int = 30 * DAY

    def __post_init__(self) -> None:
        """Reject a config whose windows could not close, expire or fit the state budget."""
        if self.event_time is not None and (
            not isinstance(self.event_time, str) or not self.event_time.strip()
        ):
            raise WindowingConfigError(
                "event_time", "send a column name, or null for the message timestamp")
        _check_int("size", self.size, SECOND, _MAX_RETENTION)
        _check_int("grace", self.grace, 0, _MAX_RETENTION)
        _check_int("retention", self.retention, SECOND, _MAX_RETENTION)
        if self.retention < self.size + self.grace:
            raise WindowingConfigError(
                "retention", f"{format_duration(self.retention)} is shorter than size + grace "
                f"({format_duration(self.size + self.grace)}): windows would expire before they "
                "close; send a longer retention")
        if self.retention // self.size > MAX_WINDOWS:
            raise WindowingConfigError(
                "retention", f"{format_duration(self.retention)} of "
                f"{format_duration(self.size)} windows is {self.retention // self.size} windows, "
                f"more than the {MAX_WINDOWS} a dataset keeps; send larger windows or a shorter "
                "retention")

    @classmethod
    def from_json(cls, body: object) -> WindowingConfig:
        """Return the config a PUT body describes; raise WindowingConfigError naming the field."""
        if not isinstance(body, Mapping):
            raise WindowingConfigError(
                "body", f"send a JSON object with {', '.join(_FIELDS)}, not {type(body).__name__}")
        for key in body:
            if key not in _FIELDS:
                raise WindowingConfigError(str(key), f"unknown field; send {', '.join(_FIELDS)}")
        values: dict[str, Any] = {}
        if "event_time" in body:
            column = body["event_time"]
            if column is not None and not isinstance(column, str):
                raise WindowingConfigError(
                    "event_time", f"send a column name or null, not {type(column).__name__}")
            values["event_time"] = column
        for name in ("size", "grace", "retention"):
            if name in body:
                values[name] = parse_duration(body[name], name)
        return cls(**values)

    def to_json(self) -> dict[str, str | None]:
        """Return the config as the body ``GET .../windowing`` answers."""
        return {
            "event_time": self.event_time,
            "size": format_duration(self.size),
            "grace": format_duration(self.grace),
            "retention": format_duration(self.retention),
        }

    def window_of(self, event_time: int) -> int:
        """Return the start (epoch ms) of the window holding ``event_time`` (epoch ms)."""
        return (event_time // self.size) * self.size

    def reshapes_windows(self, other: WindowingConfig) -> bool:
        """Return whether moving to ``other`` changes which window a row falls in.

        A new size or event-time column would put new rows in windows that overlap the kept
        ones; grace and retention may change freely.
        """
        return (self.size, self.event_time) != (other.size, other.event_time)


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise WindowingConfigError(
            field, f"{value!r} ms is out of range; send {format_duration(low)} to "
            f"{format_duration(high)}")
