from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_streams.registry import (
    Conflict,
    EventType,
    IllegalTransition,
    Invalid,
    NotFound,
    RegisterModel,
    Stage,
    apply,
    decide,
    parse_command,
    rebuild,
)

SHA = "cd" * 32
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Driver = Any  # the conftest driver, handed out by the reg and new_driver fixtures


def test_register_twice_conflicts(reg: Driver) -> None:
    with pytest.raises(Conflict, match="already exists; choose another name"):
        reg.do("register_model", {"name": "churn"})


def test_commands_on_missing_model_are_not_found(new_driver: Any) -> None:
    driver = new_driver()
    with pytest.raises(NotFound, match="does not exist; register it first"):
        driver.add("1.0.0")


def test_duplicate_version_conflicts_even_by_build_metadata(reg: Driver) -> None:
    reg.add("1.0.0+a")
    with pytest.raises(Conflict, match="already exists"):
        reg.add("1.0.0+a")
    with pytest.raises(Conflict, match="ranks the same as 1.0.0\\+a"):
        reg.add("1.0.0+b")


def test_version_starts_in_development(reg: Driver) -> None:
    (event,) = reg.add("1.0.0", metrics={"acc": 0.5})
    assert event.type is EventType.VERSION_ADDED and event.to_stage is Stage.DEVELOPMENT
    assert reg.live.get_version("1.0.0").stage is Stage.DEVELOPMENT


def test_promoting_to_production_archives_the_previous_one(reg: Driver) -> None:
    reg.add("1.0.0")
    reg.add("1.1.0")
    reg.to_production("1.0.0")
    reg.do("promote_staging", version="1.1.0")
    events = reg.do("promote_production", version="1.1.0")
    assert [(e.version, e.from_stage, e.to_stage) for e in events] == [
        ("1.0.0", Stage.PRODUCTION, Stage.ARCHIVED),
        ("1.1.0", Stage.STAGING, Stage.PRODUCTION),
    ]
    assert events[0].state is not None and events[1].state is not None
    assert [v["stage"] for v in events[0].state["versions"]] == ["archived", "staging"]
    assert reg.live.production_version() is not None
    assert reg.live.production_version().version == "1.1.0"


def test_transition_to_production_only_from_staging(reg: Driver) -> None:
    reg.add("1.0.0")
    with pytest.raises(IllegalTransition, match="development -> production"):
        reg.do("transition", {"stage": "production"}, version="1.0.0")


def test_promote_production_from_development_passes_through_staging(reg: Driver) -> None:
    reg.add("1.0.0")
    reg.to_production("1.0.0")
    reg.add("2.0.0")
    events = reg.do("promote_production", version="2.0.0")
    assert [(e.version, e.from_stage, e.to_stage) for e in events] == [
        ("2.0.0", Stage.DEVELOPMENT, Stage.STAGING),
        ("1.0.0", Stage.PRODUCTION, Stage.ARCHIVED),
        ("2.0.0", Stage.STAGING, Stage.PRODUCTION),
    ]
    assert [e.revision for e in events] == [events[0].revision + n for n in range(3)]
    moves = [(c.version, c.to_stage) for c in reg.live.history if c.type is EventType.STAGE_CHANGED]
    assert moves[-3:] == [("2.0.0", Stage.STAGING), ("1.0.0", Stage.ARCHIVED),
                          ("2.0.0", Stage.PRODUCTION)]


def test_promote_production_of_the_production_version_is_refused(reg: Driver) -> None:
    reg.add("1.0.0")
    reg.do("promote_production", version="1.0.0")
    with pytest.raises(IllegalTransition, match="already in production"):
        reg.do("promote_production", version="1.0.0")


def test_refused_command_leaves_state_untouched(reg: Driver) -> None:
    reg.add("1.0.0")
    reg.to_production("1.0.0")
    reg.add("2.0.0")
    before, events = reg.state, list(reg.events)
    with pytest.raises(IllegalTransition):
        reg.do("transition", {"stage": "production"}, version="2.0.0")  # development
    assert reg.state is before and reg.events == events
    assert reg.live.get_version("1.0.0").stage is Stage.PRODUCTION


def test_unknown_version_is_not_found(reg: Driver) -> None:
    reg.add("1.0.0")
    with pytest.raises(NotFound, match="its versions are: 1.0.0"):
        reg.do("promote_staging", version="9.9.9")


def test_metrics_merge(reg: Driver) -> None:
    reg.add("1.0.0", metrics={"acc": 0.5, "loss": 1})
    reg.do("update_metrics", {"acc": 0.7, "f1": 0.6}, version="1.0.0")
    assert dict(reg.live.get_version("1.0.0").metrics) == {"acc": 0.7, "loss": 1.0, "f1": 0.6}


