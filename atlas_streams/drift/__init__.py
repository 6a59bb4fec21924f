"""Drift between two dataset profiles, read from their sketches (pure: no faust, no I/O).

Use::

    report = compare(reference, current, DriftThresholds(psi=0.25),
                     reference_label="run:abc", current_label="window:2024-05-01T10:00:00+00:00")
    report.to_json()      # the contract's drift answer
    report.breaches()     # (column, metric, value, threshold): one drift event each

Numeric columns get PSI, Jensen-Shannon distance and Hellinger over 10 bins cut at the
reference's deciles, KS, and Wasserstein over the reference's std (``numeric``); the others get
Jensen-Shannon, L-infinity and chi-square per row over their frequent values plus "other"
(``categorical``); both get the null-rate change and the distinct ratio. Every metric comes with
an interval, from the sketches' own errors, that holds the value the raw rows would give
(tests/unit/drift check it against numpy and scipy). Only ``inputs`` reads profiles.
"""

from atlas_streams.drift.divergence import Estimate
from atlas_streams.drift.errors import DriftError, ThresholdsError
from atlas_streams.drift.report import Breach, ColumnDrift, DriftReport, SchemaChanges, compare
from atlas_streams.drift.thresholds import DriftThresholds

__all__ = [
    "Breach",
    "ColumnDrift",
    "DriftError",
    "DriftReport",
    "DriftThresholds",
    "Estimate",
    "SchemaChanges",
    "ThresholdsError",
    "compare",
]
