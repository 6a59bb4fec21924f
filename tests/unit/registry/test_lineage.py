"""A version's training-serving lineage: its training data (a snapshot or a range) and serving
dataset, parsed, checked and carried through state bytes, events and exports."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from atlas_streams.registry import (
    LINEAGE_FIELDS,
    AddVersion,
    Event,
    Invalid,
    Lineage,
    ModelState,
    decide,
    export,
    history,
    parse_command,
    rebuild,
)
from atlas_streams.registry.commands import parse_training_range

from .conftest import T0

RANGE = "2024-05-01T00:00:00+00:00/2024-05-08T00:00:00+00:00"


def lineage_of(lineage: dict[str, Any]) -> Lineage | None:
    body = {"version": "1.0.0", "framework": "sklearn", "lineage": lineage}
    command = parse_command("add_version", body, model="m")
    assert isinstance(command, AddVersion)
    return command.lineage


def test_every_lineage_field_is_accepted() -> None:
    assert set(LINEAGE_FIELDS) == {
        "feature_group", "feature_version", "features_used", "training_dataset_id",
        "training_run_id", "profile_run_id", "training_range", "serving_dataset_id"}


@pytest.mark.parametrize(
    ("lineage", "expected"),
    [
        ({"training_dataset_id": "orders", "training_run_id": "r1"},
         Lineage(training_dataset_id="orders", training_run_id="r1")),
        # the seed's name of the snapshot's run id is the same field
        ({"training_dataset_id": "orders", "profile_run_id": "r1"},
         Lineage(training_dataset_id="orders", training_run_id="r1")),
        ({"training_run_id": "r1", "profile_run_id": "r1"}, Lineage(training_run_id="r1")),
        ({"training_run_id": "r1", "profile_run_id": None}, Lineage(training_run_id="r1")),
        ({"training_run_id": None, "profile_run_id": "r1"}, Lineage(training_run_id="r1")),
        ({"training_dataset_id": "orders", "training_range": RANGE},
         Lineage(training_dataset_id="orders", training_range=RANGE)),
        ({"training_dataset_id": "orders", "training_range": RANGE, "training_run_id": None},
         Lineage(training_dataset_id="orders", training_range=RANGE)),
        ({"training_dataset_id": "batch", "serving_dataset_id": "live"},
         Lineage(training_dataset_id="batch", serving_dataset_id="live")),
        ({"training_dataset_id": "orders"}, Lineage(training_dataset_id="orders")),
    ],
)
def test_training_data_is_a_run_or_a_range(lineage: dict[str, Any], expected: Lineage) -> None:
    assert lineage_of(lineage) == expected


@pytest.mark.parametrize(
    ("lineage", "message"),
    [
        ({"training_run_id": "r1", "profile_run_id": "r2"},
         "lineage.training_run_id 'r1' and lineage.profile_run_id 'r2' differ"),
        ({"training_dataset_id": "d", "training_run_id": "r1", "training_range": RANGE},
         "lineage: give training_run_id .* or training_range, not both"),
        ({"training_dataset_id": "d", "profile_run_id": "r1", "training_range": RANGE},
         "not both"),
        ({"training_range": RANGE}, "lineage.training_range needs lineage.training_dataset_id"),
        ({"training_dataset_id": "d", "training_range": "2024-05-01"},
         "lineage.training_range must be \"<since ISO>/<until ISO>\""),
        ({"training_dataset_id": "d", "training_range": f"{RANGE}/2024-06-01"},
         "lineage.training_range must be"),
        ({"training_dataset_id": "d", "training_range": 7}, "lineage.training_range must be"),
        ({"training_dataset_id": "d", "training_range": "yesterday/today"},
         "lineage.training_range: 'yesterday' is not an ISO-8601 time"),
        ({"training_dataset_id": "d", "training_range": "2024-05-01/"},
         "lineage.training_range: '' is not an ISO-8601 time"),
        ({"training_dataset_id": "d", "training_range": "2024-05-08/2024-05-01"},
         "lineage.training_range: the range ends before it starts"),
        ({"training_dataset_id": "d", "training_range": "2024-05-01/2024-05-01T00:00:00Z"},
         "ends before it starts"),
        ({"training_run_id": 5}, "lineage.training_run_id must be a string"),
        ({"serving_dataset_id": ["live"]}, "lineage.serving_dataset_id must be a string"),
    ],
)
def test_bad_training_data_is_refused_naming_the_field(lineage: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(Invalid, match=message):
        lineage_of(lineage)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (RANGE, RANGE),
        ("2024-05-01T00:00:00Z/2024-05-08T00:00:00Z", RANGE),
        ("2024-05-01/2024-05-08", RANGE),  # no zone: UTC
        (" 2024-05-01T02:00:00+02:00/2024-05-08T02:00:00+02:00 ", RANGE),
        ("2024-05-01T00:00:00.123456Z/2024-05-01T00:00:01Z",
         "2024-05-01T00:00:00.123000+00:00/2024-05-01T00:00:01+00:00"),  # windows' ms
    ],
)
def test_a_range_is_kept_in_utc(given: str, stored: str) -> None:
    assert parse_training_range(given) == stored
    assert lineage_of({"training_dataset_id": "d", "training_range": given}) == Lineage(
        training_dataset_id="d", training_range=stored)


def test_the_serving_dataset_defaults_to_the_training_dataset() -> None:
    assert Lineage(training_dataset_id="d").serving_dataset == "d"
    assert Lineage(training_dataset_id="d", serving_dataset_id="live").serving_dataset == "live"
    assert Lineage().serving_dataset is None


def test_the_dict_shows_the_run_under_both_names_and_reads_back() -> None:
    lineage = Lineage("g", "1", ("a",), "d", "r1", None, "live")
    doc = lineage.to_dict()
    assert doc == {"feature_group": "g", "feature_version": "1", "features_used": ["a"],
                   "training_dataset_id": "d", "training_run_id": "r1",
                   "profile_run_id": "r1", "training_range": None,
                   "serving_dataset_id": "live"}
    assert lineage.profile_run_id == "r1"
    assert Lineage.from_dict(orjson.loads(orjson.dumps(doc))) == lineage
    # a version's lineage sent back as a new version's lineage is the same lineage
    assert lineage_of(doc) == lineage


def test_a_lineage_stored_by_the_seed_reads_as_a_training_run() -> None:
    seed = {"feature_group": "g", "feature_version": None, "features_used": [],
            "training_dataset_id": "d", "profile_run_id": "r1"}
    assert Lineage.from_dict(seed) == Lineage("g", training_dataset_id="d", training_run_id="r1")
    assert Lineage.from_dict({**seed, "profile_run_id": None}) == Lineage(
        "g", training_dataset_id="d")


LINEAGES = [
    {"training_dataset_id": "d", "training_run_id": "r1", "serving_dataset_id": "live",
     "features_used": ["a"]},
    {"training_dataset_id": "d", "training_range": RANGE},
    {"training_dataset_id": "d", "profile_run_id": "r2"},
]


@pytest.fixture
def lineaged(reg: Any) -> Any:
    """Return the driver with one version per lineage of ``LINEAGES``, the first in production."""
    for minor, lineage in enumerate(LINEAGES):
        reg.add(f"1.{minor}.0", lineage=lineage)
    reg.to_production("1.0.0")
    return reg


def _expected(lineage: dict[str, Any]) -> Lineage | None:
    return lineage_of(lineage)


def test_lineage_round_trips_through_state_bytes_and_json(lineaged: Any) -> None:
    state: ModelState = lineaged.live
    for minor, lineage in enumerate(LINEAGES):
        assert state.get_version(f"1.{minor}.0").lineage == _expected(lineage)
    again = ModelState.from_bytes(state.to_bytes())
    assert again == state
    assert ModelState.from_dict(orjson.loads(orjson.dumps(state.to_dict()))) == state


def test_lineage_round_trips_through_events(lineaged: Any) -> None:
    through_kafka = [Event.from_dict(orjson.loads(orjson.dumps(e.to_dict())))
                     for e in lineaged.events]
    assert through_kafka == lineaged.events
    assert rebuild(through_kafka) == {"churn": lineaged.live}
    added = [e for e in through_kafka if e.type.value == "version_added"]
    assert [e.data["lineage"]["training_range"] for e in added] == [None, RANGE, None]
    assert [e.data["lineage"]["training_run_id"] for e in added] == ["r1", None, "r2"]


def test_lineage_is_in_the_export_and_history(lineaged: Any) -> None:
    doc = export(lineaged.live)
    assert orjson.loads(orjson.dumps(doc)) == doc
    by_version = {v["version"]: v["lineage"] for v in doc["versions"]}
    assert by_version["1.0.0"]["serving_dataset_id"] == "live"
    assert by_version["1.1.0"]["training_range"] == RANGE
    assert by_version["1.2.0"]["training_run_id"] == by_version["1.2.0"]["profile_run_id"] == "r2"
    added = [c for c in history(lineaged.live)["changes"] if c["type"] == "version_added"]
    assert [Lineage.from_dict(c["data"]["lineage"]) for c in added] == [
        _expected(lineage) for lineage in LINEAGES]


@pytest.mark.parametrize("field", ["training_run_id", "profile_run_id"])
def test_the_training_run_must_exist_when_checked(reg: Any, field: str) -> None:
    command = parse_command("add_version", {"version": "1.0.0", "framework": "onnx", "lineage": {
        "training_dataset_id": "d", field: "run-1"}}, model="churn")
    with pytest.raises(Invalid, match=r"training_run_id \(or profile_run_id\) 'run-1' names no"):
        decide(reg.state, command, now=T0, actor="ann", run_exists=lambda run: False)
    assert decide(reg.state, command, now=T0, actor="ann", run_exists={"run-1"}.__contains__)


def test_a_range_is_not_a_run_to_check(reg: Any) -> None:
    command = parse_command("add_version", {"version": "1.0.0", "framework": "onnx", "lineage": {
        "training_dataset_id": "d", "training_range": RANGE}}, model="churn")
    assert decide(reg.state, command, now=T0, actor="ann", run_exists=lambda run: False)
