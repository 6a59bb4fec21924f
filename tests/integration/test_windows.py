"""Event-time windows and drift end to end: real broker, real worker, real RocksDB tables.

Short windows (1 min, 1 s of grace) on an explicit event-time column, so which window a row is
in, and which rows are late, depend on the rows alone; only the closing of the last windows
waits on the quiet rule (1 s of grace of wall clock).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import orjson
import pytest

from atlas_streams.launcher import WorkerProcess
from atlas_streams.topics import DEADLETTER, DRIFT, dataset_topic

from .conftest import Cluster, http, profile_of, wait_rows, wait_until
from .test_catalog import read_all

BASE = "2024-05-01T10:00:00+00:00"  # a window start
WINDOWING = {"event_time": "at", "size": "1m", "grace": "1s", "retention": "1h"}


def at(seconds: float) -> str:
    minute, second = divmod(seconds, 60)
    return f"2024-05-01T10:{int(minute):02d}:{second:06.3f}+00:00"


def start(minute: int) -> str:
    return f"2024-05-01T10:{minute:02d}:00+00:00"


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """One worker for the module, small batches (a kill lands mid-stream)."""
    # A 4 s session: the restarted worker gets the killed one's partitions sooner.
    return shared_cluster.worker("w1", env={"ATLAS_BATCH_SIZE": "100",
                                            "ATLAS_SESSION_TIMEOUT": "4"})


def windows_of(worker: WorkerProcess, dataset: str, query: str = "") -> dict[str, Any]:
    status, body = http("GET", f"{worker.url}/catalog/datasets/{dataset}/windows{query}")
    assert status == 200, body
    return body


def warm_up(cluster: Cluster, worker: WorkerProcess, dataset: str, row: dict[str, Any]) -> None:
    """Send one row and wait until it is profiled: the worker has subscribed to the new topic.

    Rows sent while the worker resubscribes (a rebalance) were seen left unread in a fresh
    group with no committed offset yet; the rest then follow on a settled subscription.
    """
    cluster.produce(dataset, [row])
    wait_rows(worker, dataset, 1, commits=False)


def settled(worker: WorkerProcess, dataset: str, counts: dict[str, int]) -> dict[str, Any]:
    """Wait until the dataset's windows hold exactly ``counts`` rows and are all closed."""
    seen: list[Any] = []

    def check() -> dict[str, Any] | None:
        body = windows_of(worker, dataset)
        seen[:] = [body]
        got = {w["start"]: w["row_count"] for w in body["windows"]}
        for window, rows in got.items():
            assert rows <= counts.get(window, 0), f"window {window} counts {rows}: {got}"
        done = got == counts and all(w["closed"] for w in body["windows"])
        return body if done else None
    try:
        return wait_until(check, 40, f"windows {counts} of {dataset}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; windows last listed: {seen}") from None


