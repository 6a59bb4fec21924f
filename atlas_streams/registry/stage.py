"""The lifecycle of a model version: its stages and the moves allowed between them.

=============  =====================================  ==========================================
from           allowed to                             why
=============  =====================================  ==========================================
development    staging, archived                      validate it, or give it up
staging        production, development, archived      ship it, rework it, or give it up
production     staging, archived                      pull it back for checks, or retire it
archived       development, staging                   restore it; re-staging is the rollback path
=============  =====================================  ==========================================

A move to the same stage is never allowed, and nothing reaches production except from
staging. Moving a version into production archives the version that held production, so a
model has at most one production version (see :mod:`atlas_streams.registry.decision`).

A *promotion* (``promote-staging``, ``promote-production``) may take more than one move:
promoting a version in development or archived to production passes it through staging, as
two recorded moves, because the platform we replace promotes straight from development and its
users' scripts do. A plain ``transition`` makes exactly one move.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .errors import IllegalTransition, Invalid

__all__ = ["ALLOWED_TRANSITIONS", "Stage", "parse_stage", "promotion_path", "transition"]


class Stage(StrEnum):
    """A stage in a model version's lifecycle."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


ALLOWED_TRANSITIONS: Mapping[Stage, frozenset[Stage]] = {
    Stage.DEVELOPMENT: frozenset({Stage.STAGING, Stage.ARCHIVED}),
    Stage.STAGING: frozenset({Stage.PRODUCTION, Stage.DEVELOPMENT, Stage.ARCHIVED}),
    Stage.PRODUCTION: frozenset({Stage.STAGING, Stage.ARCHIVED}),
    Stage.ARCHIVED: frozenset({Stage.DEVELOPMENT, Stage.STAGING}),
}


def parse_stage(value: object, field: str = "stage") -> Stage:
    """Return the stage named by ``value``.

    Raises:
        Invalid: naming ``field`` and the stages there are.
    """
    if isinstance(value, str) and value in {stage.value for stage in Stage}:
        return Stage(value)
    names = ", ".join(stage.value for stage in Stage)
    raise Invalid(f"{field} must be one of {names}; got {value!r}")


def transition(current: Stage, target: Stage) -> Stage:
    """Return ``target`` when a version may move there from ``current``.

    Raises:
        IllegalTransition: saying which moves ``current`` allows instead.
    """
    if target in ALLOWED_TRANSITIONS[current]:
        return target
    allowed = ", ".join(sorted(stage.value for stage in ALLOWED_TRANSITIONS[current]))
    if target is current:
        reason = f"the version is already in {current.value}"
    else:
        reason = f"{current.value} -> {target.value} is not an allowed transition"
    raise IllegalTransition(f"{reason}; from {current.value} it can move to: {allowed}")


def promotion_path(current: Stage, target: Stage) -> tuple[Stage, ...]:
    """Return the stages a promotion to ``target`` moves through, ``target`` last.

    One move when the table allows it; else through staging when both moves are allowed
    (development or archived -> staging -> production).

    Raises:
        IllegalTransition: as :func:`transition` does, when no such path exists.
    """
    if target in ALLOWED_TRANSITIONS[current]:
        return (target,)
    if target is not current and Stage.STAGING in ALLOWED_TRANSITIONS[current] and (
        target in ALLOWED_TRANSITIONS[Stage.STAGING]
    ):
        return (Stage.STAGING, target)
    return (transition(current, target),)
