"""Every example of the platform we replace, as its documentation writes it, against a worker.

The examples below are copied verbatim from that documentation (its "Phase 6" notes). The only
changes a test makes are the ones a user moving over makes: the address (``localhost:8000``
becomes the worker's, ``localhost:9092`` the test broker's) and an ``X-API-Key`` header. The
curl lines are run by a small interpreter of the options they use (-X, -H, -d), so no curl
binary is needed.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import shlex
import sys
import types
import uuid
from typing import Any

import pytest

from atlas_streams.broker import EmbeddedBroker
from atlas_streams.connectors import kafka as connector_module
from atlas_streams.connectors.kafka import Delivery
from atlas_streams.launcher import WorkerProcess
from atlas_streams.producer import ensure_topic
from atlas_streams.settings import Settings

from .conftest import ADMIN_KEY, Cluster, http, wait_rows, wait_until

pytestmark = pytest.mark.integration

SEED_URL = "http://localhost:8000"
SEED_BROKER = "localhost:9092"

PROFILE_BY_RUN = "curl -X POST http://localhost:8000/catalog/profile/by-run/{run_id}"
MY_PERMISSIONS = 'curl -H "X-API-Key: atlas-admin-key" http://localhost:8000/rbac/my-permissions'
CREATE_USER = """curl -X POST http://localhost:8000/rbac/users \\
  -H "X-API-Key: atlas-admin-key" \\
  -H "Content-Type: application/json" \\
  -d '{
    "username": "newuser",
    "email": "newuser@example.com",
    "roles": ["data_analyst"],
    "allowed_datasets": ["dataset_a", "dataset_b"]
  }'"""
REGISTER_MODEL = """curl -X POST http://localhost:8000/models/register \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "fraud_detector",
    "description": "Detects fraudulent transactions",
    "tags": ["finance", "classification"]
  }'"""
CREATE_VERSION = """curl -X POST http://localhost:8000/models/fraud_detector/versions \\
  -H "Content-Type: application/json" \\
  -d '{
    "version": "1.0.0",
    "framework": "sklearn",
    "description": "Initial random forest model",
    "parameters": {
      "n_estimators": 100,
      "max_depth": 10
    },
    "metrics": {
      "accuracy": 0.95,
      "precision": 0.93,
      "recall": 0.92
    },
    "lineage": {
      "feature_group": "customer_features",
      "feature_version": "2.0.0",
      "features_used": ["age", "income", "credit_score"]
    }
  }'"""
PROMOTE = "curl -X POST http://localhost:8000/models/fraud_detector/versions/1.0.0/promote-production"
COMPARE = 'curl "http://localhost:8000/models/fraud_detector/compare?version_a=1.0.0&version_b=2.0.0"'
QUICK_START = (
    'curl -H "X-API-Key: atlas-admin-key" http://localhost:8000/rbac/my-permissions',
    "curl http://localhost:8000/models/",
    "curl http://localhost:8000/catalog/stored-datasets",
)

CONSUMER_CONFIG = """# Kafka Consumer Configuration
{
    "source_type": "kafka",
    "source_name": "kafka_events",
    "additional_params": {
        "bootstrap_servers": "localhost:9092",
        "topics": ["events", "transactions"],
        "group_id": "atlas-consumer",
        "deserializer": "json",  # json, string, bytes
        "auto_offset_reset": "latest",  # earliest, latest
        "batch_size": 100,
        "batch_timeout_ms": 1000,
    }
}"""
# The documented configuration ends with four "Optional security" lines (SASL_SSL, PLAIN,
# user, password): the embedded broker serves neither TLS nor SASL, so they are left out here;
# tests/integration/test_security.py runs the connectors over SASL_SSL through a proxy.
CONNECTOR_USAGE = """from app.connectors.kafka import KafkaConsumerConnector, KafkaProducerConnector

# Consumer
async with KafkaConsumerConnector(config) as consumer:
    messages = await consumer.get_data()
    for msg in messages:
        print(f"Topic: {msg['topic']}, Value: {msg['value']}")

# Producer
async with KafkaProducerConnector("localhost:9092") as producer:
    result = await producer.send("my-topic", {"event": "user_login", "user_id": 123})
"""


