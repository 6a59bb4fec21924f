"""Re-sent audit events are delivery artifacts; edits and deletions still break the chain."""

from __future__ import annotations

import copy

from atlas_streams.rbac import GENESIS, chain_event, verify_chain
from atlas_streams.web.rbac import unique_in_chain_order


def chain(n: int) -> list[dict]:
    events, head = [], GENESIS
    for seq in range(n):
        event = chain_event(head, {"event_id": f"e{seq}", "status": 200, "seq": seq})
        events.append(event)
        head = event["hash"]
    return events


def test_exact_resends_are_dropped_and_the_chain_verifies() -> None:
    events = chain(6)
    resent = events[:4] + events[2:4] + events[4:]  # a restarted writer re-sent two events
    assert not verify_chain(sorted(resent, key=lambda e: e["seq"])).ok
    assert verify_chain(unique_in_chain_order(resent)).ok


def test_an_edited_or_missing_event_still_breaks_the_chain() -> None:
    events = chain(6)
    edited = copy.deepcopy(events)
    edited[3]["status"] = 500
    assert verify_chain(unique_in_chain_order(edited + events[3:4])).first_break_index is not None
    assert verify_chain(unique_in_chain_order(events[:2] + events[3:])).first_break_index == 2
