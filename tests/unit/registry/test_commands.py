from __future__ import annotations

from typing import Any

import pytest

from atlas_streams.registry import (
    ACTIONS,
    AddVersion,
    ChangeStage,
    DeleteModel,
    Framework,
    Invalid,
    Lineage,
    RegisterModel,
    SetArtifact,
    Stage,
    UpdateMetrics,
    parse_command,
)

SHA = "ab" * 32


def test_register_takes_name_from_body() -> None:
    body = {"name": "m", "description": "d", "tags": ["a", "a", "b"]}
    command = parse_command("register_model", body)
    assert command == RegisterModel("m", "d", ("a", "b"))


def test_register_name_must_agree_with_url() -> None:
    with pytest.raises(Invalid, match="differs"):
        parse_command("register_model", {"name": "m"}, model="other")


def test_add_version_full_body() -> None:
    body = {
        "version": "1.0.0-rc.1",
        "framework": "xgboost",
        "description": "first",
        "parameters": {"depth": 6, "grid": [1, 2], "nested": {"a": None}},
        "metrics": {"auc": 1},
        "lineage": {
            "feature_group": "users",
            "feature_version": 3,
            "features_used": ["age", "plan"],
            "training_dataset_id": "ds-1",
            "profile_run_id": "run-9",
        },
    }
    command = parse_command("add_version", body, model="m")
    assert command == AddVersion(
        "m", "1.0.0-rc.1", Framework.XGBOOST, "first",
        {"depth": 6, "grid": [1, 2], "nested": {"a": None}}, {"auc": 1.0},
        Lineage("users", "3", ("age", "plan"), "ds-1", "run-9"),
    )


@pytest.mark.parametrize(
    ("lineage", "expected"),
    [
        # the platform we replace documents lineage with these three fields only
        ({"feature_group": "customer_features", "feature_version": "2.0.0",
          "features_used": ["age", "income", "credit_score"]},
         Lineage("customer_features", "2.0.0", ("age", "income", "credit_score"))),
        ({"feature_group": "g"}, Lineage(feature_group="g")),
        ({"training_dataset_id": "orders", "feature_group": None},
         Lineage(training_dataset_id="orders")),
        ({}, None),
    ],
)
def test_add_version_lineage_fields_are_each_optional(
    lineage: dict[str, Any], expected: Lineage | None
) -> None:
    body = {"version": "1.0.0", "framework": "sklearn", "lineage": lineage}
    command = parse_command("add_version", body, model="m")
    assert isinstance(command, AddVersion) and command.lineage == expected


def test_partial_lineage_round_trips_through_its_dict() -> None:
    lineage = Lineage(feature_group="g", features_used=("a",))
    assert lineage.to_dict() == {"feature_group": "g", "feature_version": None,
                                 "features_used": ["a"], "training_dataset_id": None,
                                 "training_run_id": None, "profile_run_id": None,
                                 "training_range": None, "serving_dataset_id": None}
    assert Lineage.from_dict(lineage.to_dict()) == lineage


