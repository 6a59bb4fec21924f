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
from typing import Any

__all__ = [
    "MAX_AHEAD",
    "EventTimeRejection",
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
    if not math.isfinite(value):
        return EventTimeRejection(f"event time {value!r} is not a finite number")
    milliseconds = math.floor(value * 1000 if abs(value) < SECONDS_BELOW else value)
    if not _MIN_MS <= milliseconds <= _MAX_MS:
        return EventTimeRejection(
            f"event time {value!r} is outside years 1 to 9999; send epoch seconds or milliseconds")
    return milliseconds


def event_times(
    rows: Sequence[Mapping[str, Any]], column: str | None, timestamps: Sequence[int]
) -> list[int | EventTimeRejection]:
    """Return each row's event time (epoch ms) or rejection; ``timestamps`` are its messages'."""
    if column is None:
        return [stamp if stamp >= 0 else _NO_TIMESTAMP for stamp in timestamps]
    times: list[int | EventTimeRejection] = []
    for row, stamp in zip(rows, timestamps, strict=True):
        value = row.get(column)
        if value is None:
            times.append(EventTimeRejection(
                f"event-time column {column!r} is missing or null; send it in every row"))
            continue
        time = event_time_of(value)
        if isinstance(time, int) and stamp >= 0 and time - stamp > MAX_AHEAD:
            time = EventTimeRejection(
                f"event time {format_instant(time)} is more than a day after its message's "
                f"timestamp {format_instant(stamp)}; check the producer's clock and units")
        times.append(time)
    return times


_NO_TIMESTAMP = EventTimeRejection(
    "the message has no timestamp; configure an event_time column for this dataset")
