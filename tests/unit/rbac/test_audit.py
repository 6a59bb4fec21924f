"""The audit chain: tampering is found at the first broken event; log filters validate."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.rbac.audit import (
    GENESIS,
    LogQuery,
    chain_event,
    filter_events,
    new_event,
    parse_log_query,
    verify_chain,
)
from atlas_streams.rbac.errors import InvalidRequest
from atlas_streams.rbac.policy import Decision

START = datetime(2024, 5, 1, tzinfo=UTC)


def event(index: int, allowed: bool = True, user_id: str = "u-1") -> dict[str, Any]:
    decision = Decision(True, 200, "granted") if allowed else Decision(False, 403, "denied")
    return new_event(
        ts=START + timedelta(minutes=index),
        method="GET",
        path=f"/models/m{index}",
        permission="models:read",
        decision=decision,
        user_id=user_id,
        key_id="0123456789abcdef",
        client="127.0.0.1",
        event_id=f"e{index}",
    )


def chain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    linked: list[dict[str, Any]] = []
    prev = GENESIS
    for item in events:
        linked.append(chain_event(prev, item))
        prev = linked[-1]["hash"]
    return linked


def log(n: int = 6) -> list[dict[str, Any]]:
    return chain([event(i, allowed=i % 2 == 0, user_id=f"u-{i % 3}") for i in range(n)])


def test_event_has_the_contract_fields() -> None:
    assert set(event(0)) == {
        "event_id", "ts", "user_id", "key_id", "method", "path", "permission",
        "dataset", "client", "status", "allowed", "reason",
    }  # fmt: skip
    with pytest.raises(ValueError, match="timezone"):
        new_event(
            ts=datetime(2024, 1, 1), method="GET", path="/", permission=None,
            decision=Decision(False, 401, "x"),
        )  # fmt: skip


def test_chain_event_hashes_prev_and_canonical_json_and_copies() -> None:
    original = event(0)
    linked = chain_event(GENESIS, original)
    assert "hash" not in original and "prev_hash" not in original
    body = {k: v for k, v in linked.items() if k != "hash"}
    assert body["prev_hash"] == GENESIS == "0" * 64
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    assert linked["hash"] == hashlib.sha256(GENESIS.encode() + canonical).hexdigest()


def test_intact_chain_verifies_and_survives_a_json_round_trip() -> None:
    events = log()
    report = verify_chain(events)
    assert report.ok and report.checked == 6 and report.first_break_index is None
    assert report.head == events[-1]["hash"]
    reloaded = [orjson.loads(orjson.dumps(e)) for e in events]
    assert verify_chain(reloaded).ok
    assert verify_chain([]).ok and verify_chain([]).head == GENESIS


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", 200), ("allowed", True), ("user_id", "u-admin"), ("reason", "granted")],
)
def test_edited_field_breaks_at_that_event(field: str, value: object) -> None:
    tampered = copy.deepcopy(log())
    tampered[3][field] = value
    report = verify_chain(tampered)
    assert not report.ok
    assert (report.first_break_index, report.first_break_event_id) == (3, "e3")
    assert report.checked == 3 and "edited" in report.reason


def test_rehashing_an_edited_event_breaks_the_next_link() -> None:
    tampered = copy.deepcopy(log())
    tampered[2]["allowed"] = not tampered[2]["allowed"]
    tampered[2] = chain_event(tampered[2]["prev_hash"], tampered[2])
    report = verify_chain(tampered)
    assert (report.ok, report.first_break_index) == (False, 3)
    assert "removed, added or moved" in report.reason


def test_deleted_event_breaks_at_its_successor() -> None:
    tampered = copy.deepcopy(log())
    del tampered[2]
    report = verify_chain(tampered)
    assert (report.ok, report.first_break_index, report.first_break_event_id) == (False, 2, "e3")


def test_reordered_events_break_at_the_first_moved() -> None:
    tampered = copy.deepcopy(log())
    tampered[1], tampered[4] = tampered[4], tampered[1]
    report = verify_chain(tampered)
    assert (report.ok, report.first_break_index, report.first_break_event_id) == (False, 1, "e4")


def test_deleting_the_first_event_and_non_objects_are_caught() -> None:
    assert verify_chain(log()[1:]).first_break_index == 0
    report = verify_chain([*log(2), "junk"])  # type: ignore[list-item]
    assert (report.first_break_index, report.first_break_event_id) == (2, None)


def test_truncation_is_caught_only_against_a_known_head() -> None:
    events = log()
    assert verify_chain(events[:4]).ok
    report = verify_chain(events[:4], expected_head=events[-1]["hash"])
    assert not report.ok and report.first_break_index is None and report.checked == 4


def test_a_window_verifies_from_its_start_hash() -> None:
    events = log()
    assert verify_chain(events[3:], start_hash=events[2]["hash"]).ok


@given(st.lists(st.booleans(), min_size=1, max_size=12), st.data())
def test_any_single_edit_is_found_at_its_index(flags: list[bool], data: st.DataObject) -> None:
    events = chain([event(i, allowed=flag) for i, flag in enumerate(flags)])
    target = data.draw(st.integers(0, len(events) - 1))
    events[target]["path"] = events[target]["path"] + "/x"
    assert verify_chain(events).first_break_index == target


def test_filter_by_user_decision_since_and_limit_newest_first() -> None:
    events = log(12)
    assert [e["event_id"] for e in filter_events(events, limit=3)] == ["e11", "e10", "e9"]
    denied = filter_events(events, decision="denied")
    assert [e["event_id"] for e in denied] == ["e11", "e9", "e7", "e5", "e3", "e1"]
    mine = filter_events(events, user="u-0", decision="allowed")
    assert [e["event_id"] for e in mine] == ["e6", "e0"]
    recent = filter_events(events, since=START + timedelta(minutes=10))
    assert [e["event_id"] for e in recent] == ["e11", "e10"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"since": datetime(2024, 1, 1)}, "since"),
    ],
)
def test_bad_filters_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        filter_events([], **kwargs)
    assert caught.value.field == field


def test_parse_log_query_from_strings() -> None:
    query = parse_log_query(
        {"user": "u-1", "decision": "denied", "since": "2024-05-01", "limit": "5"}
    )
    assert query == LogQuery("u-1", "denied", START, 5)
    assert parse_log_query({}) == LogQuery()
    assert [e["event_id"] for e in LogQuery(limit=2).apply(log())] == ["e5", "e4"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"decision": "all"}, "decision"),
        ({"granted": "true"}, "granted"),
    ],
)
def test_parse_log_query_names_the_bad_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_log_query(params)
    assert caught.value.field == field
