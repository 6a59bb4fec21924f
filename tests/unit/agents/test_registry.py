"""Unit tests of carry_out, the pure step of the registry agent: replies and replay safety."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from atlas_streams.agents.registry import ERROR_KINDS, carry_out, wait_for_run
from atlas_streams.tables.registry import StoredModel

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def request(command_id: str, action: str, body: Any = None, version: str | None = None,
            model: str = "churn") -> dict[str, Any]:
    """Return a command request as the web view sends it."""
    return {"id": command_id, "action": action, "model": model, "version": version,
            "body": body, "actor": "ann"}


class Log:
    """Run requests through carry_out in order, keeping the stored value and every event."""

    def __init__(self) -> None:
        self.stored: StoredModel | None = None
        self.events: list[Any] = []
        self.clock = 0

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        self.clock += 1
        outcome = carry_out(self.stored, req, now=T0 + timedelta(seconds=self.clock),
                            run_exists=lambda run: run == "known-run")
        if outcome.stored is not None:
            self.stored = StoredModel.from_bytes(outcome.stored.to_bytes())
        self.events.extend(outcome.events)
        return outcome.reply


def test_a_command_replies_with_the_new_state_and_its_events() -> None:
    log = Log()
    reply = log.run(request("c1", "register_model", {"name": "churn", "tags": ["crm"]}))
    assert reply["ok"] and not reply["duplicate"]
    assert reply["state"]["name"] == "churn" and reply["state"]["tags"] == ["crm"]
    assert [e["event_id"] for e in reply["events"]] == ["c1.0"]
    assert log.stored is not None and log.stored.has_run("c1")


def test_a_redelivered_command_is_not_carried_out_twice() -> None:
    log = Log()
    log.run(request("c1", "register_model", {"name": "churn"}))
    log.run(request("c2", "add_version", {"version": "1.0.0", "framework": "sklearn"}))
    metrics = request("c3", "update_metrics", {"auc": 0.9}, version="1.0.0")
    log.run(metrics)
    revision = log.stored.state.revision  # type: ignore[union-attr]
    again = log.run(metrics)
    assert again["ok"] and again["duplicate"] and again["events"] == []
    assert log.stored.state.revision == revision  # type: ignore[union-attr]
    assert len(log.events) == 3


def test_a_replayed_registration_cannot_bring_back_a_deleted_model() -> None:
    log = Log()
    register = request("c1", "register_model", {"name": "churn"})
    log.run(register)
    assert log.run(request("c2", "delete_model"))["ok"]
    assert log.stored is not None and log.stored.state is None  # a tombstone, ids kept
    assert log.run(register)["duplicate"]
    assert log.stored.state is None


def test_a_refused_command_is_recorded_so_its_replay_stays_refused() -> None:
    log = Log()
    early = request("c1", "add_version", {"version": "1.0.0", "framework": "sklearn"})
    reply = log.run(early)
    assert reply == {"ok": False, "error": "not_found",
                     "message": "model 'churn' does not exist; register it first"}
    log.run(request("c2", "register_model", {"name": "churn"}))
    # The command was refused before the registration: its replay (the first reply was lost in
    # a crash, say) gets the same refusal and does not add the version after all.
    again = log.run(early)
    assert again == {**reply, "duplicate": True}
    assert log.stored.state.versions == {}  # type: ignore[union-attr]


def test_errors_name_their_kind() -> None:
    log = Log()
    assert log.run(request("c1", "register_model", {"name": "bad name"}))["error"] == "invalid"
    assert log.stored is None  # a malformed command changes nothing, not even the ids
    log.run(request("c2", "register_model", {"name": "churn"}))
    assert log.run(request("c3", "register_model", {"name": "churn"}))["error"] == "conflict"
    lineage = {"feature_group": "g", "feature_version": "1", "features_used": [],
               "training_dataset_id": "d", "profile_run_id": "unknown-run"}
    body = {"version": "1.0.0", "framework": "sklearn", "lineage": lineage}
    assert log.run(request("c4", "add_version", body))["error"] == "invalid"
    lineage["profile_run_id"] = "known-run"
    assert log.run(request("c5", "add_version", body))["ok"]
    assert set(ERROR_KINDS) == {"not_found", "conflict", "invalid", "forbidden", "internal"}


def test_promotion_to_production_archives_the_serving_version() -> None:
    log = Log()
    log.run(request("c1", "register_model", {"name": "churn"}))
    for n, version in enumerate(("1.0.0", "1.1.0")):
        log.run(request(f"a{n}", "add_version", {"version": version, "framework": "onnx"}))
        log.run(request(f"s{n}", "promote_staging", version=version))
        reply = log.run(request(f"p{n}", "promote_production", version=version))
        assert reply["ok"]
    assert [(e["version"], e["to_stage"]) for e in reply["events"]] == [
        ("1.0.0", "archived"), ("1.1.0", "production")]
    assert reply["state"]["production"] == "1.1.0"


async def test_the_agent_waits_for_the_snapshot_the_view_took() -> None:
    seen: set[str] = set()
    asked: list[str] = []

    def run_exists(run: str) -> bool:
        asked.append(run)
        if len(asked) == 3:  # the global table's copy catches up
            seen.add(run)
        return run in seen

    await wait_for_run({"await_run": "new-run"}, run_exists, timeout=5)
    assert seen == {"new-run"} and asked == ["new-run"] * 3


async def test_the_agent_waits_for_nothing_else_and_not_for_ever() -> None:
    asked: list[str] = []
    await wait_for_run({"body": {"lineage": {"training_run_id": "r"}}}, asked.append, timeout=5)
    assert asked == []  # only a run the view took is waited for
    started = time.monotonic()
    await wait_for_run({"await_run": "lost"}, lambda run: False, timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 2
