"""Canonicalisation: what each kind of JSON value feeds to the sketches."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.profiling.canonical import (
    Kind,
    canonicalise,
    decode_token,
    number_tokens,
)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)


def wire_bytes(values: list[object]) -> int:
    """Return the summed compact-JSON length of the non-null values, one at a time."""
    return sum(len(orjson.dumps(v)) for v in values if v is not None)


@given(st.lists(JSON_VALUES, max_size=30))
def test_every_value_is_counted_once_and_memory_is_its_wire_size(values: list[object]) -> None:
    batch = canonicalise(values)
    present = batch.numbers.size + sum(batch.strings.values()) + batch.true_count
    assert present + batch.false_count + batch.null_count == len(values)
    assert batch.null_count == sum(v is None for v in values)
    assert batch.memory_bytes == wire_bytes(values)


def test_kinds_are_numeric_string_boolean_and_bool_is_not_numeric() -> None:
    assert canonicalise([1, 2.5, None]).kinds == Kind.NUMERIC
    assert canonicalise(["a", None]).kinds == Kind.STRING
    assert canonicalise([True, False, None]).kinds == Kind.BOOLEAN
    assert canonicalise([True, 1, "1"]).kinds == Kind.NUMERIC | Kind.STRING | Kind.BOOLEAN
    assert canonicalise([None, None]).kinds == Kind.NONE
    assert canonicalise([]).kinds == Kind.NONE


def test_nested_values_become_sorted_compact_json_strings() -> None:
    batch = canonicalise([{"b": 1, "a": [1, 2]}, [1, "x"]])
    assert batch.kinds == Kind.STRING
    assert batch.strings == {'{"a":[1,2],"b":1}': 1, '[1,"x"]': 1}


def test_non_finite_numbers_are_nulls() -> None:
    batch = canonicalise([1.0, math.nan, math.inf, -math.inf, 10**400, None])
    assert batch.numbers.tolist() == [1.0]
    assert batch.null_count == 5
    assert batch.memory_bytes == 3


def test_ints_beyond_64_bits_stay_numeric_and_are_measured() -> None:
    batch = canonicalise([2**70, 1])
    assert batch.numbers.tolist() == [float(2**70), 1.0]
    assert batch.memory_bytes == len(str(2**70)) + 1
    assert not batch.integral  # beyond 2**53 the float64 is not the int any more


def test_negative_zero_is_folded_into_zero() -> None:
    batch = canonicalise([-0.0, 0.0, 0])
    assert np.signbit(batch.numbers).sum() == 0
    assert batch.distinct().numbers.tolist() == [0.0]


def test_integral_is_whole_numbers_only() -> None:
    assert canonicalise([1, 2.0, None]).integral
    assert not canonicalise([1, 2.5]).integral


def test_lone_surrogates_are_repaired_and_measured() -> None:
    text = json.loads('"a\\ud800"')
    batch = canonicalise([text, "b"])
    assert batch.strings == {"a\ufffd": 1, "b": 1}
    assert batch.memory_bytes == len(text.encode("utf-8", "surrogatepass")) + 2 + 3


def test_tokens_carry_the_kind_and_decode_to_typed_values() -> None:
    distinct = canonicalise([1, 1, "1", True, 2.5, "x" * 50]).distinct()
    tokens = dict(distinct.tokens(max_chars=8))
    assert tokens == {"1.0": 2, "2.5": 1, "s1": 1, "sxxxxxxxx": 1, "btrue": 1}
    assert decode_token("1.0", integral=True) == 1
    assert isinstance(decode_token("1.0", integral=True), int)
    assert decode_token("2.5", integral=False) == 2.5
    assert decode_token("s1", integral=True) == "1"
    assert decode_token("btrue", integral=True) is True
    assert decode_token("bfalse", integral=True) is False


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


def test_string_tokens_cut_only_strings_longer_than_max_chars() -> None:
    strings = ["", "a", "abc", "abcd", "abcdef", "\u00e9\u00e9\u00e9\u00e9\u00e9"]
    for values in (strings, strings[:4]):
        distinct = canonicalise(values).distinct()
        assert [t for t, _ in distinct.tokens(max_chars=4)] == ["s" + s[:4] for s in values]


def test_sketch_keys_keep_booleans_apart_from_numbers_and_strings() -> None:
    keys = canonicalise([True, False, 0, 1, "true"]).distinct().sketch_keys()
    assert len(set(keys)) == 5
    assert all(type(k) is float for k in keys if k in (0, 1))


def test_stable_hashes_do_not_depend_on_the_process() -> None:
    # Pinned values: a change here silently breaks exact distinct counts of stored profiles.
    hashes = canonicalise(["a", 1.0]).distinct().hashes().tolist()
    assert [hex(h) for h in hashes] == ["0x88d7c35bbbf3eded", "0x2f42665b399ef840"]
    assert len(set(canonicalise(["a", "b", 1.0, True, False]).distinct().hashes().tolist())) == 5


@pytest.mark.parametrize("values", [[1, 2, 3], [1.5, None], ["a", None, "b"], [True, None]])
def test_fast_paths_agree_with_the_general_path(values: list[object]) -> None:
    fast = canonicalise(values)
    general = canonicalise([*values, {"force": "mixed"}])
    assert fast.numbers.tolist() == general.numbers.tolist()
    assert fast.null_count == general.null_count
    assert fast.true_count == general.true_count
    general.strings.pop('{"force":"mixed"}')
    assert fast.strings == general.strings