def test_windowing_config_windows_profiles_and_drift(shared_cluster: Cluster,
                                                     worker: WorkerProcess) -> None:
    cluster, dataset = shared_cluster, "sensors"
    url = f"{worker.url}/catalog/datasets/{dataset}"
    # Configured before the topic exists; bad bodies are refused naming the field.
    assert http("GET", f"{url}/windowing")[1]["size"] == "1h"  # the defaults
    for body, field in (({"size": "ten"}, "size"), ({"grace": 5}, "grace"),
                        ({"colour": "red"}, "colour"), ([1], "body"),
                        ({"size": "1m", "retention": "30s"}, "retention")):
        status, answer = http("PUT", f"{url}/windowing", body)
        assert (status, answer.get("field")) == (422, field), answer
    status, answer = http("PUT", f"{url}/windowing", WINDOWING)
    assert status == 200 and answer["size"] == "1m" and answer["configured"], answer
    assert http("GET", f"{url}/windowing")[1] == answer
    # A drift monitor: minute 0 is the reference of every window that closes.
    assert http("GET", f"{url}/monitor")[0] == 404
    for body, field in (({"reference": "latest"}, "reference"),
                        ({"reference": f"range:{start(0)}/{start(1)}", "thresholds": {"psi": -1}},
                         "thresholds.psi")):
        status, answer = http("PUT", f"{url}/monitor", body)
        assert (status, answer.get("field")) == (422, field), answer
    monitor = {"reference": f"range:{start(0)}/{start(1)}", "thresholds": {"psi": 0.25}}
    status, answer = http("PUT", f"{url}/monitor", monitor)
    assert status == 200 and answer["thresholds"]["psi"] == 0.25, answer
    assert http("GET", f"{url}/monitor")[1] == answer

    # Minute 0: 10 rows around 10; minute 1: 10 rows around 10; minute 2: 6 rows around 50.
    rows = ([{"at": at(i), "v": 10 + i % 3, "kind": "a"} for i in range(10)]
            + [{"at": at(60 + i), "v": 10 + i % 3, "kind": "a"} for i in range(10)]
            + [{"at": at(120 + i), "v": 50 + i, "kind": "b"} for i in range(6)])
    bad = [{"v": 1, "kind": "a"}, {"at": "yesterday", "v": 1, "kind": "a"}]
    warm_up(cluster, worker, dataset, rows[0])
    cluster.produce(dataset, rows[1:] + bad)
    wait_rows(worker, dataset, len(rows) + len(bad), commits=False)  # all-time keeps them
    body = settled(worker, dataset, {start(0): 10, start(1): 10, start(2): 6})
    assert body["rejected_count"] == 2 and body["count"] == 3
    assert [w["start"] for w in body["windows"]] == [start(0), start(1), start(2)]

    # Each closed window was judged against the monitor's reference: minute 2 drifted.
    def judged() -> dict[str, Any] | None:
        body = http("GET", f"{url}/drift-events")[1]
        return body if [v["window"] for v in body["verdicts"]] == [
            start(0), start(1), start(2)] else None
    verdicts = wait_until(judged, 20, "the drift verdicts")
    last = verdicts["verdicts"][-1]
    assert last["drift"] and "v" in last["drifted_columns"] and not verdicts["verdicts"][0]["drift"]
    assert last["inputs"]["window_rows"] == 6 and last["inputs"]["thresholds"]["psi"] == 0.25
    assert {(e["window"], e["column"]) for e in verdicts["events"]} >= {(start(2), "v")}
    drift_events = wait_until(lambda: [
        event for record in asyncio.run(read_all(cluster, DRIFT))
        if (event := orjson.loads(record.value))["dataset_id"] == dataset] or None, 20,
        "events on atlas.drift")
    assert all(e["reference"] == monitor["reference"] for e in drift_events)
    assert any(e["window"] == start(2) and e["column"] == "v" for e in drift_events)

    # The rows without a usable event time are dead-lettered with the reason.
    topic = dataset_topic(cluster.prefix, dataset)
    letters = wait_until(lambda: [
        letter for record in asyncio.run(read_all(cluster, DEADLETTER))
        if (letter := orjson.loads(record.value))["topic"] == topic] or None, 20, "dead letters")
    assert len(letters) == 2 and all(lt["reason"].startswith("event time: ") for lt in letters)

    # Late rows are kept: their closed window is corrected and counts them. A row is late when
    # its partition's watermark passed end + grace; the producer spreads rows over 4 partitions
    # at random, so of 4 late rows at least one lands on a partition that saw minute 1 or 2.
    cluster.produce(dataset, [{"at": at(30 + i), "v": 11, "kind": "a"} for i in range(4)])

    def corrected() -> dict[str, Any] | None:
        first = windows_of(worker, dataset)["windows"][0]
        return first if first["row_count"] == 14 else None
    first = wait_until(corrected, 20, "the late rows")
    assert 1 <= first["late_count"] <= 4 and first["closed"], first

    # since/until select; a bad one is a 400 naming it.
    assert [w["start"] for w in windows_of(
        worker, dataset, f"?since={q(start(1))}&until={q(start(3))}")["windows"]] == [
        start(1), start(2)]
    status, answer = http("GET", f"{url}/windows?since=soon")
    assert (status, answer["field"]) == (400, "since")

    # One window's profile, in the dataset profile's schema.
    status, profile = http("GET", f"{url}/windows/{q(start(2))}")
    assert status == 200 and profile["row_count"] == 6 and profile["dataset_id"] == dataset
    assert set(profile) >= set(http("GET", f"{url}/profile")[1]) - {"updated_at"}
    assert (profile["columns"]["v"]["min"], profile["columns"]["v"]["max"]) == (50, 55)
    assert http("GET", f"{url}/windows/{q(start(9))}")[0] == 404
    assert http("GET", f"{url}/windows/noon")[0] == 400

    # Drift: a window against a range of the same rows is none; minute 2 moved.
    def drift(reference: str, current: str) -> tuple[int, Any]:
        return http("GET", f"{url}/drift?reference={q(reference)}&current={q(current)}")
    status, same = drift(f"window:{start(1)}", f"range:{start(1)}/{start(2)}")
    assert status == 200 and not same["drift"] and same["columns"]["v"]["metrics"]["ks"] == 0
    status, moved = drift(f"range:{start(0)}/{start(2)}", "latest")
    assert status == 200 and moved["drift"] and "v" in moved["drifted_columns"], moved
    assert moved["current"] == f"window:{start(2)}"
    assert set(moved["columns"]["v"]["metrics"]) >= {"psi", "js", "hellinger", "ks",
                                                     "wasserstein"}
    status, run = http("POST", f"{url}/profile")
    assert status == 201
    status, against_run = drift(f"run:{run['run_id']}", f"window:{start(2)}")
    assert status == 200 and against_run["reference"] == f"run:{run['run_id']}"
    for reference, code in (("window:noon", 400), ("week:1", 400), (f"window:{start(9)}", 404),
                            ("run:" + "0" * 32, 404)):
        status, answer = drift(reference, "latest")
        assert (status, answer.get("field")) == (code, "reference"), answer
    assert http("GET", f"{url}/drift?reference=latest")[1]["field"] == "current"

    # Training-serving skew of a registry version trained on the snapshot (mostly minutes 0
    # and 1, v around 10): the last closed window (minute 2, v around 50) drifts.
    model = f"{worker.url}/models/skewed-{cluster.app_id}"
    assert http("POST", f"{worker.url}/models/register", {"name": f"skewed-{cluster.app_id}"})[0] == 201
    lineage = {"training_dataset_id": dataset, "profile_run_id": run["run_id"],
               "features_used": ["v"]}
    for version, body in (("1.0.0", {"lineage": lineage}), ("2.0.0", {})):
        status, answer = http("POST", f"{model}/versions",
                              {"version": version, "framework": "sklearn", **body})
        assert status == 201, answer
    status, skew = http("GET", f"{model}/versions/1.0.0/skew?current={q('window:' + start(2))}")
    assert status == 200 and set(skew["columns"]) == {"v"} and skew["drift"], skew
    assert skew["reference"] == f"run:{run['run_id']}"
    assert http("GET", f"{model}/versions/2.0.0/skew")[0] == 409  # no training profile
    status, refused = http("POST", f"{model}/versions/1.0.0/promote-production")
    assert status == 409 and refused["drifted_columns"] == ["v"], refused
    assert http("POST", f"{model}/versions/1.0.0/promote-production?force=maybe")[0] == 400
    status, forced = http("POST", f"{model}/versions/1.0.0/promote-production?force=true")
    assert status == 200 and forced["stage"] == "production", forced

    def audited() -> list[Any] | None:
        body = http("GET", f"{worker.url}/rbac/access-logs?limit=1000")[1]
        return [e for e in body["events"] if e.get("reason") == "skew_forced"] or None
    assert wait_until(audited, 20, "the forced promotion in the access log")[0]["path"].endswith(
        "/versions/1.0.0/promote-production")
    check_skew_lineage(cluster, worker, dataset, model)


