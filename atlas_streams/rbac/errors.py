"""The errors the access-control domain raises, one class per answer the caller should give.

The web layer maps :class:`InvalidRequest` to 422 with its ``field``; :class:`CorruptRecord`
means stored bytes could not be read back and is an operator problem, not a client one.
"""

from __future__ import annotations

__all__ = ["CorruptRecord", "Forged", "InvalidRequest", "RbacError"]


class RbacError(Exception):
    """Base of every error the access-control domain raises."""


class InvalidRequest(RbacError, ValueError):
    """A request body or query value is malformed; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def to_json(self) -> dict[str, str]:
        """Return the error as a JSON-ready body."""
        return {"error": "invalid_request", "field": self.field, "message": self.message}


class CorruptRecord(RbacError, ValueError):
    """Stored user bytes are not a record this version can read; restore or recreate the user."""


class Forged(RbacError, ValueError):
    """Bytes claim to come from a worker but their seal does not hold; refuse them, audit why."""
