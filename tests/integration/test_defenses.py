"""Lock-out, floods, HTTP hygiene and honest audit records, against a running worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from atlas_streams.launcher import WorkerProcess

from .conftest import Cluster, http, wait_until

ADMIN = "atlas-admin-key"
UNKNOWN_MINTED_SHAPE = "atl_0123456789abcdef_" + "B" * 43


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    shared_cluster.create_topics("hr_salaries")
    return shared_cluster.worker("d1", env={"ATLAS_AUTH_FAILURES_PER_MINUTE": "5"})


def raw_request(worker: WorkerProcess, method: str, path: str, headers: dict[str, str],
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send one request with http.client (which sends oversized lines as they are)."""
    connection = HTTPConnection(worker.web_host, worker.web_port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def audited(worker: WorkerProcess, predicate: Any) -> list[dict[str, Any]]:
    status, logs = http("GET", f"{worker.url}/rbac/access-logs?limit=1000")
    assert status == 200, logs
    return [e for e in logs["events"] if predicate(e)]


def test_the_last_admin_cannot_be_deleted_disabled_or_demoted(worker: WorkerProcess) -> None:
    for method, path, body in [("DELETE", "/rbac/users/admin-001", None),
                               ("PUT", "/rbac/users/admin-001/roles", {"roles": ["viewer"]})]:
        status, reply = http(method, f"{worker.url}{path}", body)
        assert status == 409 and "last active admin" in reply["error"], (path, reply)
    assert http("GET", f"{worker.url}/rbac/my-permissions", key=ADMIN)[0] == 200


def test_a_second_admin_makes_demoting_the_first_possible_and_back(worker: WorkerProcess) -> None:
    status, second = http("POST", f"{worker.url}/rbac/users",
                          {"username": "root2", "email": "r2@example.com", "roles": ["admin"]})
    assert status == 201, second
    status, _ = http("PUT", f"{worker.url}/rbac/users/{second['user_id']}/roles",
                     {"roles": ["viewer"]})
    assert status == 200
    status, reply = http("DELETE", f"{worker.url}/rbac/users/admin-001")
    assert status == 409, reply


def test_a_guessed_key_is_refused_at_once_and_failures_are_rate_limited(
    worker: WorkerProcess,
) -> None:
    started = time.perf_counter()
    status, body = http("GET", f"{worker.url}/rbac/my-permissions", key=UNKNOWN_MINTED_SHAPE)
    assert status == 401 and time.perf_counter() - started < 1.0  # was 2 s before
    statuses = [http("GET", f"{worker.url}/rbac/roles", key=f"wrong-{i}")[0] for i in range(8)]
    assert statuses.count(429) >= 2 and set(statuses) <= {401, 429}, statuses
    status, headers, body = raw_request(worker, "GET", "/rbac/roles", {"X-API-Key": "wrong"})
    assert status == 429 and int(headers["Retry-After"]) >= 1 and b"retry" in body
    # The right key still works from the same address.
    assert http("GET", f"{worker.url}/rbac/roles", key=ADMIN)[0] == 200

    def summarised() -> list[dict[str, Any]]:
        events = audited(worker, lambda e: e["status"] == 401 and "count" in e)
        return events if sum(e["count"] for e in events) >= 10 else []

    events = wait_until(summarised, what="audit events counting the 10 failures")
    assert len(events) < 10  # counted, not one event each
    assert all(e["user_id"] is None for e in events)
    assert any("rate_limited" in e["reasons"] for e in events)


def test_wrong_method_oversized_input_and_non_json_bodies_are_clean_4xx(
    worker: WorkerProcess,
) -> None:
    status, headers, body = raw_request(worker, "PATCH", "/rbac/users", {"X-API-Key": ADMIN})
    assert status == 405 and set(headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert b'"error"' in body

    long_url = "/catalog/datasets/" + "x" * 9000 + "/profile"
    status, headers, body = raw_request(worker, "GET", long_url, {"X-API-Key": ADMIN})
    assert status == 414 and headers["Content-Type"].startswith("application/json")
    assert b"xxxxxxxx" not in body

    padded = "atlas-admin-key" + " " * 9000 + "tail"
    status, headers, body = raw_request(worker, "GET", "/rbac/roles", {"X-API-Key": padded})
    assert status == 431 and b"tail" not in body and b'"error"' in body
    log_text = worker.log_path.read_text()
    assert "Traceback" not in log_text and " " * 9000 not in log_text

    status, headers, body = raw_request(
        worker, "POST", "/models/register", {"X-API-Key": ADMIN, "Content-Type": "text/plain"},
        b'{"name": "sneaky"}')
    assert status == 415 and b"application/json" in body
    assert http("GET", f"{worker.url}/models/sneaky")[0] == 404


def test_every_response_has_security_headers_and_the_request_id_reaches_the_audit(
    worker: WorkerProcess,
) -> None:
    status, headers, _ = raw_request(worker, "GET", "/rbac/my-permissions",
                                     {"X-API-Key": ADMIN, "X-Request-ID": "trace-42"})
    assert status == 200 and headers["X-Request-ID"] == "trace-42"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, _ = raw_request(worker, "GET", "/", {"X-API-Key": ADMIN})
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = raw_request(worker, "GET", "/rbac/roles",
                                     {"X-API-Key": ADMIN, "X-Request-ID": "bad id\twith tab"})
    assert len(headers["X-Request-ID"]) == 32  # made anew: the given one was not a token
    wait_until(lambda: audited(worker, lambda e: e.get("request_id") == "trace-42"),
               what="the request id in the audit")


def test_a_denied_dataset_is_audited_as_denied(worker: WorkerProcess) -> None:
    status, user = http("POST", f"{worker.url}/rbac/users", {
        "username": "nohr", "email": "nohr@example.com", "roles": ["data_analyst"],
        "denied_datasets": ["hr_*"]})
    assert status == 201, user
    status, _ = http("GET", f"{worker.url}/catalog/datasets/hr_salaries/profile",
                     key=user["api_key"])
    assert status == 404

    events = wait_until(lambda: audited(worker, lambda e: e["user_id"] == user["user_id"]
                                        and e["dataset"] == "hr_salaries"),
                        what="the denied read in the audit")
    assert events[0]["allowed"] is False and events[0]["reason"] == "dataset_denied"


def test_the_admin_command_makes_a_new_admin(shared_cluster: Cluster, worker: WorkerProcess) -> None:
    env = {**os.environ, **shared_cluster.env(), "ATLAS_BROKER": shared_cluster.broker.url}
    done = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "admin", "create-key", "--username", "ops",
         "--email", "ops@example.com"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    status, me = wait_until(lambda: (r := http("GET", f"{worker.url}/rbac/my-permissions",
                                               key=key))[0] == 200 and r,
                            what="the new admin's key to work")
    assert me["user"]["username"] == "ops" and "admin:users" in me["permissions"]
    refused = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "admin", "create-key", "--username", "x y",
         "--email", "nope"], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_the_admin_command_gives_a_user_a_new_key_and_is_audited(
    shared_cluster: Cluster, worker: WorkerProcess,
) -> None:
    env = {**os.environ, **shared_cluster.env(), "ATLAS_BROKER": shared_cluster.broker.url}
    done = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "admin", "reset-key", "admin-001"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    new_key = done.stdout.strip().splitlines()[-1]
    assert new_key.startswith("atl_")
    wait_until(lambda: http("GET", f"{worker.url}/rbac/my-permissions", key=new_key)[0] == 200,
               what="the new admin key to work")
    wait_until(lambda: http("GET", f"{worker.url}/rbac/my-permissions", key=ADMIN)[0] == 401,
               what="the old admin key to stop")
    wait_until(lambda: audited_with(worker, new_key, lambda e: e["method"] == "CLI"),
               what="the reset audited as done by the command")


def audited_with(worker: WorkerProcess, key: str, predicate: Any) -> list[dict[str, Any]]:
    status, logs = http("GET", f"{worker.url}/rbac/access-logs?limit=1000", key=key)
    return [e for e in logs.get("events", []) if predicate(e)] if status == 200 else []


def test_a_worker_without_secrets_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    done = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "worker", "--data-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ATLAS_SIGNING_KEY" in lines[0] and "ATLAS_AUDIT_KEY" in lines[0]
