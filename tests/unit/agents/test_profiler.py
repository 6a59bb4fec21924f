"""The profiler's held partials: continue from the table copy, forget partitions that left."""

from __future__ import annotations

from types import SimpleNamespace

from atlas_streams.agents.profiler import Held, Partials, partial_key
from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.partial import PartialProfile


def partial(offset: int) -> PartialProfile:
    made = PartialProfile.zero(ProfileOptions())
    made.offset = offset
    return made


def test_a_partition_starts_from_the_table_copy_then_keeps_its_own() -> None:
    copy = partial(7).to_bytes()
    partials = Partials(SimpleNamespace(state={"d/0": copy}))

    held = partials.get("d/0")

    assert held.published == copy and held.watermark == 7 and not held.dirty
    assert partials.get("d/9").published is None and partials.get("d/9").watermark == -1
    held.state = partial(12)  # applied, not yet published
    assert partials.get("d/0") is held and held.watermark == 12


def test_partitions_that_left_are_read_from_the_copy_again() -> None:
    partials = Partials(SimpleNamespace(state={"d/0": b"copy-0", "d/1": b"copy-1"}))
    partials.get("d/0").published = b"mine-0"
    partials.get("d/1").published = b"mine-1"

    partials.keep_only({"d/1"})

    assert partials.get("d/0").published == b"copy-0"
    assert partials.get("d/1").published == b"mine-1"


def test_a_held_partial_without_a_value_has_no_watermark() -> None:
    assert Held(None).watermark == -1


def test_partial_keys_name_dataset_and_partition() -> None:
    assert partial_key("orders.eu", 12) == "orders.eu/12"


def test_a_partition_with_nothing_applied_here_follows_the_table() -> None:
    """Taken over from a stopped worker, its partial shows once the view agent stored it."""
    table: dict[str, bytes] = {}
    partials = Partials(SimpleNamespace(state=table))  # type: ignore[arg-type]
    assert partials.current("orders/0").published is None
    table["orders/0"] = b"stored later"
    assert partials.current("orders/0").published == b"stored later"
    partials.get("orders/0").dirty = True  # this worker applied rows: its own value wins
    table["orders/0"] = b"older copy"
    assert partials.current("orders/0").published == b"stored later"
