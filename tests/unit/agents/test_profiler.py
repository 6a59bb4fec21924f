"""The profiler's own partials: continue from the table copy, forget partitions that left."""

from __future__ import annotations

from types import SimpleNamespace

from atlas_streams.agents.profiler import Partials, partial_key


def test_a_partition_starts_from_the_table_copy_then_from_its_own_latest() -> None:
    shared = {"d/0": b"copy-0", "d/1": b"copy-1"}
    partials = Partials(SimpleNamespace(state=shared))

    assert partials.get("d/0") == b"copy-0" and partials.get("d/9") is None
    partials.latest["d/0"] = b"mine-0"
    assert partials.get("d/0") == b"mine-0"


def test_partitions_that_left_are_read_from_the_copy_again() -> None:
    partials = Partials(SimpleNamespace(state={"d/0": b"copy-0", "d/1": b"copy-1"}))
    partials.latest.update({"d/0": b"mine-0", "d/1": b"mine-1"})

    partials.keep_only({"d/1"})

    assert partials.get("d/0") == b"copy-0" and partials.get("d/1") == b"mine-1"


def test_partial_keys_name_dataset_and_partition() -> None:
    assert partial_key("orders.eu", 12) == "orders.eu/12"


def test_the_decoded_partial_is_handed_out_once_and_only_with_its_own_bytes() -> None:
    partials = Partials(SimpleNamespace(state={"d/0": b"copy"}))
    marker = object()
    partials.keep("d/0", b"mine", marker)  # type: ignore[arg-type]

    assert partials.take_decoded("d/0") is marker and partials.take_decoded("d/0") is None
    partials.keep("d/1", b"x", marker)  # type: ignore[arg-type]
    partials.keep_only({"d/0"})
    assert partials.take_decoded("d/1") is None and partials.get("d/1") is None
