"""Run real worker processes on an embedded broker for the benchmarks, and watch them.

A :class:`BenchCluster` owns one fresh broker and hands out workers of one app id, each with a
fresh data dir. :class:`Watch` polls a worker's profile row count and samples its RSS and CPU
from a background thread; :class:`Sampler` records where the worker spends its time with py-spy.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

from atlas_streams.broker import EmbeddedBroker, free_port
from atlas_streams.launcher import WorkerProcess
from atlas_streams.producer import ensure_topic, produce_values
from atlas_streams.settings import Settings
from atlas_streams.topics import dataset_topic
from atlas_streams.wire import encode_rows

__all__ = ["BenchCluster", "Sampler", "Watch", "changelog_partitions", "row_count",
           "summarize_raw"]

ADMIN_KEY = "atlas-admin-key"  # a demo key: workers run with ATLAS_DEMO_KEYS=1
_ids = itertools.count()


def row_count(url: str, dataset: str) -> int | None:
    """Return the row count of the dataset's profile on the worker at ``url``, None if none."""
    request = urllib.request.Request(f"{url}/catalog/datasets/{dataset}/profile")
    request.add_header("X-API-Key", ADMIN_KEY)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return int(orjson.loads(response.read())["row_count"])
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, KeyError):
        return None


async def changelog_partitions(consumer: Any, app_id: str) -> list[Any]:
    """Return every partition (aiokafka TopicPartition) of the app's changelog topics."""
    from aiokafka import TopicPartition

    names = [t for t in await consumer.topics() if t.startswith(app_id) and "changelog" in t]
    return [TopicPartition(t, p) for t in sorted(names)
            for p in consumer.partitions_for_topic(t) or ()]


class BenchCluster:
    """One fresh embedded broker and workers of one app id, each with a fresh data dir."""

    def __init__(self, root: Path, partitions: int = 4) -> None:
        self.root = root
        self.partitions = partitions
        self.app_id = f"atlas-bench-{next(_ids)}-{free_port()}"
        self.broker = EmbeddedBroker()
        self.workers: list[WorkerProcess] = []

    @property
    def settings(self) -> Settings:
        """Return the settings producers use against this cluster's broker."""
        return Settings(broker=self.broker.url, topic_partitions=self.partitions)

    def __enter__(self) -> BenchCluster:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.broker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop()
        self.broker.stop()

    def produce(self, dataset: str, rows: Iterable[dict[str, Any]], rows_per_message: int) -> int:
        """Create the dataset's topic and send ``rows``; return the messages acknowledged."""
        topic = dataset_topic(self.settings.dataset_prefix, dataset)

        async def send() -> int:
            await ensure_topic(self.settings, topic, self.partitions)
            return await produce_values(
                self.settings, topic, encode_rows(rows, rows_per_message), progress=False
            )

        return asyncio.run(send())

    def worker(self, name: str, env: dict[str, str] | None = None) -> WorkerProcess:
        """Start a worker with its own fresh data dir (not waiting for it to be ready).

        ``env`` adds ``ATLAS_*`` settings to the cluster's own.
        """
        env = {
            "ATLAS_APP_ID": self.app_id,
            "ATLAS_DEMO_KEYS": "1",
            "ATLAS_TOPIC_PARTITIONS": str(self.partitions),
            "ATLAS_DISCOVERY_INTERVAL": "0.5",
            "ATLAS_LOG_LEVEL": "warning",
            **(env or {}),
        }
        proc = WorkerProcess(self.broker.url, self.root / name, free_port(), env=env,
                             log_path=self.root / f"{name}.log")
        self.workers.append(proc)
        return proc.start()


