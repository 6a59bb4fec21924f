"""The web view attacked as an outsider would: every refusal is right, audited, and leaks nothing."""

from __future__ import annotations

import copy

import pytest

from atlas_streams.rbac import verify_chain
from atlas_streams.settings import Settings

from .conftest import Cluster, http, wait_rows, wait_until

VIEWER = "atlas-viewer-key"
ANALYST = "atlas-analyst-key"


@pytest.fixture(scope="module")
def workers(shared_cluster: Cluster) -> tuple:
    shared_cluster.create_topics("sales_eu", "secret_hr")
    w1 = shared_cluster.worker("a1")
    w2 = shared_cluster.worker("a2")
    return w1, w2


@pytest.fixture(scope="module")
def datasets(shared_cluster: Cluster, workers: tuple) -> dict[str, str]:
    names = {"open": shared_cluster.dataset("sales_eu"), "secret": shared_cluster.dataset("secret_hr")}
    rows = [{"id": i, "email": f"person{i}@corp.example", "salary": 1000 + i} for i in range(50)]
    for name in names.values():
        shared_cluster.produce(name, rows)
        wait_rows(workers[0], name, 50)
        wait_rows(workers[1], name, 50)
    return names


def test_no_key_wrong_key_and_unknown_paths_are_401(workers: tuple) -> None:
    w1, _ = workers
    for key in (None, "nope", "atl_0000000000000000_" + "x" * 43):
        status, body = http("GET", f"{w1.url}/catalog/stored-datasets", key=key)
        assert status == 401 and body["error"], (key, body)
    status, body = http("GET", f"{w1.url}/no/such/thing", key=None)
    assert status == 401
    status, body = http("GET", f"{w1.url}/no/such/thing")
    assert status == 404 and "error" in body
    # No key needed; 503 {"status": "recovering"} while the group rebalances, then 200.
    status, body = wait_until(lambda: (r := http("GET", f"{w1.url}/health", key=None))[0] == 200
                              and r, what="health 200")
    assert body == {"status": "ok"}


def test_viewer_cannot_write_and_analyst_cannot_manage_users(workers: tuple) -> None:
    w1, _ = workers
    body = {"username": "mallory", "email": "m@example.com", "roles": ["admin"]}
    for key in (VIEWER, ANALYST):
        status, reply = http("POST", f"{w1.url}/rbac/users", body, key=key)
        assert status == 403 and "error" in reply
    status, reply = http("GET", f"{w1.url}/rbac/my-permissions", key=VIEWER)
    assert status == 200 and "admin:users" not in reply["permissions"]


def test_path_tricks_never_reach_a_handler_unchecked(workers: tuple) -> None:
    w1, _ = workers
    tricks = ["/catalog/datasets/..%2F..%2Frbac%2Fusers/profile", "/RBAC/users", "//rbac/users",
              "/rbac/users/../users", "/catalog/datasets/a%2Fb/profile", "/rbac/%75sers"]
    for path in tricks:
        status, _ = http("GET", f"{w1.url}{path}", key=None)
        assert status in (401, 404), (path, status)
        status, body = http("GET", f"{w1.url}{path}", key=VIEWER)
        assert status in (403, 404), (path, status, body)


def test_bad_bodies_get_4xx_with_json(workers: tuple) -> None:
    w1, _ = workers
    status, body = http("POST", f"{w1.url}/rbac/users", raw=b"{not json")
    assert status == 422 and "error" in body
    status, body = http("POST", f"{w1.url}/rbac/users", {"username": "x"})
    assert status == 422 and "error" in body
    status, body = http("POST", f"{w1.url}/rbac/users", raw=b'{"a": "' + b"x" * 2_000_000 + b'"}')
    assert status == 413 and "error" in body


