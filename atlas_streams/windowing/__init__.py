"""Event-time tumbling windows of a dataset's profile (pure: no faust, no I/O)."""

from atlas_streams.windowing.config import WindowingConfig, format_duration, parse_duration
from atlas_streams.windowing.errors import WindowingConfigError, WindowingError, WindowStateError
from atlas_streams.windowing.event_time import (
    EventTimeRejection,
    event_time_of,
    format_instant,
    parse_instant,
)

__all__ = [
    "EventTimeRejection",
    "WindowStateError",
    "WindowingConfig",
    "WindowingConfigError",
    "WindowingError",
    "event_time_of",
    "format_duration",
    "format_instant",
    "parse_duration",
    "parse_instant",
]
