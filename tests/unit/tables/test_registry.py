"""Unit tests of StoredModel, the registry table's value: state plus recent command ids."""

from __future__ import annotations

import pytest

from atlas_streams.registry import ModelState
from atlas_streams.tables.registry import RECENT_COMMANDS, StoredModel

T0 = "2024-05-01T12:00:00+00:00"
STATE = ModelState(name="churn", description="", tags=("a",), created_at=T0, created_by="ann",
                   updated_at=T0, revision=1)


@pytest.mark.parametrize("stored", [StoredModel(STATE, ("c1", "c2")), StoredModel(None, ("c3",)),
                                    StoredModel(None),
                                    StoredModel(STATE, ("c1", "c2"), {"c2": ("conflict", "no")})])
def test_bytes_round_trip(stored: StoredModel) -> None:
    assert StoredModel.from_bytes(stored.to_bytes()) == stored


def test_after_keeps_only_the_latest_ids() -> None:
    stored = StoredModel(None)
    for n in range(RECENT_COMMANDS + 5):
        stored = stored.after(STATE, f"c{n}")
    assert len(stored.commands) == RECENT_COMMANDS
    assert stored.has_run(f"c{RECENT_COMMANDS + 4}") and not stored.has_run("c0")
    assert stored.state == STATE


def test_refusals_are_kept_for_as_long_as_their_ids() -> None:
    stored = StoredModel(None).after(None, "c0", ("not_found", "no model"))
    assert stored.refusal("c0") == ("not_found", "no model")
    for n in range(1, RECENT_COMMANDS + 1):
        stored = stored.after(STATE, f"c{n}")
        assert stored.refusal(f"c{n}") is None
    assert not stored.has_run("c0") and stored.refused == {}


def test_values_written_before_refusals_were_kept_still_read() -> None:
    old = b"\x01" + b'{"commands": ["c1"], "state": null}'
    assert StoredModel.from_bytes(old) == StoredModel(None, ("c1",))


@pytest.mark.parametrize("data", [b"", b"\x07{}"])
def test_unknown_formats_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="format"):
        StoredModel.from_bytes(data)