def curl(command: str, url: str, key: str | None = ADMIN_KEY, **fields: str) -> tuple[int, Any]:
    """Run a documented curl line against ``url`` with an X-API-Key added (when it has none)."""
    line = (command.format(**fields) if fields else command).replace("\\\n", " ")  # as sh
    argv = shlex.split(line)
    assert argv[0] == "curl"
    method, headers, data, target = None, {}, None, None
    words = iter(argv[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words).encode()
        else:
            assert target is None, f"unexpected curl argument {word!r}"
            target = word
    assert target is not None and target.startswith(SEED_URL), target
    presented = headers.pop("X-API-Key", key)
    return http(method or ("POST" if data is not None else "GET"),
                url + target[len(SEED_URL):], key=presented, headers=headers, raw=data)


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """One worker for the module; the examples build on each other in file order."""
    return shared_cluster.worker("seed")


def test_profile_by_run_id(shared_cluster: Cluster, worker: WorkerProcess) -> None:
    shared_cluster.produce("orders", [{"amount": float(n), "city": f"c{n % 3}"} for n in range(30)])
    wait_rows(worker, "orders", 30)
    status, snapshot = http("POST", f"{worker.url}/catalog/datasets/orders/profile")
    assert status == 201, snapshot
    # An analyst may read (catalog:read) but not write: reading a snapshot is a read.
    status, body = curl(PROFILE_BY_RUN, worker.url, key="atlas-analyst-key",
                        run_id=snapshot["run_id"])
    assert status == 200, body
    amount, city = body["columns"]["amount"], body["columns"]["city"]
    assert (amount["min"], amount["max"], amount["null_percent"]) == (0.0, 29.0, 0.0)
    assert amount["median"] is not None and sum(amount["histogram"]["counts"]) == 30
    assert city["distinct_estimate"] == 3 and city["top_values"][0]["count"] == 10


def test_check_current_user_permissions(worker: WorkerProcess) -> None:
    status, body = curl(MY_PERMISSIONS, worker.url)
    assert status == 200 and body["user"]["username"] == "admin", body
    assert "admin:users" in body["permissions"]


def test_create_a_new_user(worker: WorkerProcess) -> None:
    status, body = curl(CREATE_USER, worker.url)
    assert status == 201, body
    assert body["username"] == "newuser" and body["roles"] == ["data_analyst"]
    assert body["allowed_datasets"] == ["dataset_a", "dataset_b"] and body["api_key"]
    for dataset, allowed in (("dataset_a", True), ("dataset_c", False)):
        status, check = http("GET", f"{worker.url}/rbac/check-dataset-access/{dataset}",
                             key=body["api_key"])
        assert (status, check) == (200, {"dataset": dataset, "allowed": allowed})

    def audited() -> dict[str, Any] | None:  # the audit records the answer, not just a 200
        logs = http("GET", f"{worker.url}/rbac/access-logs?user={body['user_id']}")[1]
        return next((e for e in logs["events"] if e["dataset"] == "dataset_c"), None)

    event = wait_until(audited, what="the denied check in the audit")
    assert event["status"] == 200 and event["reason"] == "dataset_denied"


def test_register_a_model(worker: WorkerProcess) -> None:
    status, body = curl(REGISTER_MODEL, worker.url)
    assert status == 201, body
    assert body["name"] == "fraud_detector" and body["tags"] == ["finance", "classification"]


def test_create_a_version_with_the_documented_lineage(worker: WorkerProcess) -> None:
    status, body = curl(CREATE_VERSION, worker.url)
    assert status == 201, body
    assert body["stage"] == "development" and body["parameters"]["n_estimators"] == 100
    assert body["lineage"] == {
        "feature_group": "customer_features", "feature_version": "2.0.0",
        "features_used": ["age", "income", "credit_score"], "training_dataset_id": None,
        "training_run_id": None, "profile_run_id": None, "training_range": None,
        "serving_dataset_id": None,
    }


def test_promote_to_production_from_development(worker: WorkerProcess) -> None:
    status, body = curl(PROMOTE, worker.url)
    assert status == 200, body
    assert body["stage"] == "production" and body["path"] == ["staging", "production"]
    status, history = http("GET", f"{worker.url}/models/fraud_detector/history")
    moves = [(c["from_stage"], c["to_stage"]) for c in history["changes"]
             if c["type"] == "stage_changed"]
    assert moves == [("development", "staging"), ("staging", "production")]
    status, listing = http("GET", f"{worker.url}/models/")
    entry = next(m for m in listing["models"] if m["name"] == "fraud_detector")
    assert (entry["latest"], entry["production"]) == ("1.0.0", "1.0.0")


def test_compare_versions(worker: WorkerProcess) -> None:
    # The documented flow creates 2.0.0 the way it created 1.0.0 before comparing them.
    second = CREATE_VERSION.replace('"version": "1.0.0"', '"version": "2.0.0"').replace(
        '"accuracy": 0.95', '"accuracy": 0.97')
    assert curl(second, worker.url)[0] == 201
    status, body = curl(COMPARE, worker.url)
    assert status == 200, body
    assert (body["version_a"], body["version_b"]) == ("1.0.0", "2.0.0")
    accuracy = next(m for m in body["metrics"] if m["metric"] == "accuracy")
    assert accuracy["a"] == 0.95 and accuracy["b"] == 0.97


@pytest.mark.parametrize("command", QUICK_START)
def test_quick_start(worker: WorkerProcess, command: str) -> None:
    status, body = curl(command, worker.url)
    assert status == 200, body
    assert isinstance(body, dict) and body


def test_quick_start_without_a_key_is_refused_with_the_reason(worker: WorkerProcess) -> None:
    status, body = curl(QUICK_START[1], worker.url, key=None)
    assert status == 401 and "X-API-Key" in body["error"]


async def test_kafka_connector_usage(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"{broker.host}:{broker.port}"
    settings = Settings(broker=broker.url)
    for topic in ("events", "transactions", "my-topic"):
        await ensure_topic(settings, topic, partitions=1)
    # The seed's code imports its connectors from its own package, ``app``: provide that name.
    for name in ("app", "app.connectors"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "app.connectors.kafka", connector_module)
    namespace: dict[str, Any] = {
        "config": ast.literal_eval(CONSUMER_CONFIG.replace(SEED_BROKER, address)),
    }
    code = compile(CONNECTOR_USAGE.replace(SEED_BROKER, address), "<seed example>", "exec",
                   flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    marker = uuid.uuid4().hex
    # auto_offset_reset "latest": the example sees what arrives while it waits, so keep a
    # trickle of events flowing until it has run.
    done = asyncio.Event()
    trickle = asyncio.create_task(_trickle(address, marker, done))
    try:
        await eval(code, namespace)  # noqa: S307 (the documented example, as written)
    finally:
        done.set()
        await trickle
    printed = capsys.readouterr().out
    assert f"Topic: events, Value: {{'marker': '{marker}'" in printed, printed
    result = namespace["result"]
    assert isinstance(result, Delivery) and result.topic == "my-topic" and result.offset >= 0


async def _trickle(address: str, marker: str, done: asyncio.Event) -> None:
    async with connector_module.KafkaProducerConnector(address) as producer:
        number = 0
        while not done.is_set():
            await producer.send("events", {"marker": marker, "n": number})
            number += 1
            with contextlib.suppress(TimeoutError):  # a steady stream, as a live topic has
                await asyncio.wait_for(done.wait(), 0.05)
