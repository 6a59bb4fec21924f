"""Mergeable, bounded column profiles of streamed datasets (pure: no faust, no I/O).

Use::

    profile = DatasetProfile.zero(ProfileOptions())
    profile.update(rows, now)            # rows: decoded JSON objects
    merged = profile.merge(other)        # a new profile; zero() is the identity
    DatasetProfile.from_bytes(profile.to_bytes())
    profile.report("flights")            # the profile JSON of the contract

What each kind of value feeds to which sketch is decided in ``canonical``; exact statistics
live in ``moments``; the sketches (KLL quantiles, exact-then-CPC distinct counts, frequent
items) in ``quantiles``, ``distinct`` and ``frequency``.

Size: with the default ProfileOptions one column's serialized state has a fixed maximum,
whatever the stream length. Measured (msgpack of ``ColumnProfile.to_state()``, 1e6 values):
about 32 KB for a numeric column and 9.4 KB for a string column once the sketches are full;
the peak, about 35 KB, is a numeric or mixed column with exactly 1,000 distinct values, where
the exact set of 1,000 64-bit hashes (8 KB) is still kept beside the full KLL sketch.
``tests/unit/profiling/test_dataset.py`` asserts <= 36,000 bytes. A dataset profile travels as
one Kafka message (Kafka's default limit is 1 MB), so budget about 30 numeric or 100 string
columns a dataset at the defaults; ``ProfileOptions(kll_k=269)`` (1% rank error) takes a
numeric column down to about 13 KB.

Stated bounds (defaults; each is reported next to its estimate): quantiles within 0.27%
normalized rank error (``quantile_rank_error``); distinct counts exact up to 1,000 distinct values and
within about 2% above (``distinct_bounds``, two standard deviations); every value more frequent
than 2.7% of a column is in ``top_values``, each with ``count_bounds``.
"""

from atlas_streams.profiling.column import ColumnProfile
from atlas_streams.profiling.dataset import DatasetProfile
from atlas_streams.profiling.errors import (
    IncompatibleProfilesError,
    ProfileError,
    ProfileFormatError,
)
from atlas_streams.profiling.options import QUANTILE_RANKS, ProfileOptions

__all__ = [
    "QUANTILE_RANKS",
    "ColumnProfile",
    "DatasetProfile",
    "IncompatibleProfilesError",
    "ProfileError",
    "ProfileFormatError",
    "ProfileOptions",
]
