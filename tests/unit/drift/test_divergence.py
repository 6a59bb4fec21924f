"""Each divergence's interval holds its value at every mass inside the boxes, and is tight."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_streams.drift.divergence import (
    Boxes,
    Estimate,
    Masses,
    chi2_per_row,
    hellinger,
    js_distance,
    linf,
    psi,
)

METRICS: dict[str, Callable[[Masses, Masses], Estimate]] = {
    "psi": lambda p, q: psi(Boxes.of(p, q)),
    "js": lambda p, q: js_distance(Boxes.of(p, q)),
    "hellinger": lambda p, q: hellinger(Boxes.of(p, q)),
    "linf": lambda p, q: linf(Boxes.of(p, q)),
    "chi2": lambda p, q: chi2_per_row(Boxes.of(p, q), 300, 700),
}


def _point(values: np.ndarray) -> Masses:
    return Masses(values, values, values)


@st.composite
def boxes(draw: st.DrawFn) -> tuple[Masses, Masses]:
    """Return two sets of 1 to 4 bins, each mass with an interval around it."""
    bins = draw(st.integers(1, 4))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    sides = []
    for _ in range(2):
        values = np.array([draw(unit) for _ in range(bins)])
        below = np.array([draw(unit) for _ in range(bins)]) * values * 0.5
        above = np.array([draw(unit) for _ in range(bins)]) * (1 - values) * 0.5
        sides.append(Masses(values, values - below, values + above))
    return sides[0], sides[1]


@settings(max_examples=150, deadline=None)
@given(boxes())
def test_every_mass_in_the_boxes_gives_a_value_inside_the_interval(pair: tuple[Masses, Masses]) -> None:
    p, q = pair
    for name, metric in METRICS.items():
        estimate = metric(p, q)
        assert estimate.lower <= estimate.value <= estimate.upper, name
        samples = [metric(_point(x), _point(y)).value for x, y in _grid(p, q)]
        assert min(samples) >= estimate.lower - 1e-12, name
        assert max(samples) <= estimate.upper + 1e-12, name


def _grid(p: Masses, q: Masses) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return mass vectors spread over both boxes: corners, midpoints and the estimates."""
    def levels(m: Masses) -> list[np.ndarray]:
        return [m.lower, m.value, m.upper, (m.lower + m.upper) / 2]
    return list(itertools.product(levels(p), levels(q)))


def test_one_bin_interval_is_tight_at_the_corners() -> None:
    """A single bin's interval is reached: its bounds are values at corners of the box."""
    p = Masses(np.array([0.3]), np.array([0.2]), np.array([0.4]))
    q = Masses(np.array([0.7]), np.array([0.6]), np.array([0.8]))
    estimate = METRICS["linf"](p, q)
    assert (estimate.lower, estimate.upper) == (0.6 - 0.4, 0.8 - 0.2)
    estimate = METRICS["hellinger"](p, q)
    assert estimate.lower == METRICS["hellinger"](_point(np.array([0.4])),
                                                  _point(np.array([0.6]))).value
    assert estimate.upper == METRICS["hellinger"](_point(np.array([0.2])),
                                                  _point(np.array([0.8]))).value


def test_equal_distributions_give_zero_and_disjoint_ones_the_maximum() -> None:
    same = _point(np.array([0.25, 0.25, 0.5]))
    for name, metric in METRICS.items():
        assert metric(same, same) == Estimate(0.0, 0.0, 0.0), name
    apart = Boxes.of(_point(np.array([1.0, 0.0])), _point(np.array([0.0, 1.0])))
    assert js_distance(apart).value == 1.0
    assert hellinger(apart).value == 1.0
    assert linf(apart).value == 1.0
    assert chi2_per_row(apart, 500, 500).value == 1.0  # phi squared of a perfect split
    assert psi(apart).value == pytest.approx(2 * (1 - 1e-4) * np.log(1 / 1e-4))


def test_psi_floors_empty_bins() -> None:
    p = _point(np.array([0.5, 0.5, 0.0]))
    q = _point(np.array([0.5, 0.4, 0.1]))
    expected = (0.4 - 0.5) * np.log(0.4 / 0.5) + (0.1 - 1e-4) * np.log(0.1 / 1e-4)
    assert psi(Boxes.of(p, q)).value == pytest.approx(expected)