def check_skew_lineage(cluster: Cluster, worker: WorkerProcess, dataset: str, model: str) -> None:
    """A version's training data as a range or a snapshot taken when it is added, and the
    serving dataset skew compares it with; ``dataset`` has windows of minutes 0 to 2 (v around
    10, 10 and 50), minute 2 the last closed, and ``model`` 1.0.0 in production."""
    def add(version: str, lineage: dict[str, Any]) -> tuple[int, Any]:
        return http("POST", f"{model}/versions",
                    {"version": version, "framework": "sklearn", "lineage": lineage})

    def skew(version: str, current: str | None = None) -> tuple[int, Any]:
        query = f"?current={q(current)}" if current is not None else ""
        return http("GET", f"{model}/versions/{version}/skew{query}")

    # Bad training data is refused naming the field, before anything is stored.
    span = f"{start(0)}/{start(2)}"
    for lineage, field in (
            ({"training_dataset_id": dataset, "training_range": "yesterday/today"},
             "lineage.training_range"),
            ({"training_dataset_id": dataset, "training_range": f"{start(2)}/{start(0)}"},
             "lineage.training_range"),
            ({"training_range": span}, "lineage.training_range"),
            ({"training_dataset_id": dataset, "training_range": span, "training_run_id": "f" * 32},
             "training_range, not both"),
            ({"training_dataset_id": dataset, "training_run_id": "a" * 32,
              "profile_run_id": "b" * 32}, "lineage.profile_run_id")):
        status, answer = add("3.0.0", lineage)
        assert status == 422 and field in answer["error"], answer

    # A range of the training dataset's windows (minutes 0 and 1, v around 10) is the reference.
    status, answer = add("3.0.0", {"training_dataset_id": dataset, "features_used": ["v"],
                                   "training_range": span.replace("+00:00", "Z")})
    assert status == 201 and answer["lineage"]["training_range"] == span, answer
    assert answer["lineage"]["training_run_id"] is None  # a range: no snapshot taken
    status, ranged = skew("3.0.0")  # current: latest, minute 2
    assert status == 200 and ranged["drift"] and ranged["reference"] == f"range:{span}", ranged
    assert ranged["current"] == f"window:{start(2)}" and ranged["serving_dataset_id"] == dataset
    status, same = skew("3.0.0", f"range:{span}")  # the training rows themselves
    assert status == 200 and not same["drift"], same["columns"]
    assert same["columns"]["v"]["metrics"]["ks"] == 0
    status, refused = http("POST", f"{model}/versions/3.0.0/promote-production")
    assert status == 409 and refused["drifted_columns"] == ["v"], refused

    # Only the dataset named: a snapshot of it is taken as the version is added.
    before = http("GET", f"{worker.url}/catalog/datasets/{dataset}/snapshots")[1]["count"]
    status, answer = add("4.0.0", {"training_dataset_id": dataset, "features_used": ["v"]})
    assert status == 201, answer
    run_id = answer["lineage"]["training_run_id"]
    assert run_id and answer["lineage"]["profile_run_id"] == run_id, answer
    snapshots = http("GET", f"{worker.url}/catalog/datasets/{dataset}/snapshots")[1]
    assert snapshots["count"] == before + 1 and snapshots["snapshots"][0]["run_id"] == run_id
    assert http("GET", f"{model}/versions/4.0.0")[1]["lineage"]["training_run_id"] == run_id
    status, snapped = skew("4.0.0")
    assert status == 200 and snapped["reference"] == f"run:{run_id}" and snapped["drift"], snapped
    # ... unless the dataset has no profile here: the version is added without one.
    status, answer = add("5.0.0", {"training_dataset_id": "never-profiled"})
    assert status == 201 and answer["lineage"]["training_run_id"] is None, answer
    status, refused = skew("5.0.0")
    assert status == 409 and "no training snapshot" in refused["error"], refused

    # A serving dataset: trained on a batch of minute 2's rows (no windows), served on ``dataset``.
    batch = f"{dataset}-batch"
    rows = [{"at": at(120 + i), "v": 50 + i, "kind": "b"} for i in range(6)]
    warm_up(cluster, worker, batch, rows[0])
    cluster.produce(batch, rows[1:])
    wait_rows(worker, batch, len(rows), commits=False)
    status, answer = add("6.0.0", {"training_dataset_id": batch, "serving_dataset_id": dataset,
                                   "features_used": ["v"]})
    assert status == 201 and answer["lineage"]["training_run_id"], answer
    status, served = skew("6.0.0")
    assert status == 200 and not served["drift"], served
    assert (served["dataset_id"], served["serving_dataset_id"]) == (batch, dataset)
    assert served["current"] == f"window:{start(2)}"
    status, moved = skew("6.0.0", f"window:{start(1)}")
    assert status == 200 and moved["drift"] and moved["drifted_columns"] == ["v"], moved
    # Without serving_dataset_id the batch itself is served: it has no closed window.
    status, answer = add("6.1.0", {"training_dataset_id": batch, "features_used": ["v"]})
    assert status == 201, answer
    status, unserved = skew("6.1.0")
    assert (status, unserved.get("field")) == (404, "current"), unserved
    # The promotion gate compares with the serving dataset too: no skew, no 409.
    status, promoted = http("POST", f"{model}/versions/6.0.0/promote-production")
    assert status == 200 and promoted["stage"] == "production", promoted


