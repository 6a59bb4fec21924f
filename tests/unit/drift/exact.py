"""Exact drift metrics from raw values with numpy and scipy, on the bins the sketches chose.

The bin definition is the drift package's: numbers in (-inf, e1], ..., (e_last, +inf) with the
edges the reference sketch gave; values in the union of frequent tokens plus "other". Only the
masses are exact here, computed from every row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from atlas_streams.drift.divergence import PSI_FLOOR

FloatArray = npt.NDArray[np.float64]

__all__ = ["categorical_truth", "numeric_truth"]


def _psi(p: FloatArray, q: FloatArray) -> float:
    p, q = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def _hellinger(p: FloatArray, q: FloatArray) -> float:
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2.0))


def _binned(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Return the masses of (-inf, e1], (e1, e2], ..., (e_last, +inf)."""
    index = np.searchsorted(edges, values, side="left")
    return np.bincount(index, minlength=edges.size + 1) / values.size


def numeric_truth(reference: FloatArray, current: FloatArray, edges: FloatArray) -> dict[str, float]:
    """Return psi, js, hellinger, ks and wasserstein of the raw numbers."""
    p, q = _binned(reference, edges), _binned(current, edges)
    return {
        "psi": _psi(p, q),
        "js": float(jensenshannon(p, q, base=2)),
        "hellinger": _hellinger(p, q),
        "ks": float(ks_2samp(reference, current).statistic),
        "wasserstein": float(wasserstein_distance(reference, current)
                             / np.std(reference, ddof=1)),
    }


def categorical_truth(reference: Sequence[str], current: Sequence[str],
                      buckets: Sequence[str]) -> dict[str, float]:
    """Return js, linf and chi2 (per row) of raw strings over ``buckets`` plus "other"."""
    table = np.array([_counts(reference, buckets), _counts(current, buckets)], dtype=np.float64)
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    used = table[:, table.sum(axis=0) > 0]  # chi2_contingency refuses empty columns
    chi2 = chi2_contingency(used, correction=False).statistic if used.shape[1] > 1 else 0.0
    return {
        "js": float(jensenshannon(p, q, base=2)),
        "linf": float(np.max(np.abs(p - q))),
        "chi2": float(chi2 / table.sum()),
    }


def _counts(values: Sequence[str], buckets: Sequence[str]) -> list[int]:
    counts = Counter(values)
    known = [counts.get(bucket, 0) for bucket in buckets]
    return [*known, len(values) - sum(known)]