def test_artifact_only_in_development(reg: Driver) -> None:
    reg.add("1.0.0")
    body = {"uri": "file:///x", "sha256": SHA, "size": 3}
    reg.do("set_artifact", body, version="1.0.0")
    artifact = reg.live.get_version("1.0.0").artifact
    assert artifact is not None and artifact.sha256 == SHA and artifact.size == 3
    reg.do("promote_staging", version="1.0.0")
    with pytest.raises(Conflict, match="only in development"):
        reg.do("set_artifact", body, version="1.0.0")


def test_delete_refused_while_in_production(reg: Driver) -> None:
    reg.add("1.0.0")
    reg.to_production("1.0.0")
    with pytest.raises(Conflict, match="archive it before deleting"):
        reg.do("delete_model")
    reg.do("transition", {"stage": "archived"}, version="1.0.0")
    (event,) = reg.do("delete_model")
    assert event.type is EventType.MODEL_DELETED and event.state is None and reg.state is None


def test_profile_run_must_exist_when_checked(reg: Driver) -> None:
    lineage = {"feature_group": "g", "feature_version": "1", "features_used": [],
               "training_dataset_id": "d", "profile_run_id": "run-1"}
    command = parse_command("add_version", {"version": "1.0.0", "framework": "onnx",
                                            "lineage": lineage}, model="churn")
    with pytest.raises(Invalid, match="names no profiling run"):
        decide(reg.state, command, now=T0, actor="ann", run_exists=lambda run: False)
    assert decide(reg.state, command, now=T0, actor="ann", run_exists={"run-1"}.__contains__)


def test_clock_going_backwards_is_clamped(reg: Driver) -> None:
    command = parse_command("add_version", {"version": "1.0.0", "framework": "onnx"},
                            model="churn")
    (event,) = decide(reg.state, command, now=T0 - timedelta(days=1), actor="ann")
    assert event.timestamp == reg.live.updated_at


def test_event_ids_from_caller_or_derived(reg: Driver) -> None:
    reg.add("1.0.0")
    command = parse_command("promote_staging", None, model="churn", version="1.0.0")
    (given,) = decide(reg.state, command, now=T0, actor="ann", event_id="req-7")
    assert given.event_id == "req-7.0"
    derived = [decide(reg.state, command, now=T0, actor="ann")[0].event_id for _ in range(2)]
    assert derived[0] == derived[1] != given.event_id


def test_naive_now_and_empty_actor_are_refused(reg: Driver) -> None:
    command = RegisterModel("other")
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(None, command, now=datetime(2024, 1, 1), actor="ann")
    with pytest.raises(Invalid, match="actor"):
        decide(None, command, now=T0, actor="")


# A random walk over the commands that touch stages, on a handful of versions.
VERSIONS = ["1.0.0", "1.1.0-rc.1", "1.1.0", "2.0.0"]
step = st.one_of(
    st.tuples(st.just("add_version"), st.sampled_from(VERSIONS)),
    st.tuples(st.sampled_from(["promote_staging", "promote_production"]),
              st.sampled_from(VERSIONS)),
    st.tuples(st.sampled_from([f"transition:{s.value}" for s in Stage]),
              st.sampled_from(VERSIONS)),
    st.tuples(st.just("update_metrics"), st.sampled_from(VERSIONS)),
    st.tuples(st.just("delete_model"), st.none()),
    st.tuples(st.just("register_model"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_random_commands_keep_one_production_and_rebuild(
    new_driver: Any, steps: list[tuple[str, str]]
) -> None:
    driver = new_driver()
    driver.do("register_model", {"name": "churn"})
    for action, version in steps:
        body: object = None
        if action == "add_version":
            body = {"version": version, "framework": "custom"}
        elif action.startswith("transition:"):
            action, stage = action.split(":")
            body = {"stage": stage}
        elif action == "update_metrics":
            body = {"acc": len(driver.events) / 100}
        elif action == "register_model":
            body = {"name": "churn"}
        try:
            driver.do(action, body, version=version)
        except (NotFound, Conflict):
            pass
        if driver.state is not None:
            stages = [v.stage for v in driver.state.versions.values()]
            assert stages.count(Stage.PRODUCTION) <= 1
    # Every event's snapshot is the state after it, and the events alone rebuild the model.
    state = None
    for event in driver.events:
        state = apply(state, event)
        assert (state.to_dict(history=False) if state else None) == event.state
        if state is not None:
            productions = [v for v in state.versions.values() if v.stage is Stage.PRODUCTION]
            assert len(productions) <= 1
    rebuilt = rebuild(driver.events)
    assert rebuilt == ({"churn": driver.state} if driver.state else {})


def test_now_with_other_timezone_is_stored_as_utc() -> None:
    from datetime import timezone

    (event,) = decide(None, RegisterModel("m"), now=datetime(2024, 1, 1, 2, tzinfo=timezone(
        timedelta(hours=2))), actor="ann")
    assert event.timestamp == datetime(2024, 1, 1, tzinfo=UTC).isoformat(timespec="microseconds")
