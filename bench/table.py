"""A realistic mixed table for the worker benchmarks, generated deterministically from a seed.

Twenty columns: integers, floats, booleans and strings of low, medium and high cardinality, some
with nulls, with skewed distributions like real event data. Rows are made a chunk at a time with
numpy, so a million rows never sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["COLUMNS", "SEED", "mixed_rows", "wide_rows"]

SEED = 20261125
CHUNK_ROWS = 10_000
COUNTRIES = [f"C{i:02d}" for i in range(30)]
CATEGORIES = ["books", "music", "garden", "toys", "food", "health", "sports", "auto",
              "tools", "beauty", "baby", "pets"]
STATUSES = ["new", "paid", "shipped", "delivered", "returned"]
CURRENCIES = ["EUR", "USD", "GBP"]
DEVICES = ["ios", "android", "web", "desktop"]
WORDS = ["fast", "late", "great", "broken", "ok", "refund", "love", "again", "never", "box",
         "color", "size", "small", "big", "thanks", "slow", "cheap", "quality", "gift", "return"]
COLUMNS = ["order_id", "user_id", "age", "price", "quantity", "discount", "score", "lat", "lon",
           "ts", "is_member", "country", "city", "category", "status", "email", "sku", "comment",
           "currency", "device"]


def _with_nulls(values: list[Any], mask: np.ndarray) -> list[Any]:
    return [None if null else value for value, null in zip(values, mask, strict=True)]


def _skewed(rng: np.random.Generator, n: int, choices: list[str], power: float) -> list[str]:
    weights = 1.0 / np.arange(1, len(choices) + 1) ** power
    picks = rng.choice(len(choices), size=n, p=weights / weights.sum())
    return [choices[i] for i in picks]


def _chunk(rng: np.random.Generator, start: int, n: int) -> Iterator[dict[str, Any]]:
    users = rng.zipf(1.3, n) % 50_000
    words = rng.integers(0, len(WORDS), size=(n, 3))
    columns: dict[str, list[Any]] = {
        "order_id": list(range(start, start + n)),
        "user_id": users.tolist(),
        "age": _with_nulls(rng.integers(18, 90, n).tolist(), rng.random(n) < 0.05),
        "price": np.round(rng.lognormal(3.0, 1.0, n), 2).tolist(),
        "quantity": (rng.poisson(1.5, n) + 1).tolist(),
        "discount": _with_nulls(np.round(rng.random(n) * 0.5, 3).tolist(), rng.random(n) < 0.3),
        "score": rng.normal(0.0, 1.0, n).tolist(),
        "lat": np.round(rng.uniform(-60, 70, n), 5).tolist(),
        "lon": np.round(rng.uniform(-180, 180, n), 5).tolist(),
        "ts": (1_700_000_000 + start + np.arange(n) * 3 + rng.integers(0, 3, n)).tolist(),
        "is_member": (rng.random(n) < 0.4).tolist(),
        "country": _skewed(rng, n, COUNTRIES, 1.1),
        "city": [f"city-{i}" for i in (rng.zipf(1.2, n) % 2_000).tolist()],
        "category": _skewed(rng, n, CATEGORIES, 0.8),
        "status": _with_nulls(_skewed(rng, n, STATUSES, 1.0), rng.random(n) < 0.02),
        "email": [f"user{u}@example.com" for u in users.tolist()],
        "sku": [f"SKU-{i:05d}" for i in rng.integers(0, 10_000, n).tolist()],
        "comment": _with_nulls([" ".join(WORDS[j] for j in w) for w in words.tolist()],
                               rng.random(n) < 0.2),
        "currency": _skewed(rng, n, CURRENCIES, 2.0),
        "device": _skewed(rng, n, DEVICES, 1.0),
    }
    names = list(columns)
    for values in zip(*columns.values(), strict=True):
        yield dict(zip(names, values, strict=True))


def mixed_rows(total: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Yield ``total`` rows of the mixed table; the same seed gives the same rows."""
    rng = np.random.default_rng(seed)
    for start in range(0, total, CHUNK_ROWS):
        yield from _chunk(rng, start, min(CHUNK_ROWS, total - start))


def wide_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Return rows of 30 random-float columns and 100 string columns of 500 to 50,000 values.

    The worst case for a profile's size: random float64 mantissas do not compress.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for j in range(30):
        for row, x in zip(rows, rng.random(count).tolist(), strict=True):
            row[f"n{j}"] = x
    for j in range(100):
        picks = rng.integers(0, [500, 5_000, 50_000][j % 3], count).tolist()
        for row, pick in zip(rows, picks, strict=True):
            row[f"s{j}"] = f"value-{j}-{pick}"
    return rows
