"""Canonicalisation: what each kind of JSON value feeds to the sketches."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.profiling.canonical import Kind, canonicalise, format_datetime

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
    assert batch.count + batch.null_count == len(values)
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
    batch = canonicalise([1.0, math.nan, math.inf, -math.inf, None])
    assert batch.numbers.tolist() == [1.0]
    assert batch.null_count == 4
    assert batch.memory_bytes == 3


@pytest.mark.parametrize("big", [2**63, 2**70, -(2**63) - 1, 10**400])
def test_ints_beyond_64_bits_are_counted_as_bigints_and_never_become_floats(big: int) -> None:
    batch = canonicalise([big, 1, 2, None])
    assert batch.kinds == Kind.NUMERIC | Kind.BIGINT
    assert batch.numbers.tolist() == [1.0, 2.0] and batch.integral
    assert batch.bigints == {big: 1} and batch.bigint_count == 1
    assert batch.memory_bytes == len(str(big)) + 2
    assert canonicalise([2**63 - 1, -(2**63)]).bigint_count == 0  # 64-bit ints are numbers


def test_negative_zero_is_folded_into_zero() -> None:
    batch = canonicalise([-0.0, 0.0, 0])
    assert np.signbit(batch.numbers).sum() == 0
    assert np.unique(batch.numbers).tolist() == [0.0]


def test_int_wire_size_is_counted_without_formatting() -> None:
    values = [0, 7, -7, 10, 99, 100, -1000, 10**15, 10**15 - 1, 2**53, -(2**53), None]
    assert canonicalise(values).memory_bytes == wire_bytes(values)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-11-10T10:00:00Z", 1794304800.0),
        ("2026-11-10T11:00:00+01:00", 1794304800.0),
        ("2026-11-10 10:00:00.250", 1794304800.25),  # no offset: UTC
        ("2026-11-10", 1794268800.0),
        ("2026-11-10T10:00+0000", 1794304800.0),
    ],
)
def test_iso_8601_strings_are_datetimes(text: str, seconds: float) -> None:
    batch = canonicalise([text, "plain", None])
    assert batch.kinds == Kind.DATETIME | Kind.STRING
    assert batch.numbers.tolist() == [seconds] and batch.numeric_count == 0
    assert batch.strings == {"plain": 1}
    assert batch.memory_bytes == len(text) + 2 + len("plain") + 2


def test_strings_that_only_look_like_times_stay_strings() -> None:
    values = ["2026-13-40", "2026-11-10T25:00:00Z", "x\n2026-11-10", "2026-11-10T10:00:00Zx"]
    batch = canonicalise(values)
    assert batch.kinds == Kind.STRING and batch.strings == dict.fromkeys(values, 1)


def test_numbers_of_a_datetime_column_are_epoch_times_in_its_unit() -> None:
    batch = canonicalise([1_794_304_800_000, None, "2026-11-10T10:00:00Z"], datetime_unit=0.001)
    assert batch.kinds == Kind.DATETIME
    assert batch.numbers.tolist() == [1794304800.0, 1794304800.0]
    assert format_datetime(1794304800.25) == "2026-11-10T10:00:00.250000Z"


def test_integral_is_whole_numbers_only() -> None:
    assert canonicalise([1, 2.0, None]).integral
    assert not canonicalise([1, 2.5]).integral


def test_lone_surrogates_are_repaired_and_measured() -> None:
    text = json.loads('"a\\ud800"')
    batch = canonicalise([text, "b"])
    assert batch.strings == {"a\ufffd": 1, "b": 1}
    assert batch.memory_bytes == len(text.encode("utf-8", "surrogatepass")) + 2 + 3


@pytest.mark.parametrize("values", [[1, 2, 3], [1.5, None], ["a", None, "b"], [True, None]])
def test_fast_paths_agree_with_the_general_path(values: list[object]) -> None:
    fast = canonicalise(values)
    general = canonicalise([*values, {"force": "mixed"}])
    assert fast.numbers.tolist() == general.numbers.tolist()
    assert fast.null_count == general.null_count
    assert fast.true_count == general.true_count
    general.strings.pop('{"force":"mixed"}')
    assert fast.strings == general.strings
