from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from atlas_streams.registry import (
    Invalid,
    ModelState,
    NotFound,
    compare,
    export,
    history,
    latest,
    production,
    search,
    summarize,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(second: float) -> datetime:
    """Return the instant ``second`` seconds into a driver's clock."""
    return T0 + timedelta(seconds=second)


@pytest.fixture
def models(new_driver: Any) -> list[ModelState]:
    """Return two models: churn (sklearn, in production) and fraud (pytorch, no production)."""
    churn = new_driver("churn")
    churn.do("register_model", {"name": "churn", "description": "Customer churn", "tags": ["crm"]})
    churn.add("1.0.0", metrics={"accuracy": 0.91, "loss": 0.2})
    churn.add("1.2.0-rc.1", metrics={"accuracy": 0.95})
    churn.to_production("1.0.0")
    fraud = new_driver("fraud")
    fraud.do("register_model", {"name": "fraud", "description": "Card fraud", "tags": ["risk"]})
    fraud.add("0.3.0", "pytorch", metrics={"accuracy": 0.85})
    return [fraud.live, churn.live]


def test_summary_names_latest_and_production(models: list[ModelState]) -> None:
    assert [(s["name"], s["latest"], s["production"], s["versions"])
            for s in summarize(models)] == [
        ("churn", "1.2.0-rc.1", "1.0.0", 2),
        ("fraud", "0.3.0", None, 1),
    ]


def test_latest_is_by_precedence_not_time(reg: Any) -> None:
    reg.add("2.0.0")
    reg.add("2.0.0-rc.1")
    reg.add("1.9.9")
    assert latest(reg.live).version == "2.0.0"


def test_latest_and_production_not_found(reg: Any) -> None:
    with pytest.raises(NotFound, match="no versions yet"):
        latest(reg.live)
    with pytest.raises(NotFound, match="no version in production; promote one with POST"):
        production(reg.live)


def test_compare(models: list[ModelState]) -> None:
    churn = models[1]
    doc = compare(churn, "1.2.0-rc.1", "1.0.0").to_json()
    (accuracy,) = doc["metrics"]
    assert accuracy["difference"] == pytest.approx(0.04)
    assert accuracy["relative"] == pytest.approx(0.04 / 0.91)
    assert doc["only_in_a"] == {} and doc["only_in_b"] == {"loss": 0.2}
    with pytest.raises(NotFound):
        compare(churn, "1.0.0", "3.0.0")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [("churn", ("1.2.0-rc.1", "1.0.0")), ("fraud", ("0.3.0",))]),
        ({"q": "CHURN"}, [("churn", ("1.2.0-rc.1", "1.0.0"))]),
        ({"q": "card"}, [("fraud", ("0.3.0",))]),
        ({"tag": "risk"}, [("fraud", ("0.3.0",))]),
        ({"tag": "ris"}, []),
        ({"stage": "production"}, [("churn", ("1.0.0",))]),
        ({"stage": "development"}, [("churn", ("1.2.0-rc.1",)), ("fraud", ("0.3.0",))]),
        ({"framework": "pytorch"}, [("fraud", ("0.3.0",))]),
        ({"metric": "accuracy>0.9"}, [("churn", ("1.2.0-rc.1", "1.0.0"))]),
        ({"metric": "accuracy>=0.95"}, [("churn", ("1.2.0-rc.1",))]),
        ({"metric": "accuracy<0.9"}, [("fraud", ("0.3.0",))]),
        ({"metric": "accuracy=0.85"}, [("fraud", ("0.3.0",))]),
        ({"metric": "accuracy!=0.85"}, [("churn", ("1.2.0-rc.1", "1.0.0"))]),
        ({"metric": "loss<=0.2"}, [("churn", ("1.0.0",))]),
        ({"metric": "auc>0"}, []),
        ({"metric": "accuracy>0.9", "stage": "production"}, [("churn", ("1.0.0",))]),
        ({"q": "fraud", "metric": "accuracy>0.9"}, []),
    ],
)
def test_search(models: list[ModelState], filters: dict[str, str],
                expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert [(h.model, h.versions) for h in search(models, **filters)] == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [({"metric": "accuracy~1"}, "malformed"), ({"metric": "accuracy>x"}, "not a number"),
     ({"stage": "live"}, "stage must be"), ({"framework": "keras"}, "framework must be")],
)
def test_search_rejects_bad_filters(models: list[ModelState], filters: dict[str, str],
                                    message: str) -> None:
    with pytest.raises(Invalid, match=message):
        search(models, **filters)


def test_search_hit_json(models: list[ModelState]) -> None:
    (hit,) = search(models, tag="crm")
    assert hit.to_json() == {"model": "churn", "description": "Customer churn", "tags": ["crm"],
                             "versions": ["1.2.0-rc.1", "1.0.0"]}


def test_history_at_instants(reg: Any) -> None:
    reg.add("1.0.0")           # t=2
    reg.add("1.1.0")           # t=3
    reg.to_production("1.0.0")  # t=4 staging, t=5 production
    reg.do("promote_staging", version="1.1.0")     # t=6
    reg.do("promote_production", version="1.1.0")  # t=7: archives 1.0.0, promotes 1.1.0
    model = reg.live
    empty: dict[str, list[str]] = {"development": [], "staging": [], "production": [],
                                   "archived": []}
    expectations = {
        0.5: empty,
        1: empty,
        2: {**empty, "development": ["1.0.0"]},
        4.5: {**empty, "development": ["1.1.0"], "staging": ["1.0.0"]},
        5: {**empty, "development": ["1.1.0"], "production": ["1.0.0"]},
        6.9: {**empty, "staging": ["1.1.0"], "production": ["1.0.0"]},
        7: {**empty, "production": ["1.1.0"], "archived": ["1.0.0"]},
    }
    for second, stages in expectations.items():
        assert history(model, at=at(second))["stages"] == stages, second
    assert len(history(model, at=at(4.5))["changes"]) == 4
    everything = history(model)
    assert everything["at"] is None and len(everything["changes"]) == 8
    assert everything["stages"] == expectations[7]
    assert [c["revision"] for c in everything["changes"]] == list(range(1, 9))


def test_history_needs_an_aware_instant(reg: Any) -> None:
    with pytest.raises(Invalid, match="timezone"):
        history(reg.live, at=datetime(2024, 5, 1))


def test_export_is_json_with_everything(models: list[ModelState]) -> None:
    churn = models[1]
    doc = export(churn)
    assert orjson.loads(orjson.dumps(doc)) == doc
    assert doc["format"] == 1 and doc["name"] == "churn" and doc["production"] == "1.0.0"
    assert [v["version"] for v in doc["versions"]] == ["1.2.0-rc.1", "1.0.0"]
    assert [c["type"] for c in doc["history"]] == [
        "model_registered", "version_added", "version_added", "stage_changed", "stage_changed"
    ]
