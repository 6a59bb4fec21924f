"""The keyed audit chain: any edit, removal, insertion, reordering or forged append is found."""

from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.rbac.audit import new_event
from atlas_streams.rbac.chain import (
    GENESIS,
    ChainBreak,
    ChainCheck,
    ChainHead,
    chain_decisions,
    chain_event,
    verify_chain,
)
from atlas_streams.rbac.policy import Decision
from atlas_streams.rbac.signing import Keyring

START = datetime(2024, 5, 1, tzinfo=UTC)
RING = Keyring.of(b"a" * 32)


def decision(index: int, allowed: bool = True, origin: str = "w1") -> dict[str, Any]:
    outcome = Decision(True, 200, "granted") if allowed else Decision(False, 403, "denied")
    return {**new_event(ts=START + timedelta(minutes=index), method="GET", path=f"/models/m{index}",
                        permission="models:read", decision=outcome, user_id="u-1",
                        event_id=f"e{index}"),
            "origin": origin, "origin_seq": index}


def log(n: int = 6) -> list[dict[str, Any]]:
    _, events = chain_decisions(ChainHead(), [(i, decision(i, i % 2 == 0)) for i in range(n)],
                                RING, "atlas")
    return events


def test_chain_event_is_an_hmac_over_prev_hash_and_canonical_json_and_copies() -> None:
    original = decision(0)
    linked = chain_event(RING, GENESIS, original)

    assert "hash" not in original and "prev_hash" not in original
    body = {k: v for k, v in linked.items() if k != "hash"}
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    expected = hmac.new(RING.current, b"atlas-audit\x00" + GENESIS.encode() + canonical,
                        hashlib.sha256).hexdigest()
    assert linked["hash"] == expected and linked["kid"] == RING.current_id


def test_intact_chain_verifies_and_survives_a_json_round_trip() -> None:
    events = log()
    report = verify_chain(events, RING)
    assert report.ok and report.checked == 6 and report.first_break_index is None
    assert report.head == events[-1]["hash"]
    assert verify_chain([orjson.loads(orjson.dumps(e)) for e in events], RING).ok
    assert verify_chain([], RING).ok and verify_chain([], RING).head == GENESIS


def test_a_forged_append_with_a_correct_sha256_is_found() -> None:
    # What an unkeyed chain let through: the attacker computes the next hash himself.
    events = log()
    forged = {**decision(99), "seq": 6, "prev_hash": events[-1]["hash"], "kid": RING.current_id}
    forged["hash"] = hashlib.sha256(orjson.dumps(forged, option=orjson.OPT_SORT_KEYS)).hexdigest()

    report = verify_chain([*events, forged], RING)

    assert (report.ok, report.first_break_index, report.first_break_event_id) == (False, 6, "e99")
    assert "MAC does not match" in report.reason


def test_a_chain_made_with_another_key_is_refused_at_its_first_event() -> None:
    _, other = chain_decisions(ChainHead(), [(0, decision(0))], Keyring.of(b"b" * 32), "atlas")

    report = verify_chain(other, RING)

    assert (report.ok, report.first_break_index) == (False, 0)
    assert "audit key this worker does not hold" in report.reason


@pytest.mark.parametrize(("field", "value"), [("status", 500), ("allowed", True),
                                              ("user_id", "u-admin"), ("seq", 30)])
def test_an_edited_field_breaks_at_that_event(field: str, value: object) -> None:
    tampered = copy.deepcopy(log())
    tampered[3][field] = value

    report = verify_chain(tampered, RING)

    assert (report.ok, report.first_break_index, report.first_break_event_id) == (False, 3, "e3")
    assert report.checked == 3


@pytest.mark.parametrize(("mangle", "index", "event_id"), [
    (lambda e: e[:2] + e[3:], 2, "e3"),  # removed
    (lambda e: [e[0], e[4], *e[1:4], *e[5:]], 1, "e4"),  # moved
    (lambda e: e[1:], 0, "e1"),  # the first removed
    (lambda e: [*e[:3], copy.deepcopy(e[1]), *e[3:]], 3, "e1"),  # an old event inserted again
])
def test_removed_moved_or_inserted_events_break_the_chain_where_they_are(
    mangle: Any, index: int, event_id: str,
) -> None:
    report = verify_chain(mangle(log()), RING)

    assert (report.ok, report.first_break_index, report.first_break_event_id) == (
        False, index, event_id)


