"""Every drift metric from sketches lies within its stated bounds of the exact figure.

The exact figures come from numpy and scipy on the same rows, over the same bins (see
``exact``): data with known shifts, long tails, ties, a few hundred rows (sketches still exact)
and identical data, at the profile's default sketch size and at a small window-sized one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from atlas_streams.drift import DriftThresholds, compare
from atlas_streams.drift.categorical import buckets
from atlas_streams.drift.inputs import column_input
from atlas_streams.drift.numeric import bin_edges
from atlas_streams.profiling import DatasetProfile, ProfileOptions
from tests.unit.drift.exact import categorical_truth, numeric_truth

DEFAULT = ProfileOptions()
WINDOW = ProfileOptions(kll_k=200)
SLACK = 1e-9  # float rounding of the exact figures


def profile_of(values: Sequence[Any], options: ProfileOptions, chunks: int = 7) -> DatasetProfile:
    """Return the profile of one column ``x``, built from merged chunks as a stream would."""
    total = DatasetProfile.zero(options)
    for part in np.array_split(np.arange(len(values)), chunks):
        piece = DatasetProfile.zero(options)
        piece.update([{"x": values[i]} for i in part], 0.0)
        total = total.merge(piece)
    return total


def _numbers(seed: int, make: Callable[[np.random.Generator], tuple[Any, Any]]) -> tuple[Any, Any]:
    return make(np.random.default_rng(seed))


NUMERIC_CASES: dict[str, Callable[[np.random.Generator], tuple[Any, Any]]] = {
    "mean shift": lambda r: (r.normal(0, 1, 60_000), r.normal(0.5, 1, 50_000)),
    "scale": lambda r: (r.normal(0, 1, 60_000), r.normal(0, 1.5, 50_000)),
    "long tail": lambda r: (r.lognormal(0, 1, 60_000), r.lognormal(0.2, 1.2, 50_000)),
    "ties": lambda r: (r.poisson(3.0, 60_000) * 1.0, r.poisson(3.6, 50_000) * 1.0),
    "same law": lambda r: (r.normal(0, 1, 60_000), r.normal(0, 1, 50_000)),
    "few rows": lambda r: (r.normal(0, 1, 150), r.normal(0.3, 1, 120)),
}


@pytest.mark.parametrize("options", [DEFAULT, WINDOW], ids=["k=1024", "k=200"])
@pytest.mark.parametrize("case", list(NUMERIC_CASES))
def test_numeric_metrics_hold_the_exact_figures(case: str, options: ProfileOptions) -> None:
    ref_values, cur_values = _numbers(sum(map(ord, case)), NUMERIC_CASES[case])
    reference = profile_of(ref_values.tolist(), options)
    current = profile_of(cur_values.tolist(), options)
    column = compare(reference, current).columns["x"]
    edges = bin_edges(column_input(reference.columns["x"]).numbers())
    truth = numeric_truth(ref_values, cur_values, edges)
    for name, exact in truth.items():
        metric = column.metrics[name]
        assert metric is not None
        assert metric.lower - SLACK <= exact <= metric.upper + SLACK, (name, exact, metric)
        assert metric.lower <= metric.value <= metric.upper


@pytest.mark.parametrize("options", [DEFAULT, WINDOW], ids=["k=1024", "k=200"])
def test_identical_numbers_give_zero_within_bounds(options: ProfileOptions) -> None:
    values = np.random.default_rng(5).normal(10, 3, 80_000)
    reference = profile_of(values.tolist(), options, chunks=3)
    current = profile_of(values[::-1].tolist(), options, chunks=11)  # other order and chunks
    column = compare(reference, current).columns["x"]
    for name in ("psi", "js", "hellinger", "ks", "wasserstein"):
        metric = column.metrics[name]
        assert metric is not None
        assert metric.lower == 0.0 <= metric.value <= metric.upper, name
    assert not column.drift


def test_default_sketches_can_certify_no_drift() -> None:
    """On two samples of one law every upper bound stays below its threshold at the defaults."""
    rng = np.random.default_rng(8)
    reference = profile_of(rng.normal(0, 1, 100_000).tolist(), DEFAULT)
    current = profile_of(rng.normal(0, 1, 100_000).tolist(), DEFAULT)
    column = compare(reference, current).columns["x"]
    thresholds = DriftThresholds()
    for name in ("psi", "js", "hellinger", "ks", "wasserstein"):
        metric = column.metrics[name]
        assert metric is not None
        assert metric.upper < getattr(thresholds, name), name


def _tokens(rng: np.random.Generator, exponent: float, size: int, labels: int) -> list[str]:
    """Return Zipf-distributed labels over ``labels`` values."""
    picks = rng.zipf(exponent, size) % labels
    return [f"v{i}" for i in picks.tolist()]


CATEGORICAL_CASES: dict[str, Callable[[np.random.Generator], tuple[list[str], list[str]]]] = {
    "zipf shift, thousands of values": lambda r: (_tokens(r, 1.3, 60_000, 3_000),
                                                  _tokens(r, 1.6, 50_000, 3_000)),
    "zipf, same law": lambda r: (_tokens(r, 1.3, 60_000, 3_000), _tokens(r, 1.3, 50_000, 3_000)),
    "few values, new ones": lambda r: (list(r.choice(["a", "b", "c"], 20_000, p=[.5, .3, .2])),
                                       list(r.choice(["a", "b", "d"], 20_000, p=[.2, .3, .5]))),
}


@pytest.mark.parametrize("case", list(CATEGORICAL_CASES))
def test_categorical_metrics_hold_the_exact_figures(case: str) -> None:
    ref_values, cur_values = CATEGORICAL_CASES[case](np.random.default_rng(len(case)))
    reference, current = profile_of(ref_values, DEFAULT), profile_of(cur_values, DEFAULT)
    column = compare(reference, current).columns["x"]
    tokens = buckets(column_input(reference.columns["x"]).tokens(),
                     column_input(current.columns["x"]).tokens())
    # String tokens are "s" + the string (profiling.canonical).
    truth = categorical_truth(ref_values, cur_values, [token[1:] for token in tokens])
    for name, exact in truth.items():
        metric = column.metrics[name]
        assert metric is not None
        assert metric.lower - SLACK <= exact <= metric.upper + SLACK, (name, exact, metric)


def test_identical_categories_give_zero() -> None:
    values = _tokens(np.random.default_rng(2), 1.2, 40_000, 500)
    column = compare(profile_of(values, DEFAULT), profile_of(values[::-1], DEFAULT, 4)).columns["x"]
    for name in ("js", "linf", "chi2"):
        metric = column.metrics[name]
        assert metric is not None
        assert metric.lower == 0.0 <= metric.value <= metric.upper, name
        assert metric.value < 0.01, name
    assert not column.drift


def test_booleans_compare_as_categories() -> None:
    rng = np.random.default_rng(4)
    reference = profile_of((rng.random(10_000) < 0.3).tolist(), DEFAULT)
    current = profile_of((rng.random(10_000) < 0.6).tolist(), DEFAULT)
    column = compare(reference, current).columns["x"]
    assert column.type == "boolean"
    linf = column.metrics["linf"]
    assert linf is not None and linf.lower == linf.upper  # two values: exact counts
    assert linf.value == pytest.approx(0.3, abs=0.02)
    assert column.drift and "linf" in column.by
