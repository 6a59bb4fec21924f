from __future__ import annotations

import itertools

import pytest

from atlas_streams.registry import (
    ALLOWED_TRANSITIONS,
    Conflict,
    IllegalTransition,
    Invalid,
    Stage,
    parse_stage,
    promotion_path,
    transition,
)

D, S, P, A = Stage.DEVELOPMENT, Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED

# Written out by hand so a change to the table in the module has to change this too.
LEGAL = {(D, S), (D, A), (S, P), (S, D), (S, A), (P, S), (P, A), (A, D), (A, S)}
PAIRS = list(itertools.product(Stage, Stage))


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition_returns_target(current: Stage, target: Stage) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in LEGAL])
def test_illegal_transition_raises_with_reason(current: Stage, target: Stage) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)
    message = str(caught.value)
    assert current.value in message
    for allowed in ALLOWED_TRANSITIONS[current]:
        assert allowed.value in message
    assert isinstance(caught.value, Conflict)


def test_table_matches_the_documented_one() -> None:
    assert {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets} == LEGAL


def test_only_staging_reaches_production() -> None:
    assert [a for a, targets in ALLOWED_TRANSITIONS.items() if P in targets] == [S]


def test_same_stage_says_already_there() -> None:
    with pytest.raises(IllegalTransition, match="already in staging"):
        transition(S, S)


@pytest.mark.parametrize("value", ["prod", "", None, 3, ["staging"], "STAGING"])
def test_parse_stage_rejects_unknown(value: object) -> None:
    with pytest.raises(Invalid, match="stage must be one of development, staging"):
        parse_stage(value)


def test_parse_stage_accepts_values() -> None:
    assert [parse_stage(s.value) for s in Stage] == list(Stage)


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (Stage.DEVELOPMENT, Stage.PRODUCTION, (Stage.STAGING, Stage.PRODUCTION)),
        (Stage.ARCHIVED, Stage.PRODUCTION, (Stage.STAGING, Stage.PRODUCTION)),
        (Stage.STAGING, Stage.PRODUCTION, (Stage.PRODUCTION,)),
        (Stage.DEVELOPMENT, Stage.STAGING, (Stage.STAGING,)),
        (Stage.PRODUCTION, Stage.STAGING, (Stage.STAGING,)),
    ],
)
def test_promotion_path_passes_through_staging(
    current: Stage, target: Stage, path: tuple[Stage, ...]
) -> None:
    assert promotion_path(current, target) == path
    for before, after in zip((current, *path), path, strict=False):
        assert transition(before, after) is after  # every step is a legal move


def test_promotion_to_the_current_stage_is_refused() -> None:
    for stage in (Stage.PRODUCTION, Stage.STAGING):
        with pytest.raises(IllegalTransition, match="already in"):
            promotion_path(stage, stage)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (D, P, "development -> production is not an allowed transition; "
               "from development it can move to: archived, staging"),
        (S, S, "the version is already in staging; "
               "from staging it can move to: archived, development, production"),
        (A, P, "archived -> production is not an allowed transition; "
               "from archived it can move to: development, staging"),
    ],
)
def test_illegal_transition_says_exactly_where_it_can_go(
    current: Stage, target: Stage, message: str
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)
    assert str(caught.value) == message
