"""Audit events have the contract's fields; anonymous 401s fold into one; log filters validate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas_streams.rbac.audit import (
    LogQuery,
    anonymous_summary,
    filter_events,
    new_event,
    parse_log_query,
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
