"""The audit log: one event per access decision, hash-chained so tampering shows.

Each event carries ``prev_hash`` (the previous event's ``hash``, or :data:`GENESIS` for the
first) and ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON (sorted keys) of the
event without its ``hash``. Editing, removing, inserting or reordering an event breaks the
link at that event; :func:`verify_chain` reports the first such break. Cutting events off
the end is only caught when the caller passes the head hash it saw last.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from .errors import InvalidRequest
from .policy import Decision

__all__ = [
    "DECISIONS",
    "GENESIS",
    "MAX_LIMIT",
    "ChainReport",
    "LogQuery",
    "chain_event",
    "event_hash",
    "filter_events",
    "new_event",
    "parse_log_query",
    "verify_chain",
]

GENESIS = "0" * 64
DECISIONS = ("allowed", "denied")
MAX_LIMIT = 1000


def new_event(
    *,
    ts: datetime,
    method: str,
    path: str,
    permission: str | None,
    decision: Decision,
    user_id: str | None = None,
    key_id: str | None = None,
    dataset: str | None = None,
    client: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Return an unchained audit event for one decision; ``ts`` must be timezone-aware."""
    if ts.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware; pass datetime.now(UTC)")
    return {
        "event_id": event_id or secrets.token_hex(16),
        "ts": ts.isoformat(),
        "user_id": user_id,
        "key_id": key_id,
        "method": method,
        "path": path,
        "permission": permission,
        "dataset": dataset,
        "client": client,
        "status": decision.status,
        "allowed": decision.allowed,
        "reason": decision.reason,
    }


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex over ``prev_hash`` and the event's canonical JSON minus ``hash``."""
    body = {name: value for name, value in event.items() if name != "hash"}
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def chain_event(prev_hash: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``event`` linked after ``prev_hash``, with its own ``hash``."""
    linked = {name: value for name, value in event.items() if name != "hash"}
    linked["prev_hash"] = prev_hash
    linked["hash"] = event_hash(prev_hash, linked)
    return linked


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying a chain: ``checked`` counts the events found intact."""

    ok: bool
    checked: int
    first_break_index: int | None
    first_break_event_id: str | None
    reason: str
    head: str  # hash of the last intact event (``start_hash`` when none)

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready body."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_break_index": self.first_break_index,
            "first_break_event_id": self.first_break_event_id,
            "reason": self.reason,
            "head": self.head,
        }


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    start_hash: str = GENESIS,
    expected_head: str | None = None,
) -> ChainReport:
    """Return whether the events form an unbroken chain from ``start_hash``, and where not."""
    prev = start_hash
    checked = 0
    for index, event in enumerate(events):
        problem = _link_problem(prev, event)
        if problem is not None:
            event_id = event.get("event_id") if isinstance(event, Mapping) else None
            return ChainReport(False, checked, index, _str_or_none(event_id), problem, prev)
        prev = event["hash"]
        checked += 1
    if expected_head is not None and prev != expected_head:
        return ChainReport(False, checked, None, None, "chain ends before the expected head", prev)
    return ChainReport(True, checked, None, None, "intact", prev)


def _link_problem(prev: str, event: object) -> str | None:
    if not isinstance(event, Mapping):
        return "event is not a JSON object"
    if event.get("prev_hash") != prev:
        return "prev_hash does not match the previous event: one was removed, added or moved"
    try:
        expected = event_hash(prev, event)
    except (TypeError, orjson.JSONEncodeError):
        return "event cannot be encoded as JSON"
    if event.get("hash") != expected:
        return "hash does not match the event's content: the event was edited"
    return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class LogQuery:
    """Validated filters of ``GET /rbac/access-logs``."""

    user: str | None = None
    decision: str | None = None  # "allowed", "denied" or None for both
    since: datetime | None = None
    limit: int = 100

    def apply(self, events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Return the matching events, newest first."""
        return filter_events(
            events, user=self.user, decision=self.decision, since=self.since, limit=self.limit
        )


def parse_log_query(params: Mapping[str, str]) -> LogQuery:
    """Return the filters of a query string (``user``, ``decision``, ``since``, ``limit``)."""
    for name in params:
        if name not in {"user", "decision", "since", "limit"}:
            raise InvalidRequest(name, "unknown filter; use user, decision, since or limit")
    since = None
    if "since" in params:
        try:
            since = datetime.fromisoformat(params["since"])
        except ValueError:
            raise InvalidRequest("since", "expected an ISO-8601 time") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    limit = 100
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise InvalidRequest("limit", f"expected a whole number 1..{MAX_LIMIT}") from None
    query = LogQuery(params.get("user"), params.get("decision"), since, limit)
    _check_filters(query.decision, query.since, query.limit)
    return query


def filter_events(
    events: Iterable[Mapping[str, Any]],
    *,
    user: str | None = None,
    decision: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Mapping[str, Any]]:
    """Return the last ``limit`` events (in log order) that match, newest first."""
    _check_filters(decision, since, limit)
    wanted = None if decision is None else decision == "allowed"
    kept: deque[Mapping[str, Any]] = deque(maxlen=limit)
    for event in events:
        if user is not None and event.get("user_id") != user:
            continue
        if wanted is not None and event.get("allowed") is not wanted:
            continue
        if since is not None and not _at_or_after(event.get("ts"), since):
            continue
        kept.append(event)
    return list(reversed(kept))


def _check_filters(decision: str | None, since: datetime | None, limit: int) -> None:
    if decision is not None and decision not in DECISIONS:
        raise InvalidRequest("decision", "expected allowed or denied")
    if since is not None and since.tzinfo is None:
        raise InvalidRequest("since", "give a timezone, e.g. 2024-05-01T00:00:00+00:00")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("limit", f"expected a whole number 1..{MAX_LIMIT}")


def _at_or_after(ts: object, since: datetime) -> bool:
    if not isinstance(ts, str):
        return False
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) >= since
