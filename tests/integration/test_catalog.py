"""End to end: rows produced to the real broker become profiles served by a real worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from atlas_streams.launcher import WorkerProcess
from atlas_streams.topics import DEADLETTER, dataset_topic

from .conftest import Cluster, assert_exact, http, profile_of, rows, wait_rows, wait_until

ROWS = [
    {"id": i, "price": round(10 + i * 0.5, 2), "city": ["Oslo", "Lima", "Pune"][i % 3],
     "vip": i % 4 == 0, **({"note": f"n{i}"} if i % 5 else {})}
    for i in range(300)
]


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster) -> WorkerProcess:
    """One worker for the module: each test uses datasets of its own."""
    return shared_cluster.worker("w1", env={"ATLAS_DATETIME_COLUMNS": "events:user.created:ms"})


def test_profile_counts_every_row_and_column(shared_cluster: Cluster, worker: WorkerProcess) -> None:
    cluster = shared_cluster
    dataset = cluster.dataset("orders")
    cluster.produce(dataset, ROWS[:150])
    cluster.produce(dataset, ROWS[150:], rows_per_message=25)
    profile = wait_rows(worker, dataset, len(ROWS))
    assert profile["row_count"] == len(ROWS)
    assert profile["dataset_id"] == dataset
    columns = profile["columns"]
    assert set(columns) == {"id", "price", "city", "vip", "note"}
    assert columns["id"]["type"] == "numeric"
    assert columns["id"]["min"] == 0 and columns["id"]["max"] == 299
    assert columns["id"]["count"] == 300 and columns["id"]["null_count"] == 0
    assert columns["city"]["type"] == "string"
    assert {tv["value"] for tv in columns["city"]["top_values"]} == {"Oslo", "Lima", "Pune"}
    assert columns["vip"]["type"] == "boolean"
    assert columns["note"]["null_count"] == 60 and columns["note"]["count"] == 240
    assert sum(columns["price"]["histogram"]["counts"]) == 300

    status, listing = http("GET", f"{worker.url}/catalog/stored-datasets")
    assert status == 200
    entry = next(d for d in listing["datasets"] if d["dataset_id"] == dataset)
    assert entry["row_count"] == 300


def test_nested_events_with_times_and_huge_integers_become_columns(
    shared_cluster: Cluster, worker: WorkerProcess
) -> None:
    # Rows as users have them (issue 14): written by hand, as orjson cannot write 2**70.
    big = 2**70
    first = (b'{"id": 1, "user": {"id": 13, "country": "DE", "created": 1794304800000}, '
             b'"tags": ["a", "b"], "ts": "2026-11-10T10:00:00Z", "big": %d}' % big)
    rest = (b'[{"id": 2, "user": {"id": 14, "country": "FR", "created": 1794308400000}, '
            b'"tags": [], "ts": "2026-11-10T12:30:00+01:00", "big": 4},'
            b' {"id": 3, "user": {"country": "DE"}, "tags": ["a"], "ts": null, "big": 5}]')
    shared_cluster.produce_raw("events", [first, rest])
    columns = wait_rows(worker, "events", 3)["columns"]
    assert {"user", "tags"}.isdisjoint(columns)  # always objects or arrays: only their parts
    country = columns["user.country"]
    assert country["top_values"][0] == {"value": "DE", "count": 2,
                                        "count_bounds": {"lower": 2, "upper": 2}}
    assert columns["user.id"]["count"] == 2 and columns["user.id"]["null_count"] == 1
    assert columns["tags.length"]["max"] == 2 and columns["tags[]"]["count"] == 3
    assert columns["tags[]"]["items"] is True
    ts = columns["ts"]
    assert (ts["type"], ts["min"], ts["max"]) == ("datetime", "2026-11-10T10:00:00Z",
                                                  "2026-11-10T11:30:00Z")
    assert ts["freshness_seconds"] > 0 and ts["null_count"] == 1
    created = columns["user.created"]  # named in ATLAS_DATETIME_COLUMNS, in milliseconds
    assert (created["type"], created["max"]) == ("datetime", "2026-11-10T11:00:00Z")
    huge = columns["big"]
    assert (huge["type"], huge["min"], huge["max"], huge["bigint_count"]) == ("numeric", 4, 5, 1)
    assert {"value": str(big), "count": 1, "count_bounds": {"lower": 1, "upper": 1},
            "bigint": True} in huge["top_values"]


def test_malformed_messages_are_dead_lettered_and_counted(
    shared_cluster: Cluster, worker: WorkerProcess
) -> None:
    cluster = shared_cluster
    dataset = cluster.dataset("messy")
    good = [orjson.dumps({"a": i}) for i in range(10)]
    bad = {
        b"not json": "not JSON",
        b"[1, 2]": "expected a JSON object or an array of objects, got list",
        b"42": "expected a JSON object or an array of objects, got int",
        b"[]": "an empty JSON array holds no rows",
        b'{"a": 1': "not JSON",
    }
    cluster.produce_raw(dataset, good[:5] + list(bad) + good[5:])
    wait_rows(worker, dataset, 10)
    wait_until(lambda: (profile_of(worker, dataset) or {}).get("invalid_count") == len(bad),
               what="invalid_count")
    assert profile_of(worker, dataset)["row_count"] == 10

    # Each dead letter names its reason and the topic, partition and offset the message has.
    topic = dataset_topic(cluster.prefix, dataset)
    where = {record.value: (record.partition, record.offset)
             for record in asyncio.run(read_all(cluster, topic))}
    letters = [orjson.loads(record.value) for record in asyncio.run(read_all(cluster, DEADLETTER))]
    mine = [letter for letter in letters if letter["topic"] == topic]
    assert sorted(letter["value"].encode() for letter in mine) == sorted(bad)
    for letter in mine:
        value = letter["value"].encode()
        assert letter["reason"].startswith(bad[value]), letter
        assert (letter["partition"], letter["offset"]) == where[value]
        assert (letter["size"], letter["truncated"]) == (len(value), False)


async def read_all(cluster: Cluster, topic: str) -> list[Any]:
    """Return every record of ``topic``, read to idle (the broker's end offsets can be short)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.settings.bootstrap_servers,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fresh metadata: a topic created since start is known (CI)
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []  # not created yet: callers that expect it wait and read again
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[Any] = []
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(*partitions, timeout_ms=200)
            idle = idle + 1 if not batch else 0
            for records in batch.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


def test_health_answers_503_while_the_worker_rebalances(
    shared_cluster: Cluster, worker: WorkerProcess
) -> None:
    # A new dataset topic makes the worker resubscribe, so its group rebalances and its tables
    # recover again; /health must say so meanwhile, then come back.
    answers: list[tuple[int, Any]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            answers.append(http("GET", f"{worker.url}/health", key=None))
            stop.wait(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        shared_cluster.produce("rebalanced", rows(0, 10))
        wait_rows(worker, "rebalanced", 10)
        wait_until(lambda: answers and answers[-1][0] == 200, what="health 200 again")
    finally:
        stop.set()
        poller.join()
    assert (503, {"status": "recovering"}) in answers, sorted(set(map(str, answers)))
    assert answers[-1] == (200, {"status": "ok"})
    assert {status for status, _ in answers} == {200, 503}


def test_snapshot_freezes_the_profile(shared_cluster: Cluster, worker: WorkerProcess) -> None:
    cluster = shared_cluster
    dataset = cluster.dataset("snap")
    cluster.produce(dataset, ROWS[:100])
    wait_rows(worker, dataset, 100)
    status, created = http("POST", f"{worker.url}/catalog/datasets/{dataset}/profile")
    assert status == 201, created
    run_id = created["run_id"]
    cluster.produce(dataset, ROWS[100:])
    wait_rows(worker, dataset, 300)
    for method in ("GET", "POST"):
        status, snap = http(method, f"{worker.url}/catalog/profile/by-run/{run_id}")
        assert status == 200, snap
        assert snap["row_count"] == 100 and snap["run_id"] == run_id
    status, body = http("GET", f"{worker.url}/catalog/profile/by-run/{'0' * 32}")
    assert status == 404 and "error" in body


def test_unknown_dataset_is_404_with_json(worker: WorkerProcess) -> None:
    status, body = http("GET", f"{worker.url}/catalog/datasets/nope/profile")
    assert status == 404 and "error" in body


def test_produce_command_reads_csv_with_typed_cells(
    shared_cluster: Cluster, worker: WorkerProcess, tmp_path: Path
) -> None:
    cluster = shared_cluster
    dataset = cluster.dataset("csv")
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("id,amount,flag,label\n1,2.5,true,x\n2,,false,y\n3,4,TRUE,\n")
    done = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "produce", str(csv_path), "--dataset", dataset,
         "--broker", cluster.broker.url, "--topic-partitions", str(cluster.partitions)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "ATLAS_DATASET_PREFIX": cluster.prefix},
    )
    assert done.returncode == 0, done.stderr
    profile = wait_rows(worker, dataset, 3)
    cols = profile["columns"]
    assert cols["id"]["type"] == "numeric" and cols["amount"]["null_count"] == 1
    assert cols["flag"]["type"] == "boolean" and cols["label"]["null_count"] == 1


def test_produce_command_fails_with_one_line(worker: WorkerProcess, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n')
    cases = [
        (["--broker", "kafka://127.0.0.1:1"], "cannot reach the broker"),
        (["--broker", "not a url"], "invalid setting broker"),
        (["--format", "xml"], "Invalid value"),
    ]
    for extra, message in cases:
        done = subprocess.run(
            [sys.executable, "-m", "atlas_streams", "produce", str(rows), "--dataset", "d", *extra],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 2 and message in done.stderr, done.stderr  # as the README says
        assert "Traceback" not in done.stderr


def test_a_batch_ends_at_batch_bytes_of_messages(cluster: Cluster) -> None:
    # 40-row messages are ~1.3 KB, over ATLAS_BATCH_BYTES: every batch is one message. Without
    # the bound the 20 messages, there before the worker starts, come in one batch.
    messages = cluster.produce("bounded", rows(0, 800), rows_per_message=40)
    assert messages == 20
    worker = cluster.worker(
        "bounded", env={"ATLAS_BATCH_BYTES": "1024", "ATLAS_BATCH_TIMEOUT": "5"}
    )
    assert_exact(wait_rows(worker, "bounded", 800), 800)
    status, text = http("GET", f"{worker.url}/metrics")
    assert status == 200
    counts = {name: float(value) for name, value in (
        line.rsplit(" ", 1) for line in text.splitlines()
        if line.startswith("atlas_profiler_batch_messages_")
        and not line.startswith("atlas_profiler_batch_messages_created"))}
    # A rebalance can replay a message: a batch more, of one message again.
    assert counts["atlas_profiler_batch_messages_sum"] == counts[
        "atlas_profiler_batch_messages_count"] >= 20
    assert counts['atlas_profiler_batch_messages_bucket{le="1.0"}'] == counts[
        "atlas_profiler_batch_messages_count"]
