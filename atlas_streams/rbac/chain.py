"""The keyed audit chain: link access decisions in order under a secret, and check the links.

Each chained event carries ``seq`` (0, 1, 2, ...), ``prev_hash`` (the previous event's ``hash``,
:data:`GENESIS` for the first), ``kid`` (the id of the audit key) and ``hash`` = HMAC-SHA256
under the audit key of ``prev_hash`` and the canonical JSON (sorted keys) of the event without
its ``hash``. A plain SHA-256 chain proves nothing against someone who can write to the topic:
they compute the next hash themselves. With a key only the workers hold, an edited, inserted or
appended event fails its MAC; a removed or reordered one breaks ``prev_hash`` or ``seq``; cut
events off the end are found against the writer's stored head (:meth:`ChainCheck.against_head`).

The writer is one agent (:func:`chain_decisions`); every worker checks the chain incrementally as
it reads the topic (:class:`ChainCheck`), so re-checking after N new events reads N events.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from .signing import Keyring

__all__ = [
    "GENESIS",
    "ChainBreak",
    "ChainCheck",
    "ChainHead",
    "ChainReport",
    "chain_decisions",
    "chain_event",
    "link_hash",
    "link_problem",
    "verify_chain",
]

GENESIS = "0" * 64


def link_hash(key: bytes, prev_hash: str, event: Mapping[str, Any]) -> str:
    """Return the HMAC-SHA256 (hex) under ``key`` of ``prev_hash`` and the event minus ``hash``."""
    body = {name: value for name, value in event.items() if name != "hash"}
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    message = b"atlas-audit\x00" + prev_hash.encode("ascii") + canonical
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def chain_event(keyring: Keyring, prev_hash: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``event`` linked after ``prev_hash`` under the keyring's current key."""
    linked = {name: value for name, value in event.items() if name != "hash"}
    linked["prev_hash"] = prev_hash
    linked["kid"] = keyring.current_id
    linked["hash"] = link_hash(keyring.current, prev_hash, linked)
    return linked


def link_problem(keyring: Keyring, prev_hash: str, event: object) -> str | None:
    """Return why ``event`` does not follow ``prev_hash`` under the keyring, or None if it does."""
    if not isinstance(event, Mapping):
        return "event is not a JSON object"
    if event.get("prev_hash") != prev_hash:
        return "prev_hash does not match the previous event: one was removed, inserted or moved"
    kid = event.get("kid")
    key = keyring.key_for(bytes.fromhex(kid)) if isinstance(kid, str) and _is_hex(kid, 8) else None
    if key is None:
        return ("signed with an audit key this worker does not hold: forged, or the key was "
                "rotated out (add it to ATLAS_AUDIT_PREVIOUS_KEYS)")
    try:
        expected = link_hash(key, prev_hash, event)
    except (TypeError, orjson.JSONEncodeError):
        return "event cannot be encoded as JSON"
    if not hmac.compare_digest(str(event.get("hash")), expected):
        return "the event's MAC does not match: edited, or written without the audit key"
    return None


def _is_hex(value: object, length: int) -> bool:
    if not isinstance(value, str) or len(value) != length:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ChainHead:
    """Where the writer stands: last hash and seq, last raw offset, last seq per origin."""

    hash: str = GENESIS
    seq: int = -1
    offset: int = -1  # the last raw-decision offset applied (replays at or below are skipped)
    origins: Mapping[str, int] = field(default_factory=dict)  # worker id -> last outbox seq

    def to_json(self) -> dict[str, Any]:
        """Return the head as a JSON-ready value."""
        return {"hash": self.hash, "seq": self.seq, "offset": self.offset,
                "origins": dict(self.origins)}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ChainHead:
        """Return a head from :meth:`to_json`'s shape (``origins`` may be missing)."""
        return cls(str(body["hash"]), int(body["seq"]), int(body["offset"]),
                   {str(k): int(v) for k, v in dict(body.get("origins") or {}).items()})


def chain_decisions(
    head: ChainHead, decisions: Sequence[tuple[int, Mapping[str, Any]]], keyring: Keyring,
    chain_id: str,
) -> tuple[ChainHead, list[dict[str, Any]]]:
    """Chain raw decisions (offset, event) after ``head``; return the new head and new events.

    A decision at or below the head's offset was chained before (the raw topic was replayed
    after a crash). A decision whose ``origin_seq`` is at or below the last one chained from its
    ``origin`` is a re-send of a worker's outbox (it was sent, then the worker died before it
    recorded the send): chained once, never twice.
    """
    current, seq, offset = head.hash, head.seq, head.offset
    origins = dict(head.origins)
    chained: list[dict[str, Any]] = []
    for raw_offset, decision in decisions:
        if raw_offset <= offset:
            continue
        offset = raw_offset
        origin, origin_seq = decision.get("origin"), decision.get("origin_seq")
        if isinstance(origin, str) and isinstance(origin_seq, int):
            if origin_seq <= origins.get(origin, -1):
                continue
            origins[origin] = origin_seq
        seq += 1
        event = chain_event(keyring, current, {**decision, "chain": chain_id, "seq": seq})
        chained.append(event)
        current = event["hash"]
    return ChainHead(current, seq, offset, origins), chained


