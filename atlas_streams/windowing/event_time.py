"""The event time of a row, in epoch milliseconds, or the reason it has none.

Rules (the one place that reads time values):

- **No column configured**: the Kafka message's timestamp. A message without one (-1) is
  rejected: configure an ``event_time`` column.
- **ISO-8601 strings** (``datetime.fromisoformat``: ``2024-05-01T10:00:00Z``, ``2024-05-01
  10:00:00.250+02:00``, ``2024-05-01``). A time with no zone is UTC.
- **Numbers** (JSON ints or floats, not booleans) are epoch seconds when their magnitude is below
  1e11 and epoch milliseconds from 1e11 on. 1e11 seconds is the year 5138 and 1e11 milliseconds
  is 1973-03-03, so seconds of any real date and milliseconds from March 1973 on are read right;
  a millisecond time before March 1973 would be taken for seconds. Fractions are floored to
  the millisecond.
- Anything else (a missing or null column, a boolean, text that is not ISO-8601, nested JSON, a
  non-finite number, a date outside years 1 to 9999) is rejected with a reason for the
  dead-letter topic. So is a time more than ``MAX_AHEAD`` after its message's timestamp: one
  such row (a unit error: microseconds sent as milliseconds) would otherwise move the partition's
  watermark years ahead and make every later row too old to window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_AHEAD",
    "EventTimeRejection",
    "EventTimes",
    "event_time_of",
    "event_times",
    "format_instant",
    "parse_instant",
]

#: Numbers at or above this magnitude are epoch milliseconds, below it epoch seconds.
SECONDS_BELOW = 1e11
#: How far a row's event time may be after its message's timestamp: one day.
MAX_AHEAD = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MILLISECOND
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MILLISECOND


@dataclass(frozen=True, slots=True)
class EventTimeRejection:
    """Why a row has no usable event time: what the dead-letter record says."""

    reason: str


def parse_instant(text: str) -> int:
    """Return an ISO-8601 time (no zone: UTC) in epoch ms; raise ValueError saying what to send."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError, TypeError):
        raise ValueError(
            f"{str(text)[:64]!r} is not an ISO-8601 time; send one such as 2024-05-01T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def format_instant(milliseconds: int) -> str:
    """Return epoch ms as ISO-8601 in UTC, e.g. ``2024-05-01T10:00:00+00:00``."""
    return (_EPOCH + milliseconds * _MILLISECOND).isoformat()


def event_time_of(value: object) -> int | EventTimeRejection:
    """Return the event time (epoch ms) a column value gives, or why it gives none."""
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError as exc:
            return EventTimeRejection(f"event time {exc}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "null" if value is None else type(value).__name__
        return EventTimeRejection(
            f"event time is {kind}; send an ISO-8601 string or epoch seconds or milliseconds")
    if isinstance(value, float) and not math.isfinite(value):
        return EventTimeRejection(f"event time {value!r} is not a finite number")
    milliseconds = math.floor(value * 1000 if abs(value) < SECONDS_BELOW else value)
    if not _MIN_MS <= milliseconds <= _MAX_MS:
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
        return EventTimeRejection(
            f"event time {shown} is outside years 1 to 9999; send epoch seconds or milliseconds")
    return milliseconds


@dataclass(frozen=True, slots=True)
class EventTimes:
    """A batch's event times (epoch ms) and, by row index, why some rows have none."""

    times: npt.NDArray[np.int64]  # one a row; meaningless where rejected
    rejected: Mapping[int, str]


def event_times(
    rows: Sequence[Mapping[str, Any]], column: str | None, timestamps: Sequence[int]
) -> EventTimes:
    """Return each row's event time or rejection; ``timestamps`` are its messages' (ms, -1: none).

    A column of plain numbers, the common case, is read with numpy in one pass; other values
    one at a time (``event_time_of``).
    """
    stamps = np.asarray(timestamps, dtype=np.int64)
    if column is None:
        return EventTimes(stamps, {int(i): _NO_TIMESTAMP for i in np.flatnonzero(stamps < 0)})
    values = _column(rows, column)
    kinds = set(map(type, values))
    if values and kinds <= {int, float}:
        times, rejected = _numbers(values)
    elif kinds == {str}:
        times, rejected = _strings(values)
    else:
        times, rejected = _one_by_one(values, column)
    ahead = np.flatnonzero((stamps >= 0) & (times - stamps > MAX_AHEAD))
    for i in ahead.tolist():
        if i not in rejected:
            rejected[i] = (
                f"event time {format_instant(int(times[i]))} is more than a day after its "
                f"message's timestamp {format_instant(int(stamps[i]))}; check the producer's "
                "clock and units")
    return EventTimes(times, rejected)


def _column(rows: Sequence[Mapping[str, Any]], column: str) -> list[Any]:
    """Return the column's values, None where a row lacks it."""
    try:
        return list(map(itemgetter(column), rows))  # a loop in C while every row has it
    except KeyError:
        return [row.get(column) for row in rows]


def _numbers(values: list[Any]) -> tuple[npt.NDArray[np.int64], dict[int, str]]:
    """Return epoch ms of plain numbers by the seconds-or-milliseconds rule, vectorised."""
    try:
        numbers = np.array(values, dtype=np.float64)
    except OverflowError:  # an int beyond float64: let the one-by-one path say so
        return _one_by_one(values, "")
    with np.errstate(invalid="ignore", over="ignore"):
        milliseconds = np.floor(np.where(np.abs(numbers) < SECONDS_BELOW, numbers * 1000, numbers))
        good = np.isfinite(milliseconds) & (milliseconds >= _MIN_MS) & (milliseconds <= _MAX_MS)
    times = np.where(good, milliseconds, 0).astype(np.int64)
    rejected = {}
    for i in np.flatnonzero(~good).tolist():
        time = event_time_of(values[i])  # the reason, in words
        if isinstance(time, EventTimeRejection):
            rejected[i] = time.reason
        else:
            times[i] = time
    return times, rejected


def _strings(values: list[str]) -> tuple[npt.NDArray[np.int64], dict[int, str]]:
    """Return epoch ms of ISO-8601 strings: ``parse_instant`` without its per-call overhead."""
    times = np.zeros(len(values), dtype=np.int64)
    rejected = {}
    parse = datetime.fromisoformat
    for i, text in enumerate(values):
        try:
            moment = parse(text)
        except ValueError:
            time = event_time_of(text)  # stripped, or the reason in words
            if isinstance(time, EventTimeRejection):
                rejected[i] = time.reason
            else:
                times[i] = time
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        times[i] = (moment - _EPOCH) // _MILLISECOND
    return times, rejected


def _one_by_one(values: list[Any], column: str) -> tuple[npt.NDArray[np.int64], dict[int, str]]:
    times = np.zeros(len(values), dtype=np.int64)
    rejected = {}
    for i, value in enumerate(values):
        if value is None:
            rejected[i] = f"event-time column {column!r} is missing or null; send it in every row"
            continue
        time = event_time_of(value)
        if isinstance(time, EventTimeRejection):
            rejected[i] = time.reason
        else:
            times[i] = time
    return times, rejected


_NO_TIMESTAMP = "the message has no timestamp; configure an event_time column for this dataset"
