"""Profile reports rendered once per profile version, not once per request.

Rendering a dataset's report (reading its sketches back and computing quantiles, histograms and
top values) took ~1.2 ms in process for the 20-column benchmark table and ~5 ms per request in a
busy worker: at 200 requests a second that alone wanted a whole core, and a rebalance on top
queued requests for a second and more. A report only changes when the merged profile's bytes
change, so each dataset's last report is kept with the bytes it was made from.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from atlas_streams.profiling import DatasetProfile

__all__ = ["ReportCache"]


class ReportCache:
    """The last report of up to ``size`` datasets, each with the profile bytes it came from."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()

    def report(self, dataset: str, value: bytes) -> dict[str, Any]:
        """Return the report of ``dataset``'s profile stored as ``value`` (do not mutate it)."""
        entry = self._entries.get(dataset)
        if entry is not None and entry[0] == value:
            self._entries.move_to_end(dataset)
            return entry[1]
        report = DatasetProfile.from_bytes(value).report(dataset)
        self._entries[dataset] = (value, report)
        self._entries.move_to_end(dataset)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return report
