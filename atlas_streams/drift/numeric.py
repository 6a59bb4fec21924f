"""Drift of a numeric column from two KLL sketches: PSI, JS, Hellinger, KS and Wasserstein.

Bins are cut at the reference's deciles, read from its sketch: (-inf, q1], (q1, q2], ...,
(q9, +inf), equal edges merged (a column of few distinct values has fewer bins). Both sketches
give each bin's mass within their double-sided rank error (0 for a sketch that still holds every
value); PSI, Jensen-Shannon and Hellinger follow with intervals (``divergence``).

KS and Wasserstein are read from a grid of ``GRID`` + 1 quantiles of each sketch (ranks i/GRID):

- KS is the largest gap of the two sketches' CDFs, P(X <= x), at every grid point of either. A
  sketch's CDF rises by less than 1/GRID between two of its grid points, so the sketches' true
  largest gap is at most 1/GRID above; each CDF is within its single-sided rank error eps of the
  data's, so the exact KS lies in [gap - eps_r - eps_c, gap + 1/GRID + eps_r + eps_c].
- Wasserstein-1 is the integral over ranks u of |Q_r(u) - Q_c(u)|, divided by the reference's
  exact std (ddof=1), estimated by trapezoids on the grid. On a cell [i, i+1]/GRID the data's
  quantile function lies between the sketch's quantiles at ranks i/GRID - eps and
  (i+1)/GRID + eps (min and max are exact), which bounds each cell's |difference| and so the
  integral. The interval is about (range_r + range_c) / GRID + 2 (eps_r + eps_c) x range wide:
  a rank error of eps may hide mass anywhere up to the min or max, so a long-tailed column's is
  wide (measured in bench/RESULTS.md). That is the sketches' guarantee, not slack: their actual
  error is usually far smaller.
"""

from __future__ import annotations

import math

import numpy as np

from atlas_streams.drift.divergence import Estimate, Masses, hellinger, js_distance, psi
from atlas_streams.drift.inputs import ColumnInput, FloatArray, NumberSketch

__all__ = ["DECILES", "GRID", "bin_edges", "numeric_metrics"]

DECILES = tuple(i / 10 for i in range(1, 10))
#: Grid ranks for KS and Wasserstein: 1/GRID (0.004) is KS's discretisation bound.
GRID = 250
_RANKS = np.linspace(0.0, 1.0, GRID + 1).tolist()
_STARTS = np.arange(GRID) / GRID


def bin_edges(reference: NumberSketch) -> FloatArray:
    """Return the reference's deciles from its sketch, equal ones merged, ascending."""
    return np.unique(reference.quantiles(DECILES))


def numeric_metrics(reference: ColumnInput, current: ColumnInput) -> dict[str, Estimate | None]:
    """Return psi, js, hellinger, ks and wasserstein (None where a side has no numbers)."""
    if not reference.count or not current.count:
        return dict.fromkeys(("psi", "js", "hellinger", "ks", "wasserstein"))
    ref, cur = reference.numbers(), current.numbers()
    edges = bin_edges(ref)
    p = Masses.within(ref.masses(edges), ref.mass_error)
    q = Masses.within(cur.masses(edges), cur.mass_error)
    ref_grid, cur_grid = ref.quantiles(_RANKS), cur.quantiles(_RANKS)
    return {
        "psi": psi(p, q),
        "js": js_distance(p, q),
        "hellinger": hellinger(p, q),
        "ks": _ks(ref, cur, ref_grid, cur_grid),
        "wasserstein": _wasserstein(ref, cur, ref_grid, cur_grid, reference.std),
    }


def _ks(ref: NumberSketch, cur: NumberSketch, ref_grid: FloatArray,
        cur_grid: FloatArray) -> Estimate:
    points = np.unique(np.concatenate([ref_grid, cur_grid]))
    gap = float(np.max(np.abs(ref.cdf(points) - cur.cdf(points))))
    error = ref.rank_error + cur.rank_error
    return Estimate(gap, max(0.0, gap - error), min(1.0, gap + 1.0 / GRID + error))


def _wasserstein(ref: NumberSketch, cur: NumberSketch, ref_grid: FloatArray,
                 cur_grid: FloatArray, std: float | None) -> Estimate | None:
    if std is None or std <= 0.0 or not math.isfinite(std):
        return None  # a constant reference: other metrics see any change
    ref_low, ref_high = _cell_ranges(ref, ref_grid)
    cur_low, cur_high = _cell_ranges(cur, cur_grid)
    lows = np.maximum.reduce([np.zeros(GRID), ref_low - cur_high, cur_low - ref_high])
    highs = np.maximum(ref_high - cur_low, cur_high - ref_low)
    gaps = np.abs(ref_grid - cur_grid)
    value = float(np.mean((gaps[:-1] + gaps[1:]) / 2.0))  # trapezoids over the grid cells
    lower, upper = float(np.mean(lows)), float(np.mean(highs))
    value = min(max(value, lower), upper)
    return Estimate(value / std, lower / std, upper / std)


def _cell_ranges(sketch: NumberSketch, grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return, for each grid cell, the range the exact quantile function covers on it."""
    error = sketch.rank_error
    if not error:
        return grid[:-1], grid[1:]
    low = sketch.quantiles(np.clip(_STARTS - error, 0.0, 1.0).tolist())
    high = sketch.quantiles(np.clip(_STARTS + 1.0 / GRID + error, 0.0, 1.0).tolist())
    return low, high
