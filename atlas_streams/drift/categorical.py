"""Drift of a string, boolean or mixed column from two frequent-items sketches: JS, L-inf, chi2.

Buckets are the union of both sides' frequent values (those the sketch knows to be more frequent
than any value it left out; every value while the sketch is exact) plus one "other" bucket for
the rest. A bucket's mass is its count over the column's non-null values; the sketch bounds each
count (hard bounds), so each mass, and "other" as one minus the rest, has an interval that holds
the exact mass. JS, L-infinity and chi-square per row follow with intervals (``divergence``).
"""

from __future__ import annotations

import numpy as np

from atlas_streams.drift.divergence import (
    Boxes,
    Estimate,
    Masses,
    chi2_per_row,
    js_distance,
    linf,
)
from atlas_streams.drift.inputs import ColumnInput, TokenCounts

__all__ = ["buckets", "categorical_metrics"]


def buckets(reference: TokenCounts, current: TokenCounts) -> list[str]:
    """Return the union of both sides' frequent tokens, the reference's first."""
    return list(dict.fromkeys([*reference.frequent(), *current.frequent()]))


def categorical_metrics(reference: ColumnInput, current: ColumnInput) -> dict[str, Estimate | None]:
    """Return js, linf and chi2 (None where a side has no values)."""
    if not reference.count or not current.count:
        return dict.fromkeys(("js", "linf", "chi2"))
    ref, cur = reference.tokens(), current.tokens()
    tokens = buckets(ref, cur)
    boxes = Boxes.of(_masses(ref, tokens), _masses(cur, tokens))
    return {
        "js": js_distance(boxes),
        "linf": linf(boxes),
        "chi2": chi2_per_row(boxes, ref.total, cur.total),
    }


def _masses(counts: TokenCounts, tokens: list[str]) -> Masses:
    """Return the masses of each token and of "other" (last), with intervals."""
    total = float(counts.total)
    estimate, lower, upper = (array / total for array in counts.bounds(tokens))
    known = float(estimate.sum())
    if known > 1.0:  # estimates may overshoot; keep the point estimate a distribution
        estimate = estimate / known
        known = 1.0
    other = np.array([1.0 - known])
    return Masses(
        np.concatenate([estimate, other]),
        np.concatenate([lower, np.clip([1.0 - float(upper.sum())], 0.0, 1.0)]),
        np.concatenate([np.minimum(upper, 1.0), np.clip([1.0 - float(lower.sum())], 0.0, 1.0)]),
    )
