"""Internal commands sealed by the sender and opened by their agent; forgeries refused aloud.

The web view (and ``atlas-streams admin``) seal every command they send to an agent, and every
worker seals the raw decisions it ships, with the signing key (``ATLAS_SIGNING_KEY``) bound to
the topic's name. An agent opens each message before it acts; a message no worker sealed (a
plain client writing to the topic) changes nothing: it goes to the dead-letter topic with the
reason and its position, and the refusal is audited. Forged records in the access tables are
audited the same way (``tables/sealed.py`` finds them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from atlas_streams.agents.deadletter import dead_letter
from atlas_streams.agents.trail import AuditTrail
from atlas_streams.rbac import Forged, Keyring, refusal_event, seal, unseal

__all__ = ["Opener", "Refusals", "open_command", "seal_command"]

log = logging.getLogger(__name__)


def _purpose(topic: str) -> str:
    return f"topic:{topic}"


def seal_command(keyring: Keyring, topic: str, body: Any) -> bytes:
    """Return ``body`` as JSON sealed for the internal topic ``topic``."""
    return seal(keyring, _purpose(topic), orjson.dumps(body))


def open_command(keyring: Keyring, topic: str, value: Any) -> Any:
    """Return the JSON body of a message sealed for ``topic``.

    Raises:
        Forged: no worker sealed it for this topic.
    """
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    payload = unseal(keyring, _purpose(topic), raw)
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:  # sealed by a worker: only a bug gets here
        raise Forged(f"sealed, but not JSON: {exc}") from None


class Refusals:
    """Dead-letter and audit what no worker sealed."""

    def __init__(self, trail: AuditTrail, deadletter: faust.TopicT) -> None:
        self.trail = trail
        self.deadletter = deadletter

    def message(self, message: Any, why: str) -> None:
        """Refuse a forged message: dead-letter it and audit the refusal."""
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        log.error("refused a message no worker sealed at %s: %s", where, why)
        self.deadletter.send_soon(value=dead_letter(message, f"forged: {why}"))
        self.trail.record(refusal_event(ts=datetime.now(UTC), where=where,
                                        reason="forged_message", detail=why))

    def record(self, table: str, key: str, why: str) -> None:
        """Audit a forged table record (the table ignores it)."""
        self.trail.record(refusal_event(ts=datetime.now(UTC), where=f"table {table} key {key}",
                                        reason="forged_record", detail=why))


@dataclass(frozen=True)
class Opener:
    """Open the commands an agent consumes; refuse (dead-letter, audit) what no worker sealed."""

    keyring: Keyring
    refusals: Refusals

    def open(self, event: faust.EventT) -> Any | None:
        """Return the body of a sealed command, or None after refusing a forged one."""
        try:
            return open_command(self.keyring, event.message.topic, event.value)
        except Forged as exc:
            self.refusals.message(event.message, str(exc))
            return None
