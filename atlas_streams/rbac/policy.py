"""The access decision: who may do what to which dataset, as one pure function.

:func:`decide` denies by default and checks in a fixed order: a known, active principal
(else 401), a catalogued permission the principal's roles grant (else 403), then the dataset
lists (else 404, so a user never learns that a dataset they are denied exists). ``reason``
records the real cause for the audit log; :attr:`Decision.public_message` is what to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .permissions import PERMISSION_NAMES
from .users import User

__all__ = [
    "DATASET_DENIED",
    "GRANTED",
    "MISSING_KEY",
    "PERMISSION_DENIED",
    "UNKNOWN_PERMISSION",
    "USER_DISABLED",
    "Decision",
    "can_access_dataset",
    "decide",
    "visible_datasets",
]

GRANTED = "granted"
MISSING_KEY = "missing or unknown API key"
USER_DISABLED = "user_disabled"
UNKNOWN_PERMISSION = "unknown_permission"
PERMISSION_DENIED = "permission_denied"
DATASET_DENIED = "dataset_denied"

_PUBLIC_MESSAGES = {
    401: "missing or unknown API key: send a valid key in the X-API-Key header",
    403: "your roles do not grant the permission this request needs",
    404: "not found",
}


@dataclass(frozen=True)
class Decision:
    """The outcome of one access check: allowed, the HTTP status to answer, and why."""

    allowed: bool
    status: int
    reason: str

    @property
    def public_message(self) -> str:
        """Return the message safe to show the caller (a 404 never says "denied")."""
        return _PUBLIC_MESSAGES.get(self.status, "ok")


def can_access_dataset(user: User, dataset: str) -> bool:
    """Return whether the user's lists let them see ``dataset``: deny wins, empty allow is all."""
    if any(fnmatchcase(dataset, pattern) for pattern in user.denied_datasets):
        return False
    if not user.allowed_datasets:
        return True
    return any(fnmatchcase(dataset, pattern) for pattern in user.allowed_datasets)


def visible_datasets(user: User, datasets: list[str]) -> list[str]:
    """Return the datasets of ``datasets`` the user may see, in their order (for listings)."""
    return [name for name in datasets if can_access_dataset(user, name)]


def decide(principal: User | None, permission: str, dataset: str | None = None) -> Decision:
    """Return whether ``principal`` may use ``permission`` (on ``dataset``, when given)."""
    if principal is None:
        return Decision(False, 401, MISSING_KEY)
    if principal.disabled:
        return Decision(False, 401, USER_DISABLED)
    if permission not in PERMISSION_NAMES:
        return Decision(False, 403, UNKNOWN_PERMISSION)
    if permission not in principal.permissions:
        return Decision(False, 403, PERMISSION_DENIED)
    if dataset is not None and not can_access_dataset(principal, dataset):
        return Decision(False, 404, DATASET_DENIED)
    return Decision(True, 200, GRANTED)