def test_a_cut_tail_is_found_against_the_writers_head() -> None:
    head, events = chain_decisions(ChainHead(), [(i, decision(i)) for i in range(6)], RING, "a")

    assert verify_chain(events[:4], RING).ok
    report = verify_chain(events[:4], RING, expected_head=head)
    assert not report.ok and "removed from the end" in report.reason and report.checked == 4
    assert verify_chain(events, RING, expected_head=head).ok


@given(st.lists(st.booleans(), min_size=1, max_size=12), st.data())
def test_any_single_edit_is_found_at_its_index(flags: list[bool], data: st.DataObject) -> None:
    _, events = chain_decisions(ChainHead(), [(i, decision(i, f)) for i, f in enumerate(flags)],
                                RING, "atlas")
    target = data.draw(st.integers(0, len(events) - 1))
    events[target]["path"] += "/x"

    assert verify_chain(events, RING).first_break_index == target


def test_replayed_raw_offsets_and_resent_outbox_records_are_chained_once() -> None:
    head, first = chain_decisions(ChainHead(), [(0, decision(0)), (1, decision(1))], RING, "a")
    # The raw topic replays offset 1 after a crash; worker w1 re-sends its outbox record 1 at a
    # new offset (it died before recording the send); w2's first record is new.
    head, second = chain_decisions(
        head, [(1, decision(1)), (2, decision(1)), (3, decision(0, origin="w2"))], RING, "a")

    assert [e["event_id"] for e in first + second] == ["e0", "e1", "e0"]
    assert [e["seq"] for e in first + second] == [0, 1, 2]
    assert head.offset == 3 and dict(head.origins) == {"w1": 1, "w2": 0}
    assert verify_chain(first + second, RING).ok
    assert ChainHead.from_json(orjson.loads(orjson.dumps(head.to_json()))) == head


def test_decisions_without_an_origin_are_each_chained() -> None:
    bare = {k: v for k, v in decision(0).items() if k not in ("origin", "origin_seq")}

    head, events = chain_decisions(ChainHead(), [(0, bare), (1, bare)], RING, "a")

    assert head.seq == 1 and len(events) == 2 and head.origins == {}


def test_the_incremental_check_skips_exact_resends_and_names_the_first_bad_offset() -> None:
    events = log(5)
    check = ChainCheck()
    for offset, event in enumerate(events[:3]):
        check = check.next(RING, event, offset)
    check = check.next(RING, events[1], 3, seen_hash=events[1]["hash"])  # re-sent by the writer
    assert check.broken is None and check.checked == 3

    edited = {**events[2], "status": 500}
    after = check.next(RING, edited, 4, seen_hash=events[2]["hash"])
    assert after.broken is not None and after.broken.offset == 4
    assert "MAC does not match" in after.broken.reason  # a repeated seq is checked itself first
    # Correctly signed, yet another event with a seq the chain holds: two writers.
    other = chain_event(RING, events[1]["hash"], {**decision(9), "seq": 2})
    after = check.next(RING, other, 4, seen_hash=events[2]["hash"])
    assert after.broken is not None and "sequence number 2 again" in after.broken.reason

    forged = {**events[3], "allowed": True}
    after = check.next(RING, forged, 5)
    assert after.broken is not None and (after.broken.offset, after.broken.seq) == (5, 3)
    assert after.next(RING, events[4], 6) is after  # a broken check stays broken


def test_a_forged_event_on_a_seq_the_writer_also_used_is_a_forgery_in_either_order() -> None:
    # CI: the forged event took seq n+1 while the writer chained its own n+1; verify named it
    # only "again" when it came second. Either way round, the forged one is the break.
    events = log(3)
    forged = {**events[2], "event_id": "forged", "path": "/rbac/users/eve"}
    forged["hash"] = hashlib.sha256(orjson.dumps(forged)).hexdigest()  # no audit key
    for order in ([events[2], forged], [forged, events[2]]):
        check = ChainCheck()
        for offset, event in enumerate([*events[:2], *order]):
            check = check.next(RING, event, offset, seen_hash=events[2]["hash"] if offset == 3
                               else None)
        assert check.broken is not None and check.broken.event_id == "forged", order
        assert "MAC does not match" in check.broken.reason


# ---- found by the mutation check (docs/testing.md): each test fails on a mutant that passed ----


