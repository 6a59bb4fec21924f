"""The registry agent: carry out model-registry commands one at a time, emit their events.

The web view asks the agent (``ask``) with a command as JSON::

    {"id": "<uuid hex>", "action": "add_version", "model": "churn", "version": null,
     "body": {...}, "actor": "u-admin"}

The agent consumes a single-partition topic, so it is the one writer of the registry table and
commands on a model never race. For each command it reads the model's stored value, runs the
registry's ``parse_command -> decide -> apply``, sends each event to ``atlas.registry.events``
(keyed by model, acknowledged before the table is written, so an event is never lost: a crash
in between replays the command, whose events keep their ids), writes the new value and replies
``{"ok": true, "state": ..., "events": [...]}`` or ``{"ok": false, "error": kind, "message"}``
with kind one of :data:`ERROR_KINDS`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from atlas_streams.agents.sealing import Opener
from atlas_streams.registry import (
    Conflict,
    Event,
    Invalid,
    NotFound,
    RegistryError,
    apply,
    decide,
    parse_command,
)
from atlas_streams.tables.registry import RegistryTables, StoredModel

__all__ = ["ERROR_KINDS", "Outcome", "carry_out", "register_registry_agent", "wait_for_run"]

RUN_WAIT = 10.0  # s to wait for the snapshot a web view took for the command it sends

log = logging.getLogger(__name__)

# Reply error kind -> HTTP status the web view answers with.
ERROR_KINDS: Mapping[str, int] = {"not_found": 404, "conflict": 409, "invalid": 422,
                                  "forbidden": 403, "internal": 500}


@dataclass(frozen=True)
class Outcome:
    """What one command did: the value to store (None: store nothing), events, the reply."""

    stored: StoredModel | None
    reply: dict[str, Any]
    events: list[Event] = field(default_factory=list)


def carry_out(
    stored: StoredModel | None,
    request: Mapping[str, Any],
    *,
    now: datetime,
    run_exists: Callable[[str], bool] | None = None,
) -> Outcome:
    """Carry out one command request on a model's stored value; change nothing in place.

    A command whose id the value lists was carried out before (a redelivery): nothing is
    stored or emitted again and the reply is the current state, marked ``duplicate``, or the
    refusal it got the first time. A command the registry refuses is recorded with its
    refusal, so a replay cannot succeed later on a state that moved on; one that fails to parse
    is not (parsing does not depend on state).
    """
    command_id = request["id"]
    base = stored or StoredModel(None)
    if base.has_run(command_id):
        refusal = base.refusal(command_id)
        if refusal is not None:
            return Outcome(None, {"ok": False, "error": refusal[0], "message": refusal[1],
                                  "duplicate": True})
        return Outcome(None, _ok(base.state, [], duplicate=True))
    try:
        command = parse_command(
            request["action"], request.get("body"), model=request["model"],
            version=request.get("version"),
        )
    except Invalid as exc:
        return Outcome(None, _refused("invalid", exc))
    try:
        events = decide(base.state, command, now=now, actor=request["actor"],
                        event_id=command_id, run_exists=run_exists)
    except RegistryError as exc:
        kind = _kind(exc)
        return Outcome(base.after(base.state, command_id, (kind, str(exc))), _refused(kind, exc))
    state = base.state
    for event in events:
        state = apply(state, event)
    return Outcome(base.after(state, command_id), _ok(state, events), events)


def _ok(state: Any, events: list[Event], duplicate: bool = False) -> dict[str, Any]:
    return {
        "ok": True,
        "duplicate": duplicate,
        "state": None if state is None else state.to_json(),
        "events": [event.change().to_dict() for event in events],
    }


def _kind(exc: RegistryError) -> str:
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, Conflict):
        return "conflict"
    return "invalid"


def _refused(kind: str, exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": kind, "message": str(exc)}


async def wait_for_run(
    request: Mapping[str, Any], run_exists: Callable[[str], bool], timeout: float = RUN_WAIT
) -> None:
    """Wait (at most ``timeout``) until this worker's copy holds the request's ``await_run``.

    A web view that snapshots a new version's training dataset sees the snapshot in its own
    copy of the global table before it sends the command; the worker running this agent may
    not yet, and would refuse the version's ``training_run_id`` as naming no run.
    """
    run = request.get("await_run")
    if not isinstance(run, str):
        return
    deadline = time.monotonic() + timeout
    while not run_exists(run) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def register_registry_agent(
    app: faust.App,
    commands: faust.TopicT,
    events_topic: faust.TopicT,
    tables: RegistryTables,
    run_exists: Callable[[str], bool],
    opener: Opener,
) -> Any:
    """Register the registry agent; return it (the web view ``ask``s it)."""

    @app.agent(commands, name="atlas-registry-commands")
    async def registry_commands(stream: faust.StreamT) -> Any:
        # stream.events() sets the current event, so table writes go to partition 0.
        async for event in stream.events():
            request = opener.open(event)
            if not isinstance(request, dict):
                yield {"ok": False, "error": "forbidden", "message": "not sealed by a worker"}
                continue
            try:
                name = request["model"]
                await wait_for_run(request, run_exists)
                outcome = carry_out(tables.owned(name), request, now=datetime.now(UTC),
                                    run_exists=run_exists)
                for emitted in outcome.events:
                    sent = await events_topic.send(
                        key=name.encode(), value=orjson.dumps(emitted.to_dict())
                    )
                    await sent  # acknowledged before the table records the command
                if outcome.stored is not None:
                    tables.models[name] = outcome.stored.to_bytes()
                reply = outcome.reply
            except Exception as exc:  # never let one bad command stop the agent
                log.exception("registry command failed")
                reply = {"ok": False, "error": "internal", "message": f"{type(exc).__name__}"}
            yield reply

    return registry_commands
