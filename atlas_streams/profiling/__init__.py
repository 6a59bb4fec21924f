"""Mergeable, bounded column profiles of streamed datasets (pure: no faust, no I/O).

Use::

    profile = DatasetProfile.zero(ProfileOptions())
    profile.update(rows, now)            # rows: decoded JSON objects
    merged = profile.merge(other)        # a new profile; zero() is the identity
    DatasetProfile.from_bytes(profile.to_bytes())
    profile.report("flights")            # the profile JSON of the contract

How rows become columns (nested objects, arrays) is decided in ``flatten``; what each kind of
value feeds to which sketch in ``canonical`` and ``keys``; exact statistics live in ``moments``;
distinct counts and top values in ``values`` (an exact table of every value's count, ``exact``,
then CPC and frequent-items sketches, ``distinct`` and ``frequency``); quantiles in
``quantiles`` (KLL).

Size: a column's state is zstd-compressed msgpack (``codec``). Once sketched it has a fixed
maximum whatever the stream length (measured: at most ~26 KB, a KLL of random float64s; ~12 KB
for prices; ~3 KB for a string column); while exact it grows with its distinct values
(10,000 short strings ~33 KB). ``DatasetProfile.to_bytes`` keeps a whole profile within
``ProfileOptions.max_profile_bytes`` (768,000) so it is one Kafka message under the default
1 MB limit: over it, the largest KLL sketches halve their k down to 256, then the largest exact
tables become sketches, then k halves further (tests/unit/profiling/test_dataset.py: 30
numeric and 100 string columns).

Stated bounds (defaults; each is reported next to its estimate): quantiles within 0.27%
normalized rank error (``quantile_rank_error``, less accurate only for a column whose k had to
shrink to fit); distinct counts and top values exact up to 10,000 distinct values, above that
within about 2% (``distinct_bounds``, two standard deviations, never above the non-null count)
and every value more frequent than 2.7% of a column in ``top_values`` with ``count_bounds``.
"""

from atlas_streams.profiling.column import ColumnProfile
from atlas_streams.profiling.dataset import DatasetProfile, PreparedRows, with_freshness
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
    "PreparedRows",
    "ProfileOptions",
    "with_freshness",
]
