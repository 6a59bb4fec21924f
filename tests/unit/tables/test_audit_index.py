"""The audit index answers filtered queries newest first and checks the chain as it stores it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from atlas_streams.rbac import ChainHead, Decision, Keyring, LogQuery, chain_decisions, new_event
from atlas_streams.tables.audit_index import AuditIndex

RING = Keyring.of(b"k" * 32)
START = datetime(2026, 5, 1, tzinfo=UTC)


def decisions(n: int, start: int = 0) -> list[tuple[int, dict[str, Any]]]:
    made = []
    for i in range(start, start + n):
        allowed = i % 3 != 0
        made.append((i, new_event(
            ts=START + timedelta(seconds=i), method="GET", path=f"/p/{i}", permission="x:read",
            decision=Decision(allowed, 200 if allowed else 403, "r"), user_id=f"u-{i % 4}",
            event_id=f"e{i}")))
    return made


def chained(n: int) -> list[bytes]:
    _, events = chain_decisions(ChainHead(), decisions(n), RING, "c1")
    return [orjson.dumps(e) for e in events]


@pytest.fixture
def index(tmp_path: Path) -> AuditIndex:
    return AuditIndex(tmp_path / "audit", RING, "c1", timedelta(days=30))


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in events]


def test_queries_match_the_pure_filter_newest_first(index: AuditIndex) -> None:
    values = chained(40)
    index.ingest(0, list(enumerate(values)))
    everything = [orjson.loads(v) for v in values]

    for query in [LogQuery(limit=5), LogQuery(user="u-1", limit=100),
                  LogQuery(decision="denied", limit=100),
                  LogQuery(user="u-2", decision="allowed", limit=3),
                  LogQuery(since=START + timedelta(seconds=35), limit=100),
                  LogQuery(user="u-3", decision="denied", since=START + timedelta(seconds=20))]:
        assert ids(index.query(query)) == ids(query.apply(everything)), query
    assert index.check.broken is None and index.check.checked == 40
    assert index.positions() == {0: 40}


def test_other_chains_and_resent_events_are_not_stored_twice(index: AuditIndex) -> None:
    values = chained(6)
    _, other = chain_decisions(ChainHead(), decisions(3), RING, "another-app")
    mixed = [*values[:4], *[orjson.dumps(e) for e in other], *values[2:]]  # 2, 3 re-sent

    index.ingest(0, list(enumerate(mixed)))

    assert ids(index.recent(100)) == ["e5", "e4", "e3", "e2", "e1", "e0"]
    assert index.check.broken is None and index.check.checked == 6


def test_a_forged_event_breaks_the_check_at_its_offset_but_hides_nothing_genuine(
    index: AuditIndex,
) -> None:
    values = chained(5)
    forged = {**orjson.loads(values[2]), "seq": 3, "event_id": "forged",
              "prev_hash": orjson.loads(values[2])["hash"]}  # a plausible next event, no key
    index.ingest(0, list(enumerate([*values[:3], orjson.dumps(forged), *values[3:]])))

    broken = index.check.broken
    assert broken is not None and (broken.offset, broken.event_id) == (3, "forged")
    assert "forged" not in ids(index.recent(10))
    assert ids(index.recent(10)) == ["e4", "e3", "e2", "e1", "e0"]


def test_checking_goes_on_where_it_stopped_after_a_reopen(tmp_path: Path) -> None:
    values = chained(10)
    first = AuditIndex(tmp_path / "a", RING, "c1", timedelta(days=30))
    first.ingest(0, list(enumerate(values[:6])))
    first.close()

    again = AuditIndex(tmp_path / "a", RING, "c1", timedelta(days=30))
    again.ingest(0, [(i, values[i]) for i in range(6, 10)])

    assert again.check.checked == 10 and again.check.broken is None
    assert again.positions() == {0: 10}


def test_expiry_drops_old_events_from_every_index(index: AuditIndex) -> None:
    index.ingest(0, list(enumerate(chained(20))))
    index.retention = timedelta(seconds=5)

    dropped = index.expire(START + timedelta(seconds=15))

    assert dropped == 10
    assert ids(index.recent(100)) == [f"e{i}" for i in range(19, 9, -1)]
    assert ids(index.query(LogQuery(user="u-1", limit=100))) == ["e17", "e13"]
    assert index.check.checked == 20  # the check is about the chain, not this copy


def test_garbage_in_the_topic_breaks_the_check(index: AuditIndex) -> None:
    index.ingest(0, [(0, chained(1)[0]), (1, b"not json")])

    assert index.check.broken is not None and index.check.broken.offset == 1


def test_the_last_outbox_seq_of_each_origin_survives_a_reopen(tmp_path: Path) -> None:
    raw = [(i, {**d, "origin": f"w{i % 2}", "origin_seq": i // 2}) for i, d in decisions(5)]
    _, events = chain_decisions(ChainHead(), raw, RING, "c1")
    first = AuditIndex(tmp_path / "a", RING, "c1", timedelta(days=30))
    first.ingest(0, [(i, orjson.dumps(e)) for i, e in enumerate(events)])
    first.close()

    again = AuditIndex(tmp_path / "a", RING, "c1", timedelta(days=30))

    assert again.check.origins == {"w0": 2, "w1": 1}
    assert again.check.head() == ChainHead(events[-1]["hash"], 4, -1, {"w0": 2, "w1": 1})
