"""Keys and tokens: long strings stay distinct but bounded, tokens decode to typed values."""

from __future__ import annotations

import numpy as np

from atlas_streams.profiling.keys import decode_token, display, number_tokens, string_keys


def awkward_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return finite floats of every magnitude, shortest-digit length and rounding edge."""
    bits = rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)
    digits = rng.integers(1, 10 ** rng.integers(1, 18, n), dtype=np.int64).astype(np.float64)
    decimals = digits * 10.0 ** rng.integers(-30, 30, n)
    powers = np.concatenate([np.ldexp(1.0, np.arange(-1074, 1024)), 10.0 ** np.arange(-300, 308)])
    edges = np.concatenate([powers, np.nextafter(powers, 0.0), np.nextafter(powers, np.inf)])
    samples = [bits, decimals, edges, rng.normal(0.0, 1.0, n), np.round(rng.uniform(-180, 180, n), 5),
               rng.integers(-(2**53), 2**53, n).astype(np.float64), np.array([0.0, -0.0, 1e-4, 1e16])]
    floats = np.concatenate(samples)
    return floats[np.isfinite(floats)]


def test_number_tokens_equal_repr() -> None:
    # The token text is part of stored profiles: it must stay repr's, whatever formats it.
    floats = awkward_floats(np.random.default_rng(31), 50_000)
    assert number_tokens(floats) == list(map(repr, floats.tolist()))
    assert number_tokens(floats[::3]) == list(map(repr, floats[::3].tolist()))  # not contiguous
    assert number_tokens(np.empty(0)) == []


def test_long_strings_are_keyed_by_prefix_and_hash_and_shown_by_prefix() -> None:
    long_a, long_b = "x" * 40 + "a", "x" * 40 + "b"
    keys = string_keys({long_a: 2, long_b: 1, "short": 3, long_a[:5]: 1}, max_chars=8)
    assert len(keys) == 4 and keys["short"] == 3
    long_keys = [key for key in keys if len(key) > 8]
    assert sorted(keys[k] for k in long_keys) == [1, 2]
    assert {display(key, 8) for key in long_keys} == {"x" * 8}
    assert display("short", 8) == "short"
    same = {"s": 1}
    assert string_keys(same, 8) is same  # nothing to cut: no copy


def test_tokens_decode_to_typed_values() -> None:
    assert decode_token("1.0", int, 32) == 1 and type(decode_token("1.0", int, 32)) is int
    assert decode_token("2.5", float, 32) == 2.5
    assert decode_token("s1", int, 32) == "1"
    assert decode_token("btrue", int, 32) is True
    assert decode_token("bfalse", int, 32) is False
    assert decode_token("i" + str(2**70), int, 32) == 2**70
    assert decode_token("sabc\x00deadbeef", int, 3) == "abc"
