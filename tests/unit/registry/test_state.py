from __future__ import annotations

from typing import Any

import orjson
import pytest

from atlas_streams.registry import ModelState

SHA = "ef" * 32


@pytest.fixture
def rich(reg: Any) -> ModelState:
    """Return a model with versions in every stage, metrics, lineage and an artifact."""
    lineage = {"feature_group": "g", "feature_version": "2", "features_used": ["a", "b"],
               "training_dataset_id": "d", "profile_run_id": None}
    reg.add("1.0.0", metrics={"acc": 0.8}, parameters={"depth": [1, {"x": None}]},
            lineage=lineage)
    reg.do("set_artifact", {"uri": "file:///a", "sha256": SHA, "size": 1}, version="1.0.0")
    reg.add("1.1.0", "pytorch")
    reg.add("2.0.0-beta.1", "onnx")
    reg.add("0.9.0")
    reg.to_production("1.0.0")
    reg.do("promote_staging", version="1.1.0")
    reg.do("transition", {"stage": "archived"}, version="0.9.0")
    return reg.live  # type: ignore[no-any-return]


def test_bytes_round_trip(rich: ModelState) -> None:
    data = rich.to_bytes()
    assert data[0] == 1
    assert ModelState.from_bytes(data) == rich


def test_dict_round_trip_through_json(rich: ModelState) -> None:
    assert ModelState.from_dict(orjson.loads(orjson.dumps(rich.to_dict()))) == rich


def test_dict_without_history_rebuilds_all_but_the_log(rich: ModelState) -> None:
    again = ModelState.from_dict(rich.to_dict(history=False))
    assert again.history == () and again.versions == rich.versions


@pytest.mark.parametrize("data", [b"", b"\x02{}", b"{}"])
def test_unknown_format_is_refused_with_advice(data: bytes) -> None:
    with pytest.raises(ValueError, match="rebuild the table from the topic"):
        ModelState.from_bytes(data)


def test_never_pickled(rich: ModelState) -> None:
    assert orjson.loads(rich.to_bytes()[1:])["name"] == "churn"


def test_to_json_orders_versions_by_precedence(rich: ModelState) -> None:
    doc = rich.to_json()
    assert [v["version"] for v in doc["versions"]] == ["2.0.0-beta.1", "1.1.0", "1.0.0", "0.9.0"]
    assert doc["latest"] == "2.0.0-beta.1" and doc["production"] == "1.0.0"
    assert "history" not in doc
    assert orjson.loads(orjson.dumps(doc)) == doc