def test_sigkill_mid_stream_neither_loses_nor_double_counts_a_windowed_row(
        shared_cluster: Cluster, worker: WorkerProcess) -> None:
    # Last in the module: it kills the module's worker.
    cluster, dataset, total = shared_cluster, "crash", 9_000
    url = f"{worker.url}/catalog/datasets/{dataset}/windowing"
    assert http("PUT", url, WINDOWING)[0] == 200
    # 30 rows a second of event time: 1,800 rows in each of 5 one-minute windows.
    sent = [{"at": at(i / 30), "i": i} for i in range(total)]
    warm_up(cluster, worker, dataset, sent[0])
    cluster.produce(dataset, sent[1:])
    wait_until(lambda: 0 < (profile_of(worker, dataset) or {}).get("row_count", 0) < total,
               30, "a partly processed dataset")
    worker.kill()
    again = cluster.worker("w1-again", data_dir=worker.data_dir,
                           env={"ATLAS_BATCH_SIZE": "100", "ATLAS_SESSION_TIMEOUT": "4"})
    wait_rows(again, dataset, total)
    body = settled(again, dataset, {start(m): 1_800 for m in range(5)})
    assert sum(w["row_count"] for w in body["windows"]) == total
    assert body["rejected_count"] == 0 and body["expired_count"] == 0
