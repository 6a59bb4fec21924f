"""Divergences between two binned distributions, each with an interval that holds the exact value.

Inputs are per-bin masses of the reference (p) and the current (q) distribution, each an
estimate with an interval [lower, upper] that holds the exact mass (from the sketches' error).
Every divergence here is a sum (L-infinity: a max) of per-bin terms g(p, q) that are jointly
convex, zero where p = q, and homogeneous of degree 1 (g = p * phi(q / p) with phi convex,
phi(1) = 0). So over a box of masses a term is largest at one of the box's four corners, and
smallest (0 if the box meets the diagonal p = q) at the corner nearest the diagonal. Summing
each bin's extremes gives an interval for the whole: conservative, since it ignores that the
masses sum to 1, but it always holds the exact value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "PSI_FLOOR",
    "Boxes",
    "Estimate",
    "Masses",
    "chi2_per_row",
    "hellinger",
    "js_distance",
    "linf",
    "psi",
]

FloatArray = npt.NDArray[np.float64]
Term = Callable[[FloatArray, FloatArray], FloatArray]

#: Masses below this count as this in PSI, whose log ratio is infinite at an empty bin. The
#: usual choice (Evidently, most PSI write-ups): an empty bin then adds at most ~0.09 a bin.
PSI_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class Estimate:
    """A metric's value from the sketches and an interval that holds its exact value."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class Masses:
    """Estimated bin masses of one distribution with intervals that hold the exact masses."""

    value: FloatArray
    lower: FloatArray
    upper: FloatArray

    @classmethod
    def within(cls, value: FloatArray, error: float) -> Masses:
        """Return masses known to within ``error`` each, clipped to [0, 1]."""
        return cls(value, np.clip(value - error, 0.0, 1.0), np.clip(value + error, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class Boxes:
    """Both distributions' masses, stacked once for every divergence of the same bins.

    Rows of ``xs`` (reference) and ``ys`` (current): the estimates, the four corners of each
    bin's box, then the two corners nearest the diagonal (where a term is smallest when the box
    lies wholly above or below it).
    """

    xs: FloatArray
    ys: FloatArray
    above: npt.NDArray[np.bool_]  # the whole box above the diagonal q = p
    below: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, p: Masses, q: Masses) -> Boxes:
        """Return the boxes of the reference masses ``p`` and the current masses ``q``."""
        xs = np.stack([p.value, p.lower, p.lower, p.upper, p.upper, p.upper, p.lower])
        ys = np.stack([q.value, q.lower, q.upper, q.lower, q.upper, q.lower, q.upper])
        return cls(xs, ys, q.lower > p.upper, p.lower > q.upper)


def psi(boxes: Boxes) -> Estimate:
    """Return the population stability index, sum (q - p) ln(q / p), masses floored at 1e-4."""
    floored = Boxes(np.maximum(boxes.xs, PSI_FLOOR), np.maximum(boxes.ys, PSI_FLOOR),
                    boxes.above, boxes.below)
    return _summed(_psi_term, floored)


def js_distance(boxes: Boxes) -> Estimate:
    """Return the Jensen-Shannon distance in base 2 (the square root of the divergence), in [0, 1]."""
    # The divergence is never negative; rounding can make a bound -1e-17, which has no root.
    return _mapped(_summed(_js_term, boxes), lambda x: np.sqrt(np.maximum(x, 0.0)))


def hellinger(boxes: Boxes) -> Estimate:
    """Return the Hellinger distance sqrt(sum (sqrt p - sqrt q)^2 / 2), in [0, 1]."""
    return _mapped(_summed(_hellinger_term, boxes), lambda x: np.sqrt(np.maximum(x, 0.0) / 2.0))


def chi2_per_row(boxes: Boxes, reference_rows: int, current_rows: int) -> Estimate:
    """Return the chi-square statistic of the 2 x K table of both samples, divided by its rows.

    That is phi squared (Cramer's V squared for two samples), in [0, 1]: an effect size that does
    not grow with the sample sizes, where the statistic itself (and its p-value) does.
    """
    total = reference_rows + current_rows
    a, b = reference_rows / total, current_rows / total

    def term(x: FloatArray, y: FloatArray) -> FloatArray:
        """Return a b (x - y)^2 / (a x + b y), 0 where both shares are 0."""
        mixed = a * x + b * y
        with np.errstate(divide="ignore", invalid="ignore"):
            result = a * b * (x - y) ** 2 / mixed
        result[mixed == 0.0] = 0.0
        return result

    return _summed(term, boxes)


def linf(boxes: Boxes) -> Estimate:
    """Return the largest difference of one bin's masses (L-infinity), in [0, 1]."""
    value, low, high = _terms(_abs_term, boxes)
    return _clamped(float(np.max(value)), float(np.max(low)), float(np.max(high)))


def _summed(term: Term, boxes: Boxes) -> Estimate:
    value, low, high = _terms(term, boxes)
    return _clamped(float(np.sum(value)), float(np.sum(low)), float(np.sum(high)))


def _terms(term: Term, boxes: Boxes) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return each bin's term at the estimates, and its smallest and largest over its box."""
    values = term(boxes.xs, boxes.ys)
    high = values[1:5].max(axis=0)
    low = np.where(boxes.above, values[5], 0.0)
    low = np.where(boxes.below, values[6], low)
    return values[0], low, high


def _clamped(value: float, lower: float, upper: float) -> Estimate:
    """Return the estimate with its interval widened, if rounding put it outside, to hold it."""
    return Estimate(value, min(lower, value), max(upper, value))


def _mapped(estimate: Estimate, function: Callable[[FloatArray], FloatArray]) -> Estimate:
    """Apply a monotone function to an estimate and its interval."""
    values = function(np.array([estimate.value, estimate.lower, estimate.upper]))
    return Estimate(float(values[0]), float(values[1]), float(values[2]))


def _psi_term(p: FloatArray, q: FloatArray) -> FloatArray:
    return (q - p) * np.log(q / p)  # both floored above 0


def _js_term(p: FloatArray, q: FloatArray) -> FloatArray:
    mean = (p + q) / 2.0
    return (_xlog2(p, mean) + _xlog2(q, mean)) / 2.0


def _hellinger_term(p: FloatArray, q: FloatArray) -> FloatArray:
    return (np.sqrt(p) - np.sqrt(q)) ** 2


def _abs_term(p: FloatArray, q: FloatArray) -> FloatArray:
    return np.abs(q - p)


def _xlog2(x: FloatArray, mean: FloatArray) -> FloatArray:
    """Return x log2(x / mean), 0 where x is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = x * np.log2(x / mean)
    result[x == 0.0] = 0.0
    return result
