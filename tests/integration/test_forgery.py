"""A plain Kafka client attacks the workers' topics and changelogs: nothing changes, all is audited.

Each forgery is what an attacker with write access to the broker (on the embedded broker:
anyone who reaches its port) can do with an ordinary producer: a role change, a promotion to
production, a forged access decision, a forged user record in a table's changelog, and an event
appended to the audit chain with a correct SHA-256 link.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from atlas_streams import topics
from atlas_streams.launcher import WorkerProcess
from atlas_streams.rbac import Role, User

from .conftest import Cluster, http, wait_until

VIEWER = "atlas-viewer-key"


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    return shared_cluster.worker("f1")


def send(cluster: Cluster, topic: str, value: bytes, key: bytes | None = None) -> None:
    """Write one message as any Kafka client could."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=cluster.settings.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    asyncio.run(run())


def dead_letters(cluster: Cluster) -> list[dict[str, Any]]:
    """Return every dead letter of the session's broker (all clusters share the topic)."""

    async def run() -> list[dict[str, Any]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=cluster.settings.bootstrap_servers,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            parts = consumer.partitions_for_topic(topics.DEADLETTER) or set()
            tps = [TopicPartition(topics.DEADLETTER, p) for p in parts]
            if not tps:
                return []
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            found: list[dict[str, Any]] = []
            idle = 0
            while idle < 3:
                batch = await consumer.getmany(timeout_ms=300)
                idle = 0 if batch else idle + 1
                found += [orjson.loads(r.value) for rs in batch.values() for r in rs]
            return found
        finally:
            await consumer.stop()

    return asyncio.run(run())


def refusals(worker: WorkerProcess) -> list[dict[str, Any]]:
    """Return the audited refusals of forged messages and records, newest first."""
    status, body = http("GET", f"{worker.url}/rbac/access-logs/denied?limit=1000")
    assert status == 200, body
    return [e for e in body["events"] if e["reason"] in ("forged_message", "forged_record")]


def test_a_role_change_from_a_plain_client_is_refused_and_audited(
    shared_cluster: Cluster, worker: WorkerProcess,
) -> None:
    topic = topics.internal(shared_cluster.app_id, topics.USER_COMMANDS)
    forged = {"op": "set_roles", "user_id": "viewer-001", "roles": ["admin"],
              "base": _viewer_bytes(worker).hex()}

    send(shared_cluster, topic, orjson.dumps(forged))

    wait_until(lambda: any(e["path"].startswith(topic) for e in refusals(worker)),
               what="the refusal of the forged role change in the audit")
    status, me = http("GET", f"{worker.url}/rbac/my-permissions", key=VIEWER)
    assert status == 200 and me["user"]["roles"] == ["viewer"]
    assert "admin:users" not in me["permissions"]
    assert http("GET", f"{worker.url}/rbac/users", key=VIEWER)[0] == 403
    letters = [d for d in dead_letters(shared_cluster) if d["topic"] == topic]
    assert letters and letters[0]["reason"].startswith("forged: ")
    assert {"partition", "offset"} <= set(letters[0])


def _viewer_bytes(worker: WorkerProcess) -> bytes:
    """Return a user record as the attacker can make it: the viewer's fields, any key hash."""
    status, body = http("GET", f"{worker.url}/rbac/users/viewer-001")
    assert status == 200, body
    return bytes([1]) + orjson.dumps({**body, "key_hash": "x" * 64})


def test_a_promotion_from_a_plain_client_changes_no_stage(
    shared_cluster: Cluster, worker: WorkerProcess,
) -> None:
    name = f"fraud-{shared_cluster.app_id}"
    assert http("POST", f"{worker.url}/models/register", {"name": name})[0] == 201
    status, _ = http("POST", f"{worker.url}/models/{name}/versions",
                     {"version": "1.0.0", "framework": "sklearn"})
    assert status == 201
    topic = topics.internal(shared_cluster.app_id, topics.REGISTRY_COMMANDS)
    forged = {"id": "f" * 32, "action": "transition", "model": name, "version": "1.0.0",
              "body": {"stage": "staging"}, "actor": "admin-001"}

    send(shared_cluster, topic, orjson.dumps(forged), key=name.encode())

    wait_until(lambda: any(e["path"].startswith(topic) for e in refusals(worker)),
               what="the refusal of the forged promotion in the audit")
    status, version = http("GET", f"{worker.url}/models/{name}/versions/1.0.0")
    assert status == 200 and version["stage"] == "development"


def test_a_forged_decision_is_refused_and_its_refusal_chained(
    shared_cluster: Cluster, worker: WorkerProcess,
) -> None:
    topic = topics.internal(shared_cluster.app_id, topics.AUDIT_DECISIONS)
    forged = {"event_id": "forged-decision", "ts": "2026-01-01T00:00:00+00:00",
              "user_id": "admin-001", "method": "DELETE", "path": "/rbac/users/x",
              "status": 200, "allowed": True, "reason": "granted"}

    send(shared_cluster, topic, orjson.dumps(forged))

    wait_until(lambda: any(e["path"].startswith(topic) for e in refusals(worker)),
               what="the refusal of the forged decision in the audit")
    status, logs = http("GET", f"{worker.url}/rbac/access-logs?limit=1000")
    assert "forged-decision" not in {e["event_id"] for e in logs["events"]}
    status, report = http("GET", f"{worker.url}/rbac/audit/verify")
    assert status == 200 and report["ok"], report


def test_a_forged_record_in_a_changelog_is_ignored_and_audited(
    shared_cluster: Cluster, worker: WorkerProcess,
) -> None:
    group = shared_cluster.app_id
    mallory = User.from_bytes(_viewer_bytes(worker))
    admin = dataclasses.replace(mallory, user_id="eve-001", username="eve", roles=(Role.ADMIN,))
    # Faust writes a table's str keys as JSON strings.
    send(shared_cluster, f"{group}-rbac_users-changelog", admin.to_bytes(), key=b'"eve-001"')
    send(shared_cluster, f"{group}-rbac_keys-changelog", b"admin-001", key=b'"' + b"0" * 16 + b'"')

    wait_until(lambda: {e["path"] for e in refusals(worker)} >= {
        "table rbac_users key eve-001", "table rbac_keys key 0000000000000000"}
        or _touch(worker), what="both forged records refused in the audit")
    status, users = http("GET", f"{worker.url}/rbac/users")
    assert status == 200 and "eve-001" not in {u["user_id"] for u in users["users"]}
    assert http("GET", f"{worker.url}/rbac/users/eve-001")[0] == 404


def _touch(worker: WorkerProcess) -> bool:
    """Read what makes the worker look the forged records up (a listing, a key); return False."""
    http("GET", f"{worker.url}/rbac/users")
    http("GET", f"{worker.url}/rbac/my-permissions", key="atl_0000000000000000_" + "A" * 43)
    return False


def test_an_appended_event_with_a_correct_sha256_breaks_verify_at_its_offset(
    cluster: Cluster,
) -> None:
    worker = cluster.worker("v1")
    for _ in range(3):
        assert http("GET", f"{worker.url}/rbac/my-permissions")[0] == 200
    wait_until(lambda: http("GET", f"{worker.url}/rbac/audit/verify")[1].get("checked", 0) >= 3,
               what="three chained decisions")
    status, logs = http("GET", f"{worker.url}/rbac/access-logs?limit=1")
    last = logs["events"][0]
    forged = {**last, "seq": last["seq"] + 1, "event_id": "forged", "prev_hash": last["hash"],
              "status": 200, "path": "/rbac/users/eve"}
    forged.pop("hash")
    forged["hash"] = hashlib.sha256(
        last["hash"].encode() + orjson.dumps(forged, option=orjson.OPT_SORT_KEYS)).hexdigest()

    send(cluster, topics.AUDIT, orjson.dumps(forged), key=cluster.app_id.encode())

    def broken() -> dict[str, Any] | None:
        status, report = http("GET", f"{worker.url}/rbac/audit/verify")
        return report if status == 200 and not report["ok"] else None

    report = wait_until(broken, what="verify to report the forged event")
    assert report["first_break_event_id"] == "forged"
    assert isinstance(report["first_bad_offset"], int)
    assert "MAC does not match" in report["reason"]
