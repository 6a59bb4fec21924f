"""Audit events have the contract's fields; anonymous 401s fold into one; log filters validate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas_streams.rbac.audit import (
    MAX_LIMIT,
    LogQuery,
    anonymous_summary,
    filter_events,
    new_event,
    parse_log_query,
    refusal_event,
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


def log(n: int = 6) -> list[dict[str, Any]]:
    return [event(i, allowed=i % 2 == 0, user_id=f"u-{i % 3}") for i in range(n)]


def test_event_has_the_contract_fields() -> None:
    assert set(event(0)) == {
        "event_id", "request_id", "ts", "user_id", "key_id", "method", "path", "permission",
        "dataset", "client", "status", "allowed", "reason",
    }  # fmt: skip
    with pytest.raises(ValueError, match="timezone"):
        new_event(
            ts=datetime(2024, 1, 1), method="GET", path="/", permission=None,
            decision=Decision(False, 401, "x"),
        )  # fmt: skip


def test_anonymous_failures_fold_into_one_denied_event_with_their_count() -> None:
    summary = anonymous_summary(client="10.0.0.9", count=40, first=START,
                                last=START + timedelta(seconds=59),
                                reasons={"unknown_key": 39, "missing_key": 1})

    assert (summary["status"], summary["allowed"], summary["count"]) == (401, False, 40)
    assert summary["client"] == "10.0.0.9" and summary["user_id"] is None
    assert summary["first_ts"] == START.isoformat()
    assert summary["ts"] == (START + timedelta(seconds=59)).isoformat()
    assert summary["reasons"] == {"missing_key": 1, "unknown_key": 39}


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


# ---- found by the mutation check (docs/testing.md): each test fails on a mutant that passed ----


def test_new_event_ids_are_128_random_bits_and_the_timezone_error_says_what_to_pass() -> None:
    ids = {new_event(ts=START, method="GET", path="/", permission=None,
                     decision=Decision(True, 200, "granted"))["event_id"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    with pytest.raises(ValueError) as caught:
        new_event(ts=datetime(2024, 1, 1), method="GET", path="/", permission=None,
                  decision=Decision(True, 200, "granted"))
    assert str(caught.value) == "audit timestamps must be timezone-aware; pass datetime.now(UTC)"


def test_an_anonymous_summary_is_for_no_method_and_no_path_and_says_why() -> None:
    summary = anonymous_summary(client=None, count=1, first=START, last=START,
                                reasons={"missing_key": 1})
    assert (summary["method"], summary["path"], summary["permission"]) == ("*", "*", None)
    assert summary["reason"] == "unauthenticated"


def test_a_refusal_event_says_where_why_and_what_at_its_time() -> None:
    refused = refusal_event(ts=START, where="atlas-rbac-users[0]@42", reason="forged_message",
                            detail="no valid seal")
    assert {k: refused[k] for k in ("ts", "method", "path", "permission", "status", "allowed",
                                    "reason", "detail", "user_id")} == {
        "ts": START.isoformat(), "method": "KAFKA", "path": "atlas-rbac-users[0]@42",
        "permission": None, "status": 403, "allowed": False, "reason": "forged_message",
        "detail": "no valid seal", "user_id": None,
    }


def test_filter_events_keeps_the_last_100_by_default_and_each_bound_of_limit() -> None:
    events = [{"event_id": f"e{i}", "user_id": "u", "allowed": True, "ts": START.isoformat()}
              for i in range(150)]
    assert [e["event_id"] for e in filter_events(events)][:1] == ["e149"]
    assert len(filter_events(events)) == 100
    assert len(filter_events(events, limit=1)) == 1
    assert len(filter_events(events, limit=MAX_LIMIT)) == 150


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"granted": "true"}, "granted", "unknown filter; use user, decision, since or limit"),
        ({"since": "yesterday"}, "since", "expected an ISO-8601 time"),
        ({"limit": "ten"}, "limit", f"expected a whole number 1..{MAX_LIMIT}"),
        ({"limit": "0"}, "limit", f"expected a whole number 1..{MAX_LIMIT}"),
        ({"decision": "all"}, "decision", "expected allowed or denied"),
    ],
)
def test_bad_query_values_say_what_to_send(params: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_log_query(params)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_a_naive_since_filter_is_refused_with_an_example() -> None:
    with pytest.raises(InvalidRequest) as caught:
        filter_events([], since=datetime(2024, 1, 1))
    assert caught.value.message == "give a timezone, e.g. 2024-05-01T00:00:00+00:00"


def test_a_log_query_applies_each_of_its_filters() -> None:
    events = log(12)
    since = START + timedelta(minutes=6)
    assert [e["event_id"] for e in LogQuery("u-0", "allowed", since, 10).apply(events)] == ["e6"]
    assert [e["event_id"] for e in LogQuery(user="u-1").apply(events)] == ["e10", "e7", "e4", "e1"]
    assert [e["event_id"] for e in LogQuery(decision="allowed", limit=2).apply(events)] == [
        "e10", "e8"
    ]
    assert len(LogQuery(since=since).apply(events)) == 6


def test_since_treats_times_without_a_zone_as_utc_and_skips_unreadable_ones() -> None:
    ten_past = START + timedelta(minutes=10)
    assert parse_log_query({"since": "2024-05-01T00:10:00"}).since == ten_past
    assert parse_log_query({"since": "2024-05-01T02:10:00+02:00"}).since == ten_past
    events = [
        {"event_id": "naive", "ts": "2024-05-01T00:30:00"},  # read as UTC: after since
        {"event_id": "offset", "ts": "2024-05-01T01:30:00+02:00"},  # 23:30 UTC the day before
        {"event_id": "garbage", "ts": "not a time"},
        {"event_id": "missing"},
    ]
    assert [e["event_id"] for e in filter_events(events, since=ten_past)] == ["naive"]
