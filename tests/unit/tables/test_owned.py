"""Unit tests of OwnedTable: writes reach both copies, reads say which copy they use."""

from __future__ import annotations

from atlas_streams.tables.owned import OwnedTable


def test_writes_go_to_both_copies_and_each_read_names_its_copy() -> None:
    table = OwnedTable(own={}, shared={})
    table["a"] = b"1"
    assert table.own == table.shared == {"a": b"1"}
    table.shared["a"] = b"stale"  # a global copy replayed from an old offset
    assert table.owned("a") == b"1"  # the agent decides on its own copy
    assert table.get("a") == b"stale" and "a" in table  # queries read the global copy
    assert list(table.items()) == [("a", b"stale")] and list(table.values()) == [b"stale"]


def test_pop_removes_from_both() -> None:
    table = OwnedTable(own={"a": b"1"}, shared={"a": b"1"})
    assert table.pop("a") == b"1"
    assert table.own == table.shared == {}
    assert table.pop("a", b"none") == b"none" and table.owned("a") is None