def test_every_break_says_why_in_words_an_operator_can_act_on() -> None:
    events = log(3)
    reasons = {
        "junk": verify_chain([events[0], "junk"], RING),  # type: ignore[list-item]
        "moved": verify_chain([events[0], events[2]], RING),
        "edited": verify_chain([events[0], {**events[1], "status": 599}], RING),
        "unencodable": verify_chain([events[0], {**events[1], "extra": {1, 2}}], RING),
        "other key": verify_chain(log(1), Keyring.of(b"b" * 32)),
    }
    assert {name: report.reason for name, report in reasons.items()} == {
        "junk": "event is not a JSON object",
        "moved": "prev_hash does not match the previous event: one was removed, inserted or moved",
        "edited": "the event's MAC does not match: edited, or written without the audit key",
        "unencodable": "event cannot be encoded as JSON",
        "other key": "signed with an audit key this worker does not hold: forged, or the key was "
                     "rotated out (add it to ATLAS_AUDIT_PREVIOUS_KEYS)",
    }
    assert all(not report.ok for report in reasons.values())
    assert reasons["moved"].head == events[0]["hash"]  # the last intact event, not nothing


@pytest.mark.parametrize("kid", ["zzzzzzzz", "abc", 12345678, None])
def test_a_key_id_that_is_no_key_id_is_refused_not_raised(kid: object) -> None:
    event = {**log(1)[0], "kid": kid}
    report = verify_chain([event], RING)
    assert (report.ok, report.first_break_index) == (False, 0)
    assert report.reason.startswith("signed with an audit key this worker does not hold")


def test_links_that_hold_but_skip_a_sequence_number_break_the_chain() -> None:
    first = chain_event(RING, GENESIS, {**decision(0), "seq": 0})
    skipped = chain_event(RING, first["hash"], {**decision(1), "seq": 2})
    report = verify_chain([first, skipped], RING)
    assert (report.ok, report.first_break_index) == (False, 1)
    assert report.reason == "sequence number jumps from 0 to 2: events are missing or moved"


def test_a_break_reports_a_seq_and_an_id_only_when_they_are_what_they_claim() -> None:
    event = {**log(1)[0], "seq": "0", "event_id": 7, "status": 599}
    broken = ChainCheck().next(RING, event, 9).broken
    assert broken is not None and broken.to_json() == {
        "offset": 9, "seq": None, "event_id": None,
        "reason": "the event's MAC does not match: edited, or written without the audit key",
    }
    assert ChainCheck().next(RING, "junk", 3).broken == ChainBreak(  # type: ignore[arg-type]
        3, None, None, "event is not a JSON object")


def test_the_report_json_has_every_field_by_name() -> None:
    events = log(2)
    assert verify_chain(events, RING).to_json() == {
        "ok": True, "checked": 2, "first_break_index": None, "first_break_event_id": None,
        "reason": "intact", "head": events[1]["hash"],
    }
    cut = verify_chain(events[:1], RING, expected_head=ChainHead(events[1]["hash"], 1, 1))
    assert cut.to_json() == {
        "ok": False, "checked": 1, "first_break_index": None, "first_break_event_id": None,
        "reason": "the topic's chain ends at seq 0 but the writer's head is at seq 1: events "
                  "were removed from the end",
        "head": events[0]["hash"],
    }


def test_a_last_event_other_than_the_writers_head_is_found_and_a_newer_one_is_not() -> None:
    events = log(2)
    check = ChainCheck().next(RING, events[0], 0).next(RING, events[1], 1)
    assert check.against_head(ChainHead(events[1]["hash"], 1, 1)) is None
    assert check.against_head(ChainHead("f" * 64, 1, 1)) == (
        "the last event differs from the writer's head"
    )
    assert check.against_head(ChainHead("f" * 64, 0, 0)) is None  # the head lags the topic


def test_chained_events_carry_their_chain_and_a_replayed_last_offset_is_skipped() -> None:
    head, events = chain_decisions(ChainHead(), [(0, decision(0)), (1, decision(1))], RING, "c1")
    assert [e["chain"] for e in events] == ["c1", "c1"]  # readers pick their chain by it
    again, none = chain_decisions(head, [(1, decision(1, origin="w9"))], RING, "c1")
    assert (none, again) == ([], head)


def test_half_an_origin_is_no_origin() -> None:
    only_origin = {**decision(0), "origin_seq": None}
    only_seq = {**decision(1), "origin": None}
    head, events = chain_decisions(ChainHead(), [(0, only_origin), (1, only_seq)], RING, "c1")
    assert len(events) == 2 and head.origins == {}