def test_add_version_minimal_body() -> None:
    command = parse_command("add_version", {"version": "1.0.0", "framework": "onnx"}, model="m")
    assert command == AddVersion("m", "1.0.0", Framework.ONNX, "", {}, {}, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"framework": "onnx"}, "version must be a semantic version"),
        ({"version": "1.0", "framework": "onnx"}, "version must be a semantic version"),
        ({"version": "1.0.0"}, "framework must be one of sklearn, pytorch"),
        ({"version": "1.0.0", "framework": "keras"}, "framework must be one of"),
        ({"version": "1.0.0", "framework": ["onnx"]}, "framework must be one of"),
        ({"version": "1.0.0", "framework": "onnx", "metric": {}}, r"unknown field\(s\) metric"),
        ({"version": "1.0.0", "framework": "onnx", "metrics": {"a": "x"}}, "metrics.a must be"),
        ({"version": "1.0.0", "framework": "onnx", "parameters": []}, "parameters must be"),
        ({"version": "1.0.0", "framework": "onnx", "parameters": {"a": float("nan")}},
         "parameters.a must be a finite"),
        ({"version": "1.0.0", "framework": "onnx", "parameters": {"a": 2**70}}, "64 bits"),
        ({"version": "1.0.0", "framework": "onnx", "parameters": {"a": {1}}}, "must be JSON"),
        ({"version": "1.0.0", "framework": "onnx", "description": 3}, "description must be"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": []}, "lineage must be an object"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": {"feature_version": 2.5}},
         "lineage.feature_version must be a string"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": {"feature_group": 7}},
         "lineage.feature_group must be a string"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": {"training_dataset_id": []}},
         "lineage.training_dataset_id must be a string"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": {"x": 1}},
         r"lineage: unknown field\(s\) x"),
        ({"version": "1.0.0", "framework": "onnx", "lineage": {
            "feature_group": "g", "feature_version": "1", "features_used": "age",
            "training_dataset_id": "d"}}, "lineage.features_used must be a list"),
    ],
)
def test_add_version_bad_bodies_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_command("add_version", body, model="m")


def test_deeply_nested_parameters_are_refused() -> None:
    nested: dict[str, Any] = {}
    for _ in range(20):
        nested = {"a": nested}
    with pytest.raises(Invalid, match="nests deeper"):
        parse_command("add_version", {"version": "1.0.0", "framework": "onnx",
                                      "parameters": nested}, model="m")


def test_stage_commands() -> None:
    assert parse_command("transition", {"stage": "archived"}, model="m", version="1.0.0") == (
        ChangeStage("m", "1.0.0", Stage.ARCHIVED)
    )
    assert parse_command("promote_staging", None, model="m", version="1.0.0") == (
        ChangeStage("m", "1.0.0", Stage.STAGING, promotion=True)
    )
    assert parse_command("promote_production", {}, model="m", version="1.0.0") == (
        ChangeStage("m", "1.0.0", Stage.PRODUCTION, promotion=True)
    )
    with pytest.raises(Invalid, match="stage must be one of"):
        parse_command("transition", {"stage": "live"}, model="m", version="1.0.0")
    with pytest.raises(Invalid, match="unknown field"):
        parse_command("promote_staging", {"stage": "staging"}, model="m", version="1.0.0")


def test_update_metrics_body_is_the_metrics() -> None:
    assert parse_command("update_metrics", {"acc": 1}, model="m", version="1.0.0") == (
        UpdateMetrics("m", "1.0.0", {"acc": 1.0})
    )
    with pytest.raises(Invalid, match="at least one metric"):
        parse_command("update_metrics", {}, model="m", version="1.0.0")


def test_set_artifact() -> None:
    body = {"uri": "file:///a/b", "sha256": SHA.upper(), "size": 10}
    assert parse_command("set_artifact", body, model="m", version="1.0.0") == (
        SetArtifact("m", "1.0.0", "file:///a/b", SHA, 10)
    )
    for field, value, message in [("sha256", "xyz", "sha256 must be 64"),
                                  ("size", -1, "size must be"), ("size", True, "size must be"),
                                  ("uri", "", "uri must not be empty")]:
        with pytest.raises(Invalid, match=message):
            parse_command("set_artifact", {**body, field: value}, model="m", version="1.0.0")


def test_delete_and_url_names_are_checked() -> None:
    assert parse_command("delete_model", None, model="m") == DeleteModel("m")
    with pytest.raises(Invalid, match="model must be 1-128"):
        parse_command("delete_model", None, model="../x")
    with pytest.raises(Invalid, match="version must be a semantic version"):
        parse_command("promote_staging", None, model="m", version="latest")


def test_body_must_be_an_object_and_action_known() -> None:
    with pytest.raises(Invalid, match="must be a JSON object"):
        parse_command("register_model", ["m"])
    with pytest.raises(Invalid, match="unknown action 'rename'"):
        parse_command("rename", {})
    assert set(ACTIONS) >= {"register_model", "add_version", "set_artifact"}
