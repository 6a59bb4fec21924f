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

import functools
import math
from dataclasses import dataclass

import numpy as np

from atlas_streams.drift.divergence import Boxes, Estimate, Masses, hellinger, js_distance, psi
from atlas_streams.drift.inputs import ColumnInput, FloatArray, NumberSketch

__all__ = ["DECILES", "GRID", "bin_edges", "numeric_metrics"]

DECILES = tuple(i / 10 for i in range(1, 10))
#: Grid ranks for KS and Wasserstein: 1/GRID (0.004) is KS's discretisation bound.
GRID = 250
_RANKS = np.linspace(0.0, 1.0, GRID + 1)
_STARTS = np.arange(GRID) / GRID


@dataclass(frozen=True, slots=True)
class _Quantiles:
    """What one sketch answers in one query (each query re-sorts the sketch: ~30 us at k=1024)."""

    grid: FloatArray  # at ranks i / GRID
    deciles: FloatArray
    cell_low: FloatArray  # per grid cell: at rank i / GRID - eps, below the data's quantiles
    cell_high: FloatArray  # per grid cell: at rank (i + 1) / GRID + eps, above them


def _read(sketch: NumberSketch) -> _Quantiles:
    error = sketch.rank_error
    values = sketch.quantiles(_ranks(error))
    grid, deciles = values[: GRID + 1], values[GRID + 1 : GRID + 10]
    if not error:  # an exact sketch: the cells' own ends bracket the data's quantiles
        return _Quantiles(grid, deciles, grid[:-1], grid[1:])
    return _Quantiles(grid, deciles, values[GRID + 10 : 2 * GRID + 10], values[2 * GRID + 10 :])


@functools.lru_cache(maxsize=64)
def _ranks(error: float) -> list[float]:
    """Return the ranks ``_read`` asks for; sketches of one k share one list."""
    if not error:
        return [*_RANKS.tolist(), *DECILES]
    low = np.clip(_STARTS - error, 0.0, 1.0)
    high = np.clip(_STARTS + 1.0 / GRID + error, 0.0, 1.0)
    ranks: list[float] = np.concatenate([_RANKS, DECILES, low, high]).tolist()
    return ranks


def bin_edges(reference: NumberSketch) -> FloatArray:
    """Return the reference's deciles from its sketch, equal ones merged, ascending."""
    return np.unique(_read(reference).deciles)


def numeric_metrics(reference: ColumnInput, current: ColumnInput) -> dict[str, Estimate | None]:
    """Return psi, js, hellinger, ks and wasserstein (None where a side has no numbers)."""
    if not reference.count or not current.count:
        return dict.fromkeys(("psi", "js", "hellinger", "ks", "wasserstein"))
    ref, cur = reference.numbers(), current.numbers()
    ref_q, cur_q = _read(ref), _read(cur)
    edges = np.unique(ref_q.deciles)
    points = np.unique(np.concatenate([ref_q.grid, cur_q.grid, edges]))
    ref_cdf, cur_cdf = ref.cdf(points), cur.cdf(points)  # one query each: KS and the bins
    at_edges = np.searchsorted(points, edges)
    boxes = Boxes.of(Masses.within(_masses(ref_cdf[at_edges]), ref.mass_error),
                     Masses.within(_masses(cur_cdf[at_edges]), cur.mass_error))
    gap = float(np.max(np.abs(ref_cdf - cur_cdf)))
    error = ref.rank_error + cur.rank_error
    return {
        "psi": psi(boxes),
        "js": js_distance(boxes),
        "hellinger": hellinger(boxes),
        "ks": Estimate(gap, max(0.0, gap - error), min(1.0, gap + 1.0 / GRID + error)),
        "wasserstein": _wasserstein(ref_q, cur_q, reference.std),
    }


def _masses(cdf_at_edges: FloatArray) -> FloatArray:
    """Return the masses of (-inf, e1], ..., (e_last, +inf) from P(X <= e) at the edges."""
    return np.diff(np.concatenate([[0.0], cdf_at_edges, [1.0]]))


def _wasserstein(ref: _Quantiles, cur: _Quantiles, std: float | None) -> Estimate | None:
    if std is None or std <= 0.0 or not math.isfinite(std):
        return None  # a constant reference: other metrics see any change
    lows = np.maximum.reduce([np.zeros(GRID), ref.cell_low - cur.cell_high,
                              cur.cell_low - ref.cell_high])
    highs = np.maximum(ref.cell_high - cur.cell_low, cur.cell_high - ref.cell_low)
    gaps = np.abs(ref.grid - cur.grid)
    value = float(np.mean((gaps[:-1] + gaps[1:]) / 2.0))  # trapezoids over the grid cells
    lower, upper = float(np.mean(lows)), float(np.mean(highs))
    value = min(max(value, lower), upper)
    return Estimate(value / std, lower / std, upper / std)
