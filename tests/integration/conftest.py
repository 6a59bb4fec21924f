"""Fixtures that start the real embedded broker and real worker processes (RocksDB tables)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from atlas_streams.broker import EmbeddedBroker, free_port
from atlas_streams.connectors.security import client_options
from atlas_streams.launcher import WorkerProcess
from atlas_streams.producer import ensure_topic, produce_values
from atlas_streams.settings import Settings
from atlas_streams.topics import dataset_topic
from atlas_streams.wire import encode_rows

ADMIN_KEY = "atlas-admin-key"
# How long a profile must keep its exact count once the group has committed every message: the
# view applies a partial well within this after the worker writes it (the profiler sends the
# view message before Faust commits the offsets it covers).
SETTLE_SECONDS = 1.0
# How long the group may take to commit every message once the count is reached (a commit every
# 2.8 s; a graceful handover of partitions took up to ~2 s more, measured).
COMMIT_SECONDS = 30.0
_app_ids = itertools.count()
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``integration`` (a conftest's pytestmark does nothing).

    ``-m "not integration"`` then selects no test that starts a broker or a worker.
    """
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


def http(
    method: str, url: str, body: Any = None, key: str | None = ADMIN_KEY,
    headers: dict[str, str] | None = None, raw: bytes | None = None,
) -> tuple[int, Any]:
    """Send one request; return (status, decoded JSON body or text)."""
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if key is not None:
        request.add_header("X-API-Key", key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            status, payload = response.status, response.read()
            ctype = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, payload, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
    except (ConnectionError, urllib.error.URLError) as err:
        return 0, str(err)  # the worker is (re)starting
    if "json" in ctype:
        return status, orjson.loads(payload)
    return status, payload.decode("utf-8", "replace")


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """Run one embedded broker, on a fresh port, for the whole session."""
    with EmbeddedBroker() as running:
        yield running


class Cluster:
    """Workers of one app id on the session's broker, each with its own data dir."""

    def __init__(self, broker: EmbeddedBroker, root: Path, partitions: int = 4) -> None:
        self.broker = broker
        self.root = root
        self.app_id = f"atlas-test-{next(_app_ids)}-{free_port()}"
        self.partitions = partitions
        self.workers: list[WorkerProcess] = []
        # Each cluster has its own dataset prefix: clusters sharing the session's broker never
        # profile each other's datasets.
        self.prefix = f"datasets.{self.app_id}."
        self.settings = Settings(
            broker=broker.url, topic_partitions=partitions, dataset_prefix=self.prefix
        )

    def env(self) -> dict[str, str]:
        """Return the environment each worker of this cluster runs with."""
        return {
            "ATLAS_APP_ID": self.app_id,
            "ATLAS_DEMO_KEYS": "1",
            "ATLAS_TOPIC_PARTITIONS": str(self.partitions),
            "ATLAS_DATASET_PREFIX": self.prefix,
            "ATLAS_DISCOVERY_INTERVAL": "0.5",
            "ATLAS_BATCH_TIMEOUT": "0.2",
            "ATLAS_AUTH_SUMMARY_SECONDS": "1",  # failed authentications reach the audit soon
            "ATLAS_LOG_LEVEL": "info",
        }

    def worker(
        self, name: str, data_dir: Path | None = None, start: bool = True,
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        """Start (and wait for) a worker; its data dir defaults to ``root/name``.

        ``env`` adds to (or overrides) the cluster's :meth:`env`.
        """
        data = data_dir or self.root / name
        proc = WorkerProcess(self.broker.url, data, free_port(), env={**self.env(), **(env or {})},
                             log_path=self.root / f"{name}-{len(self.workers)}.log")
        self.workers.append(proc)
        if start:
            proc.start()
            proc.wait_ready()
        return proc

    def dataset(self, name: str) -> str:
        """Return the name of a dataset of this cluster (its topic carries the cluster prefix)."""
        return name

    def produce(self, dataset: str, rows: list[dict[str, Any]], rows_per_message: int = 1) -> int:
        """Create the dataset topic if needed and send ``rows``; return messages acknowledged."""
        topic = dataset_topic(self.settings.dataset_prefix, dataset)

        async def send() -> int:
            await ensure_topic(self.settings, topic)
            return await produce_values(
                self.settings, topic, encode_rows(rows, rows_per_message), progress=False
            )

        return asyncio.run(send())

    def create_topics(self, *datasets: str) -> None:
        """Create dataset topics (with the cluster's partitions) before rows are sent."""

        async def create() -> None:
            for dataset in datasets:
                await ensure_topic(self.settings, dataset_topic(self.prefix, dataset))

        asyncio.run(create())

    def produce_raw(self, dataset: str, values: list[bytes]) -> int:
        """Send raw message values (malformed ones included) to the dataset topic."""
        topic = dataset_topic(self.settings.dataset_prefix, dataset)

        async def send() -> int:
            await ensure_topic(self.settings, topic)
            return await produce_values(self.settings, topic, values, progress=False)

        return asyncio.run(send())

    def stop(self) -> None:
        """Stop every worker this cluster started."""
        for proc in self.workers:
            proc.stop()


@pytest.fixture
def cluster(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[Cluster]:
    """A fresh app id (consumer group, tables) on the session broker."""
    made = Cluster(broker, tmp_path)
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(scope="module")
def shared_cluster(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One app id for a whole test module (worker starts cost seconds: share them)."""
    made = Cluster(broker, tmp_path_factory.mktemp("cluster"))
    try:
        yield made
    finally:
        made.stop()


def profile_of(worker: WorkerProcess, dataset: str) -> dict[str, Any] | None:
    """Return the dataset's profile from ``worker``, or None while it has none."""
    status, body = http("GET", f"{worker.url}/catalog/datasets/{dataset}/profile")
    return body if status == 200 else None


# An access line, plain or JSON (ATLAS_LOG_FORMAT=json): left out of a failure's log tail.
REQUEST_LINE = re.compile(r'\] (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /'
                          r'|"logger": "atlas_streams\.web\.access"')


@contextlib.contextmanager
def log_on_failure(worker: WorkerProcess, lines: int = 40) -> Iterator[None]:
    """Add the end of the worker's log to an assertion that fails inside (CI keeps no files)."""
    try:
        yield
    except AssertionError as exc:
        tail = worker.log_tail(lines, skip=REQUEST_LINE)
        errors = [line for line in worker.log_tail(100_000).splitlines()
                  if "] [ERROR] " in line or "] [CRITICAL] " in line][:8]
        stacks = worker.dump_stacks()
        status = worker.process.poll() if worker.process is not None else None
        where = where_tasks_wait(stacks) if stacks else (
            f"(no dump: the worker exited with status {status})" if status is not None
            else "(no dump: the worker is not running or wrote none)")
        raise AssertionError(f"{exc}\n--- end of {worker.log_path.name}, requests left out ---\n"
                             f"{tail}\n--- its first errors ---\n"
                             + ("\n".join(errors) or "(none)")
                             + f"\n--- where its tasks wait ---\n{where}") from None


OUR_FRAME = re.compile(r'File ".*/(atlas_streams|faust|mode|aiokafka)/([^"]+)", line (\d+), in (\w+)')


def where_tasks_wait(stacks: str, limit: int = 40) -> str:
    """Condense a worker's task dump to each task's innermost frame of ours, Faust's or
    aiokafka's (CI keeps no files and shows only part of a long output)."""
    innermost: dict[str, int] = {}
    for block in stacks.split("Stack for ")[1:]:
        frames = [f"{package}/{path}:{line} {function}"
                  for package, path, line, function in OUR_FRAME.findall(block)]
        if frames:  # mode's frames say little (locks, services): the two after the last other
            last = max((i for i, frame in enumerate(frames) if not frame.startswith("mode/")),
                       default=len(frames) - 1)
            where = " > ".join(frames[last:last + 2])
            innermost[where] = innermost.get(where, 0) + 1
    return "\n".join(f"{count} x {where}" for where, count in
                     sorted(innermost.items(), key=lambda item: -item[1])[:limit]) or "(no dump)"


def wait_rows(
    worker: WorkerProcess, dataset: str, rows: int, timeout: float = 60.0, commits: bool = True,
) -> dict[str, Any]:
    """Wait until the worker's profile of ``dataset`` counts exactly ``rows`` rows, and check that
    it still does once the worker group has committed every message of the dataset's topic.

    A count above ``rows`` fails at once: it is a double count, and waiting cannot undo it. The
    check after the commit catches a double count that comes later (a replay after a rebalance,
    a late duplicate): nothing uncommitted is left to replay then. ``commits=False`` skips the
    wait for the commit (the count must still hold for ``SETTLE_SECONDS``): only for a known
    case where the commit lags, said where it is passed.
    """

    seen: list[int | None] = [None]  # the last row count read, for the failure's message

    def counted() -> dict[str, Any] | None:
        body = profile_of(worker, dataset)
        seen[0] = None if body is None else body["row_count"]
        if body is not None and body["row_count"] > rows:
            raise AssertionError(f"{dataset} on {worker.url} counts {body['row_count']} rows, "
                                 f"more than the {rows} sent")
        return body if body is not None and body["row_count"] == rows else None

    with log_on_failure(worker):
        try:
            wait_until(counted, timeout, f"{rows} rows of {dataset} on {worker.url}")
        except AssertionError as exc:
            raise AssertionError(f"{exc} (the last count read: {seen[0]})") from None
    settings = worker_settings(worker)
    topic = dataset if dataset in settings.topics else dataset_topic(settings.dataset_prefix, dataset)
    if commits:
        with log_on_failure(worker):
            wait_committed(settings, topic)
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        body = profile_of(worker, dataset)
        assert body is not None and body["row_count"] == rows, (
            f"{dataset} on {worker.url} counted {rows} rows, then "
            f"{None if body is None else body['row_count']} once the group had committed"
        )
        if time.monotonic() >= deadline:
            return body
        time.sleep(0.1)


def wait_committed(settings: Settings, topic: str) -> None:
    """Wait until the workers' group has committed every message of ``topic``."""
    lag: dict[int, tuple[int | None, int]] = {}

    def committed() -> bool:
        lag.clear()
        lag.update(asyncio.run(uncommitted(settings, topic)))
        return not lag

    try:
        wait_until(committed, COMMIT_SECONDS, "the commit")
    except AssertionError:
        raise AssertionError(
            f"the group {settings.consumer_group} did not commit every message of {topic} in "
            f"{COMMIT_SECONDS:.0f} s: partition -> (committed, end) {dict(sorted(lag.items()))}"
        ) from None


def worker_settings(worker: WorkerProcess) -> Settings:
    """Return the settings a worker process runs with (its broker and its ATLAS_* variables)."""
    given = {name[len("ATLAS_"):].lower(): value for name, value in worker.env.items()
             if name.startswith("ATLAS_")}
    return Settings(**{**given, "broker": worker.broker})


async def uncommitted(settings: Settings, topic: str) -> dict[int, tuple[int | None, int]]:
    """Return the partitions of ``topic`` whose end the workers' group has not committed yet,
    each with its committed offset and its end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=settings.consumer_group,
        enable_auto_commit=False, **client_options(settings.kafka_security),
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return {-1: (None, 0)}  # no metadata yet: not settled
        ends = await consumer.end_offsets(partitions)
        behind = {}
        for tp in partitions:
            committed = await consumer.committed(tp)
            if ends[tp] > 0 and (committed is None or committed < ends[tp]):
                behind[tp.partition] = (committed, ends[tp])
        return behind
    finally:
        await consumer.stop()


def rows(start: int, stop: int) -> list[dict[str, object]]:
    """Return rows whose columns make double counting visible (sums, min, max)."""
    return [{"i": i, "even": i % 2 == 0, "tag": f"t{i % 17}"} for i in range(start, stop)]


def assert_exact(profile: dict, expected_rows: int, first: int = 0) -> None:
    """Assert every exact field equals that of rows(first, first + expected_rows)."""
    assert profile["row_count"] == expected_rows
    col = profile["columns"]["i"]
    assert col["count"] == expected_rows and col["null_count"] == 0
    assert col["min"] == first and col["max"] == first + expected_rows - 1
    assert abs(col["mean"] - (first + (expected_rows - 1) / 2)) < 1e-6
    tags = profile["columns"]["tag"]
    assert sum(t["count"] for t in tags["top_values"]) == expected_rows  # 17 values: exact
