"""The other ways in the README promises, run as a user runs them.

`faust -A atlas_streams.app:app worker` configured only by ATLAS_* variables, with ATLAS_TOPICS,
ATLAS_DESERIALIZERS and an s3:// artifact store (moto's S3 server); and `atlas-streams demo`,
which must start, serve and stop on Ctrl-C. One Faust worker serves the whole module.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client as http_client
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from atlas_streams.broker import free_port, wait_for_port
from atlas_streams.launcher import WorkerProcess
from atlas_streams.producer import ensure_topic, produce_values

from .conftest import ADMIN_KEY, Cluster, http, profile_of, wait_rows, wait_until

BUCKET = "atlas-artifacts"


class FaustWorker(WorkerProcess):
    """A worker started by Faust's own command line; every setting comes from ATLAS_* variables."""

    def command(self) -> list[str]:
        """Return `faust -A atlas_streams.app:app worker`, the console script a user types."""
        return [str(Path(sys.executable).with_name("faust")), "-A", "atlas_streams.app:app",
                "worker", "--loglevel", "info"]


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """Run moto's S3 server on a free port; yield the AWS_* variables that point at it."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for_port("127.0.0.1", port, timeout=30), "moto's S3 server did not start"
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        bucket_store(env).mkdir(BUCKET)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


def bucket_store(env: dict[str, str]) -> Any:
    """Return an s3fs filesystem on the test's S3 server (what the worker talks to)."""
    import s3fs

    return s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                             client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]})


@pytest.fixture(scope="module")
def topics(shared_cluster: Cluster) -> dict[str, str]:
    """Name this module's dataset topics: listed ones, in and outside the prefix, and one not."""
    suffix = shared_cluster.app_id
    return {
        "plain": f"plain-{suffix}",  # listed, outside the prefix: a dataset of the same name
        "logs": f"logs-{suffix}",  # listed, string messages
        "blobs": f"blobs-{suffix}",  # listed, bytes messages
        "listed": f"{shared_cluster.prefix}listed",  # listed, inside the prefix: dataset "listed"
        "unlisted": f"{shared_cluster.prefix}unlisted",  # prefixed but not listed: not profiled
    }


@pytest.fixture(scope="module")
def worker(shared_cluster: Cluster, topics: dict[str, str], s3: dict[str, str]) -> FaustWorker:
    """Start the module's worker with `faust -A`, configured by ATLAS_* variables only."""
    web_port = free_port()
    data_dir = shared_cluster.root / "faust"
    env = {
        **shared_cluster.env(), **s3,
        "ATLAS_BROKER": shared_cluster.broker.url, "ATLAS_DATA_DIR": str(data_dir),
        "ATLAS_WEB_PORT": str(web_port), "ATLAS_WEB_HOST": "127.0.0.1",
        "ATLAS_TOPICS": ",".join(t for name, t in topics.items() if name != "unlisted"),
        "ATLAS_DESERIALIZERS": f"{topics['logs']}:string,{topics['blobs']}:bytes",
        "ATLAS_ARTIFACTS_URI": f"s3://{BUCKET}/models",
    }
    proc = FaustWorker(shared_cluster.broker.url, data_dir, web_port, env=env,
                       log_path=shared_cluster.root / "faust.log")
    shared_cluster.workers.append(proc)  # stopped with the cluster
    proc.start()
    proc.wait_ready()
    return proc


def send(cluster: Cluster, topic: str, values: list[bytes]) -> None:
    """Send raw values to ``topic``, creating it with the cluster's partition count."""

    async def go() -> None:
        await ensure_topic(cluster.settings, topic)
        await produce_values(cluster.settings, topic, values, progress=False)

    asyncio.run(go())


def test_faust_a_worker_profiles_only_the_listed_topics(
    shared_cluster: Cluster, topics: dict[str, str], worker: FaustWorker
) -> None:
    rows = [orjson.dumps({"i": i}) for i in range(40)]
    send(shared_cluster, topics["unlisted"], rows)  # first: it has every chance to be picked up
    send(shared_cluster, topics["plain"], rows)
    send(shared_cluster, topics["listed"], rows[:25])

    assert wait_rows(worker, topics["plain"], 40)["columns"]["i"]["max"] == 39
    assert wait_rows(worker, "listed", 25)["columns"]["i"]["max"] == 24
    assert profile_of(worker, "unlisted") is None
    status, listing = http("GET", f"{worker.url}/catalog/stored-datasets")
    assert status == 200
    names = {d["dataset_id"] for d in listing["datasets"]}
    assert {topics["plain"], "listed"} <= names and "unlisted" not in names


