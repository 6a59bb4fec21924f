"""The audit log's events: one per access decision, and the filters of the log's queries.

Events are chained by :mod:`atlas_streams.rbac.chain` (keyed, so tampering shows). Anonymous
401s are not audited one by one: :func:`anonymous_summary` folds a client's failed
authentications over an interval into one event with a count, so an unauthenticated client adds
a bounded number of events per minute.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidRequest
from .policy import Decision

__all__ = [
    "DECISIONS",
    "MAX_LIMIT",
    "LogQuery",
    "anonymous_summary",
    "filter_events",
    "new_event",
    "parse_log_query",
    "refusal_event",
]
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
    request_id: str | None = None,
) -> dict[str, Any]:
    """Return an unchained audit event for one decision; ``ts`` must be timezone-aware."""
    if ts.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware; pass datetime.now(UTC)")
    return {
        "request_id": request_id,
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


def anonymous_summary(
    *, client: str | None, count: int, first: datetime, last: datetime, reasons: Mapping[str, int],
) -> dict[str, Any]:
    """Return one audit event for ``count`` failed authentications of a client between times."""
    return {
        **new_event(ts=last, method="*", path="*", permission=None,
                    decision=Decision(False, 401, "unauthenticated"), client=client),
        "count": count,
        "first_ts": first.isoformat(),
        "reasons": dict(sorted(reasons.items())),
    }


def refusal_event(*, ts: datetime, where: str, reason: str, detail: str) -> dict[str, Any]:
    """Return the audit event of bytes refused because no worker sealed them.

    ``where`` says where they were found (a topic, partition and offset, or a table and key),
    ``reason`` is ``forged_message`` or ``forged_record``, ``detail`` what was wrong.
    """
    return {
        **new_event(ts=ts, method="KAFKA", path=where, permission=None,
                    decision=Decision(False, 403, reason)),
        "detail": detail,
    }


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
