"""Event-time tumbling windows of a dataset's profile (pure: no faust, no I/O).

Two writers, as for the all-time profile:

- the owner of each (dataset, source partition) plans a batch against the state's offset
  watermark (``tables.partial.plan_batch``), then ``apply_batch`` windows the new rows into the
  partition's ``PartitionWindows`` (dead-lettering the ``rejections``) and writes it;
- one writer per dataset reads those states in write order, ``absorb``s each into one
  ``WindowProfile`` per window and the dataset's ``DatasetClock``, writes the changed windows,
  deletes the expired ones, and computes drift for the ``closed`` and ``corrected`` ones; every
  few seconds ``tick`` closes a quiet dataset's windows. Owners drop what it folded with
  ``acknowledge``.

``WindowingConfig`` parses the PUT body; ``event_time`` has the rules for reading a row's time.
Every verb returns new values and leaves its inputs unchanged.
"""

from atlas_streams.windowing.config import (
    WINDOW_PROFILE_OPTIONS,
    WindowingConfig,
    format_duration,
    parse_duration,
)
from atlas_streams.windowing.errors import WindowingConfigError, WindowingError, WindowStateError
from atlas_streams.windowing.event_time import (
    EventTimeRejection,
    event_time_of,
    format_instant,
    parse_instant,
)
from atlas_streams.windowing.merger import DatasetClock, MergeStep, absorb, needed, resume, tick
from atlas_streams.windowing.partition import (
    PartitionStep,
    PartitionWindows,
    Rejection,
    WindowBatch,
    acknowledge,
    apply_batch,
)
from atlas_streams.windowing.window import WindowProfile, merge_windows

__all__ = [
    "WINDOW_PROFILE_OPTIONS",
    "DatasetClock",
    "EventTimeRejection",
    "MergeStep",
    "PartitionStep",
    "PartitionWindows",
    "Rejection",
    "WindowBatch",
    "WindowProfile",
    "WindowStateError",
    "WindowingConfig",
    "WindowingConfigError",
    "WindowingError",
    "absorb",
    "acknowledge",
    "apply_batch",
    "event_time_of",
    "format_duration",
    "format_instant",
    "merge_windows",
    "needed",
    "parse_duration",
    "parse_instant",
    "resume",
    "tick",
]
