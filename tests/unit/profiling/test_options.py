"""ProfileOptions: validated, frozen, and its defaults meet the stated bounds."""

from __future__ import annotations

import dataclasses

import pytest
from datasketches import kll_doubles_sketch

from atlas_streams.profiling import ProfileOptions


def test_default_kll_k_meets_the_one_percent_bound_with_whylogs_accuracy() -> None:
    k = ProfileOptions().kll_k
    assert kll_doubles_sketch.get_normalized_rank_error(k, False) <= 0.003  # 1% promised
    assert k >= 1024  # whylogs 1.6.4's default (large_kll_k): at least as accurate as it


def test_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ProfileOptions().kll_k = 8  # type: ignore[misc]


@pytest.mark.parametrize(
    "knob", [{"kll_k": 4}, {"distinct_lg_k": 30}, {"histogram_bins": 0}, {"max_value_chars": 0},
             {"top_values_lg_max_map_size": 2}, {"kll_k": 200.0}, {"bound_std_devs": 4}]
)
def test_out_of_range_knobs_are_rejected(knob: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="ProfileOptions"):
        ProfileOptions(**knob)  # type: ignore[arg-type]


def test_state_round_trips_and_rejects_unknown_fields() -> None:
    options = ProfileOptions(kll_k=300, histogram_bins=7)
    assert ProfileOptions.from_state(options.to_state()) == options
    with pytest.raises(TypeError, match="unknown"):
        ProfileOptions.from_state({**options.to_state(), "surprise": 1})