def test_user_lifecycle_across_workers(workers: tuple, datasets: dict[str, str]) -> None:
    w1, w2 = workers
    status, created = http("POST", f"{w1.url}/rbac/users", {
        "username": "ana", "email": "ana@example.com", "roles": ["data_analyst"],
        "denied_datasets": ["secret_*"],
        "masked_columns": {datasets["open"]: {"email": "hash", "salary": "null"}},
    })
    assert status == 201, created
    key = created["api_key"]
    assert "key_hash" not in created
    # A key created through worker 1 works on worker 2 at once.
    status, me = http("GET", f"{w2.url}/rbac/my-permissions", key=key)
    assert status == 200 and me["user"]["username"] == "ana"

    # Denied dataset: 404 exactly as an absent one, and not listed.
    for worker in (w1, w2):
        status, body = http("GET", f"{worker.url}/catalog/datasets/{datasets['secret']}/profile",
                             key=key)
        assert status == 404
        status, absent = http("GET", f"{worker.url}/catalog/datasets/never-was/profile", key=key)
        assert status == 404 and body["error"].replace(datasets["secret"], "X") == \
            absent["error"].replace("never-was", "X")
        status, listing = http("GET", f"{worker.url}/catalog/stored-datasets", key=key)
        assert datasets["secret"] not in {d["dataset_id"] for d in listing["datasets"]}

    # Masked columns: counts stay, values never leak.
    status, profile = http("GET", f"{w2.url}/catalog/datasets/{datasets['open']}/profile", key=key)
    assert status == 200
    email, salary = profile["columns"]["email"], profile["columns"]["salary"]
    assert email["masked"] and salary["masked"] and email["count"] == 50
    for field in ("min", "max", "quantiles", "median"):
        assert field not in salary
    text = str(profile["columns"]["email"]) + str(profile["columns"]["salary"])
    assert "person1@corp.example" not in text and "1049" not in text
    status, admin_view = http("GET", f"{w1.url}/catalog/datasets/{datasets['open']}/profile")
    assert admin_view["columns"]["salary"]["max"] == 1049  # masking never changes stored state

    # Rotation: the old key stops, the new one works; deletion stops the key everywhere.
    user_id = created["user_id"]
    status, rotated = http("POST", f"{w1.url}/rbac/users/{user_id}/rotate-key")
    assert status == 200 and rotated["api_key"] != key
    wait_until(lambda: http("GET", f"{w2.url}/rbac/my-permissions", key=key)[0] == 401,
               what="the old key to stop working on worker 2")
    assert http("GET", f"{w2.url}/rbac/my-permissions", key=rotated["api_key"])[0] == 200
    status, _ = http("DELETE", f"{w1.url}/rbac/users/{user_id}")
    assert status == 200
    wait_until(lambda: http("GET", f"{w2.url}/rbac/my-permissions",
                            key=rotated["api_key"])[0] == 401, what="a deleted user's key to fail")

    # No plaintext key is written anywhere we can read.
    for worker in (w1, w2):
        log_text = worker.log_path.read_text()
        assert key not in log_text and rotated["api_key"] not in log_text
    status, logs = http("GET", f"{w1.url}/rbac/access-logs?limit=1000")
    assert key not in str(logs) and rotated["api_key"] not in str(logs)


def test_every_decision_is_audited_by_every_worker(workers: tuple) -> None:
    w1, w2 = workers
    http("GET", f"{w2.url}/rbac/users", key=VIEWER)  # denied on worker 2
    http("GET", f"{w2.url}/rbac/users", key="wrong-key")  # 401 on worker 2

    def seen() -> bool:
        status, body = http("GET", f"{w1.url}/rbac/access-logs/denied?limit=1000")
        statuses = {(e["status"], e["user_id"]) for e in body["events"]}
        return (403, "viewer-001") in statuses and (401, None) in statuses

    wait_until(seen, what="worker 2's denials in worker 1's access log")
    status, body = http("GET", f"{w1.url}/rbac/access-logs?user=viewer-001&decision=denied")
    assert status == 200 and body["events"], body
    assert all(not e["allowed"] and e["user_id"] == "viewer-001" for e in body["events"])
    assert ("GET", "/rbac/users", 403) in {(e["method"], e["path"], e["status"]) for e in body["events"]}
    status, body = http("GET", f"{w1.url}/rbac/access-logs?decision=maybe")
    assert status == 422


def test_audit_chain_verifies_and_a_tampered_copy_breaks(workers: tuple) -> None:
    w1, _ = workers
    status, report = http("GET", f"{w1.url}/rbac/audit/verify")
    assert status == 200 and report["ok"] and report["checked"] > 5, report
    status, logs = http("GET", f"{w1.url}/rbac/access-logs?limit=1000")
    chain = sorted(logs["events"], key=lambda e: e["seq"])
    keyring = Settings(demo_keys=True).secrets().audit  # the tests' workers run in demo mode
    assert chain[0]["seq"] == 0 and verify_chain(chain, keyring).ok
    edited = copy.deepcopy(chain)
    edited[3]["status"] = 599  # no request got it: an edit, whatever the event was
    assert verify_chain(edited, keyring).first_break_index == 3
    dropped = chain[:2] + chain[3:]
    assert verify_chain(dropped, keyring).first_break_index == 2
