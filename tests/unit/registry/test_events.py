from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from atlas_streams.registry import Event, EventType, apply, rebuild


def _through_kafka(events: list[Event]) -> list[Event]:
    return [Event.from_dict(orjson.loads(orjson.dumps(e.to_dict()))) for e in events]


def test_event_dict_round_trip(reg: Any) -> None:
    reg.add("1.0.0", metrics={"acc": 0.5})
    reg.to_production("1.0.0")
    assert _through_kafka(reg.events) == reg.events
    doc = reg.events[-1].to_dict()
    assert set(doc) == {"event_id", "type", "model", "version", "from_stage", "to_stage",
                        "actor", "timestamp", "revision", "data", "state"}
    assert doc["type"] == "stage_changed" and doc["to_stage"] == "production"


def test_rebuild_from_the_topic_equals_the_table(new_driver: Any) -> None:
    a, b = new_driver("a"), new_driver("b")
    for driver in (a, b):
        driver.do("register_model", {"name": driver.model})
        driver.add("1.0.0")
        driver.to_production("1.0.0")
    b.do("transition", {"stage": "archived"}, version="1.0.0")
    b.do("delete_model")
    b.do("register_model", {"name": "b", "description": "again"})
    interleaved = [e for pair in zip(a.events, b.events, strict=False) for e in pair]
    interleaved += a.events[len(b.events):] + b.events[len(a.events):]
    models = rebuild(_through_kafka(interleaved))
    assert models == {"a": a.state, "b": b.state}
    assert models["b"].description == "again" and not models["b"].versions


def test_redelivered_events_are_skipped(reg: Any) -> None:
    reg.add("1.0.0")
    reg.do("update_metrics", {"acc": 0.9}, version="1.0.0")
    events = reg.events
    assert rebuild(events[:2] + events[:3] + events[1:]) == {"churn": reg.state}


def test_a_missing_event_is_reported(reg: Any) -> None:
    reg.add("1.0.0")
    reg.do("promote_staging", version="1.0.0")
    with pytest.raises(ValueError, match="expected 2; the event log is missing"):
        rebuild([reg.events[0], reg.events[2]])


def test_events_for_unknown_models_are_reported(reg: Any) -> None:
    reg.add("1.0.0")
    with pytest.raises(ValueError, match="does not exist"):
        apply(None, replace(reg.events[1], revision=1))


def test_apply_replays_from_data_not_the_snapshot(reg: Any) -> None:
    (event,) = reg.add("1.0.0")
    tampered = replace(event, state={"nonsense": True})
    assert apply(reg.events[0] and apply(None, reg.events[0]), tampered) == reg.state


def test_history_records_every_event_without_snapshots(reg: Any) -> None:
    reg.add("1.0.0")
    reg.to_production("1.0.0")
    history = reg.live.history
    assert [c.type for c in history] == [
        EventType.MODEL_REGISTERED, EventType.VERSION_ADDED,
        EventType.STAGE_CHANGED, EventType.STAGE_CHANGED,
    ]
    assert [c.revision for c in history] == [1, 2, 3, 4]
    assert not any(hasattr(c, "state") for c in history)