@dataclass
class Watch:
    """Poll a worker's row count and sample its RSS and CPU time from a background thread."""

    worker: WorkerProcess
    dataset: str
    interval: float = 0.1  # s between row-count polls
    sample_interval: float = 0.1  # s between RSS and CPU samples
    counts: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, row count)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, bytes)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic s, CPU s)

    def __post_init__(self) -> None:
        assert self.worker.process is not None
        self._process = psutil.Process(self.worker.process.pid)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll, daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]

    def start(self) -> Watch:
        """Start polling and sampling."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and sampling."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            count = row_count(self.worker.url, self.dataset)
            if count is not None:
                self.counts.append((time.monotonic(), count))
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                self.rss.append((now, self._process.memory_info().rss))
                times = self._process.cpu_times()
                self.cpu.append((now, times.user + times.system))
            except psutil.Error:
                return
            self._stop.wait(self.sample_interval)

    def wait_rows(self, total: int, timeout: float, stall: float = 90.0) -> float:
        """Wait until the row count reaches ``total``; return when it was first seen.

        Raises when the count has not moved for ``stall`` s once rows were counted: rows were
        lost (the worker would otherwise idle until ``timeout``).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.counts and self.counts[-1][1] >= total:
                return self.counts[-1][0]
            if self.worker.process is None or self.worker.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.worker.log_tail()}")
            if self.counts and self.counts[-1][1] > 0:
                last = self.counts[-1][1]
                since = next(t for t, c in reversed(self.counts) if c != last) \
                    if any(c != last for _, c in self.counts) else self.counts[0][0]
                if time.monotonic() - since > stall:
                    raise RuntimeError(
                        f"STALLED: {last:,} of {total:,} rows counted and no progress for "
                        f"{stall:.0f} s: rows lost. Worker log tail:\n{self.worker.log_tail()}")
            time.sleep(0.02)
        last = self.counts[-1][1] if self.counts else None
        raise TimeoutError(f"{total} rows not counted after {timeout:.0f} s (last {last}):\n"
                           f"{self.worker.log_tail()}")

    def first_seen(self, rows: int) -> tuple[float, int]:
        """Return (time, count) of the first poll that saw at least ``rows`` rows."""
        return next((t, c) for t, c in self.counts if c >= rows)

    def peak_rss(self, until: float) -> int:
        """Return the highest RSS sampled up to ``until`` (monotonic s)."""
        return max(rss for t, rss in self.rss if t <= until)

    def busy_from(self, after: float, share: float = 0.5) -> float:
        """Return when the worker first used over ``share`` of a core after ``after``.

        The start of a sampling interval is returned, so the busy period is not shortened.
        """
        samples = [(t, c) for t, c in self.cpu if t >= after]
        for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
            if (c1 - c0) / (t1 - t0) > share:
                return t0
        raise ValueError("the worker never got busy")

    def cpu_between(self, start: float, end: float) -> float:
        """Return the worker's CPU seconds between two moments (nearest samples)."""
        def at(moment: float) -> float:
            return min(self.cpu, key=lambda sample: abs(sample[0] - moment))[1]

        return at(end) - at(start)


class Sampler:
    """Record a process's Python stacks with py-spy (``--format raw``) until stopped."""

    def __init__(self, pid: int, out: Path, rate: int = 100) -> None:
        self.out = out
        self.available = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or \
            shutil.which("py-spy")
        self.process: subprocess.Popen[bytes] | None = None
        self.command = [str(self.available), "record", "--pid", str(pid), "--format", "raw",
                        "--function", "--nonblocking", "--rate", str(rate), "-o", str(out)]

    def start(self) -> Sampler:
        """Start sampling (does nothing when py-spy is not installed)."""
        if self.available:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            log = self.out.with_suffix(".log").open("wb")
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> Path | None:
        """Stop sampling; return the raw stacks file, or None when there is none."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.out if self.out.exists() and self.out.stat().st_size else None


# Frames every stack passes through (event loop, command line, threads): no news inclusively.
_WRAPPERS = ("asyncio/", "click/", "<frozen runpy>", "atlas_streams/__main__", "atlas_streams/cli",
             "threading.py", "mode/worker.py", "mode/threads.py", "mode/services.py",
             "Agent._execute_actor")


def _area(frame: str) -> str:
    """Return the package a py-spy frame ``func (path)`` belongs to."""
    path = "/" + frame.rpartition("(")[2]  # py-spy names files relative to site-packages
    for marker, name in (("/atlas_streams/profiling/", "atlas profiling (sketches)"),
                         ("/atlas_streams/", "atlas agents/tables/web"), ("/faust/", "faust"),
                         ("/mode/", "mode"), ("/aiokafka/", "aiokafka"), ("/asyncio/", "asyncio"),
                         ("/selectors.py", "asyncio"), ("/rocksdict/", "rocksdict"),
                         ("/aiohttp/", "aiohttp")):
        if marker in path:
            return name
    return "other (stdlib, ...)"


def summarize_raw(path: Path, top: int = 15) -> dict[str, Any]:
    """Return the top self-time and inclusive-time functions of a py-spy raw stacks file."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        areas[_area(frames[-1])] += count
        for frame in set(frames):
            if not any(part in frame for part in _WRAPPERS):
                inclusive[frame] += count

    def shares(counter: collections.Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(n)]

    return {"samples": total, "self": shares(self_time, top), "inclusive": shares(inclusive, top),
            "areas": shares(areas, len(areas))}