@dataclass(frozen=True)
class ChainBreak:
    """The first event that does not belong to the chain, and why."""

    offset: int | None  # its offset in the audit topic (None when checked from a list)
    seq: int | None
    event_id: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """Return the break as a JSON-ready value."""
        return {"offset": self.offset, "seq": self.seq, "event_id": self.event_id,
                "reason": self.reason}


@dataclass(frozen=True)
class ChainCheck:
    """An incremental check of a chain: the last good link, how many, and the first break."""

    seq: int = -1
    hash: str = GENESIS
    checked: int = 0
    broken: ChainBreak | None = None
    # Per origin (a worker's outbox), the last origin_seq the chain holds: a writer with no
    # stored head resumes from here (``ChainHead.origins``), so decisions replayed to it that
    # the chain holds already are known as re-sends instead of being chained again.
    origins: Mapping[str, int] = field(default_factory=dict)

    def next(
        self, keyring: Keyring, event: Mapping[str, Any], offset: int | None = None,
        seen_hash: str | None = None,
    ) -> ChainCheck:
        """Return the check after one more event read from the chain, in topic order.

        ``seen_hash`` is the hash already checked for the event's ``seq``, if any: an event
        sent twice by a restarted writer is the same event again, not a break.
        """
        if self.broken is not None:
            return self
        seq = event.get("seq") if isinstance(event, Mapping) else None
        if isinstance(seq, int) and seq <= self.seq:
            # Its own MAC first: a forged event that takes a seq the writer also used is named a
            # forgery whichever of the two came first (CI: the forged one came second and the
            # reason was only "again").
            own = link_problem(keyring, str(event.get("prev_hash")), event)
            if own is not None:
                return self._break(event, offset, own)
            if seen_hash is not None and event.get("hash") == seen_hash:
                return self  # an exact re-send: same MAC, and the MAC covers every field
            return self._break(event, offset, f"sequence number {seq} again, with other content "
                                              "(signed with the audit key: two writers?)")
        problem = link_problem(keyring, self.hash, event)
        if problem is None and seq != self.seq + 1:
            problem = f"sequence number jumps from {self.seq} to {seq}: events are missing or moved"
        if problem is not None:
            return self._break(event, offset, problem)
        origins = self.origins
        origin, origin_seq = event.get("origin"), event.get("origin_seq")
        if isinstance(origin, str) and isinstance(origin_seq, int) and (
                origin_seq > origins.get(origin, -1)):
            origins = {**origins, origin: origin_seq}
        return ChainCheck(self.seq + 1, str(event["hash"]), self.checked + 1, origins=origins)

    def head(self) -> ChainHead:
        """Return the writer's head as this check read the chain (no raw offset: -1)."""
        return ChainHead(self.hash, self.seq, origins=dict(self.origins))

    def _break(self, event: object, offset: int | None, reason: str) -> ChainCheck:
        mapping = event if isinstance(event, Mapping) else {}
        seq, event_id = mapping.get("seq"), mapping.get("event_id")
        found = ChainBreak(offset, seq if isinstance(seq, int) else None,
                           event_id if isinstance(event_id, str) else None, reason)
        return replace(self, broken=found)

    def against_head(self, head: ChainHead) -> str | None:
        """Return why the checked chain disagrees with the writer's head, or None if it agrees."""
        if self.broken is not None:
            return self.broken.reason
        if self.seq < head.seq:
            return (f"the topic's chain ends at seq {self.seq} but the writer's head is at seq "
                    f"{head.seq}: events were removed from the end")
        if self.seq == head.seq and self.hash != head.hash:
            return "the last event differs from the writer's head"
        return None


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying a list of events: ``checked`` counts the events found intact."""

    ok: bool
    checked: int
    first_break_index: int | None
    first_break_event_id: str | None
    reason: str
    head: str  # hash of the last intact event (GENESIS when none)

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready body."""
        return {"ok": self.ok, "checked": self.checked,
                "first_break_index": self.first_break_index,
                "first_break_event_id": self.first_break_event_id, "reason": self.reason,
                "head": self.head}


def verify_chain(
    events: Iterable[Mapping[str, Any]], keyring: Keyring, expected_head: ChainHead | None = None,
) -> ChainReport:
    """Return whether ``events`` (in chain order) form an unbroken chain, and where not."""
    check = ChainCheck()
    for index, event in enumerate(events):
        check = check.next(keyring, event, index)
        if check.broken is not None:
            return ChainReport(False, check.checked, index, check.broken.event_id,
                               check.broken.reason, check.hash)
    problem = check.against_head(expected_head) if expected_head is not None else None
    if problem is not None:
        return ChainReport(False, check.checked, None, None, problem, check.hash)
    return ChainReport(True, check.checked, None, None, "intact", check.hash)

