"""The errors the registry raises, one class per answer the caller should give.

The web layer maps them to HTTP: :class:`NotFound` to 404, :class:`Conflict` (and its
:class:`IllegalTransition`) to 409, :class:`Invalid` to 422. Every message says what went
wrong and what to do about it, so it can be shown to the user as it is.
"""

from __future__ import annotations

__all__ = ["Conflict", "IllegalTransition", "Invalid", "NotFound", "RegistryError"]


class RegistryError(Exception):
    """Base of every error the registry raises on a request it cannot carry out."""


class NotFound(RegistryError):
    """The model or version named by the request does not exist."""


class Conflict(RegistryError):
    """The request is well formed but clashes with the registry's current state."""


class IllegalTransition(Conflict):
    """A version cannot move from its stage to the stage asked for."""


class Invalid(RegistryError, ValueError):
    """The request body, a name or a query expression is malformed; the message names the field."""