def test_string_and_bytes_deserializers_profile_one_value_column(
    shared_cluster: Cluster, topics: dict[str, str], worker: FaustWorker
) -> None:
    lines = [b"GET /a 200", b"GET /a 200", b"{not json either", b"\xff\xfe not utf-8"]
    send(shared_cluster, topics["logs"], lines)
    send(shared_cluster, topics["blobs"], [b"\x00\xff", b"\x00\xff", b"\x10"])

    logs = wait_rows(worker, topics["logs"], 3)
    assert set(logs["columns"]) == {"value"}
    value = logs["columns"]["value"]
    assert value["type"] == "string" and value["top_values"][0] == {
        "value": "GET /a 200", "count": 2, "count_bounds": {"lower": 2, "upper": 2}
    }
    wait_until(lambda: (profile_of(worker, topics["logs"]) or {}).get("invalid_count") == 1,
               what="the line that is not UTF-8 counted as invalid")
    blobs = wait_rows(worker, topics["blobs"], 3)["columns"]["value"]
    assert {(t["value"], t["count"]) for t in blobs["top_values"]} == {("00ff", 2), ("10", 1)}


def test_artifacts_go_to_the_s3_store_and_come_back_verified(
    shared_cluster: Cluster, worker: FaustWorker, s3: dict[str, str]
) -> None:
    url, name = worker.url, f"s3-model-{shared_cluster.app_id}"
    assert http("POST", f"{url}/models/register", {"name": name})[0] == 201
    body = {"version": "1.0.0", "framework": "sklearn"}
    assert http("POST", f"{url}/models/{name}/versions", body)[0] == 201
    art = f"{url}/models/{name}/versions/1.0.0/artifact"
    payload = os.urandom(300_000)
    digest = hashlib.sha256(payload).hexdigest()

    status, stored = http("PUT", art, raw=payload, headers={"Content-Type": "application/octet-stream"})

    assert status == 201, stored
    assert (stored["sha256"], stored["size"]) == (digest, len(payload))
    key = f"{BUCKET}/models/{name}/1.0.0/{digest}"
    assert stored["uri"] == f"s3://{key}"
    bucket = bucket_store(s3)
    assert bucket.cat(key) == payload
    assert [path for path in bucket.find(f"{BUCKET}/models") if "/.tmp/" in path] == []
    request = urllib.request.Request(art, headers={"X-API-Key": ADMIN_KEY})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.read() == payload
        assert response.headers["X-Artifact-SHA256"] == digest
    # Bytes changed in the store behind the registry's back are never served whole: the same
    # size is cut short once the hash fails (the headers are out), another size refused at once.
    bucket.pipe(key, b"tampered" + payload[8:])
    with pytest.raises(http_client.IncompleteRead) as cut:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            response.read()
    assert len(cut.value.partial) < len(payload)
    bucket.pipe(key, payload[:-1])
    status, refused = http("GET", art)
    assert status == 500 and "does not match the registry" in refused["error"], refused


def test_demo_starts_serves_and_stops_on_ctrl_c() -> None:
    web_port, broker_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    demo = subprocess.Popen(
        [str(Path(sys.executable).with_name("atlas-streams")), "demo", "--web-port", str(web_port),
         "--broker-port", str(broker_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(
        line.decode(errors="replace") for line in iter(demo.stdout.readline, b"")  # type: ignore[union-attr]
    ))
    reader.start()
    url = f"http://127.0.0.1:{web_port}"
    try:
        wait_until(lambda: any("Press Ctrl-C to stop" in line for line in lines) or
                   demo.poll() is not None, 180, "the demo to say it is running")
        output = "".join(lines)
        assert demo.poll() is None, output
        for key in ("atlas-admin-key", "atlas-engineer-key", "atlas-analyst-key", "atlas-viewer-key"):
            assert key in output
        assert url in output
        status, profile = http("GET", f"{url}/catalog/datasets/orders/profile")
        assert status == 200 and profile["row_count"] == 5000, profile
        status, model = http("GET", f"{url}/models/churn-classifier")
        assert status == 200 and model["production"] == "1.1.0", model
        assert http("GET", f"{url}/", key="atlas-viewer-key")[0] == 200

        children = descendants(demo.pid)
        assert len(children) >= 2, children  # the broker and the worker
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C signals the terminal's whole process group
        # Promptly: within 15 s (~2 s measured here).
        assert demo.wait(timeout=15) == 0, "".join(lines)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        reader.join(timeout=10)
        demo.stdout.close()  # type: ignore[union-attr]
    # Nothing of the demo is left: none of the processes it started, no port held.
    wait_until(lambda: not [pid for pid in children if running(pid)], 10,
               "every process the demo started to end")
    assert not wait_for_port("127.0.0.1", web_port, timeout=0.2)
    assert not wait_for_port("127.0.0.1", broker_port, timeout=0.2)


def parent_and_state(pid: int) -> tuple[int, str] | None:
    """Return (parent pid, state letter) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0]


def descendants(pid: int) -> list[int]:
    """Return every process below ``pid`` (workers start sessions of their own, not groups)."""
    parents = {int(p.name): info for p in Path("/proc").iterdir()
               if p.name.isdigit() and (info := parent_and_state(int(p.name)))}
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, (parent, _) in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def running(pid: int) -> bool:
    """Return whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    info = parent_and_state(pid)
    return info is not None and info[1] != "Z"
