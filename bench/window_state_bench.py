"""Window state of a real worker: 30 days of hourly windows of a 20-column dataset, on disk.

Issue 15's budget: with the default windowing (1 h windows, 30 d retention) a 20-column dataset
stays under 200 MB of table state and changelog. The drift section estimates it from one
window's bytes; here a worker (4 partitions) profiles rows of the mixed table whose event
times cover 720 hours, and then the figures are read where they live: the worker's RocksDB
table directories (bytes on disk) and the app's changelog topics (every record's key and value
bytes as the broker holds them; the embedded broker never compacts, so also the bytes of the
last record of each key, what a compacted topic keeps). Run alone with
``python -m bench.window_state_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from bench.cluster import ADMIN_KEY, BenchCluster, changelog_partitions, row_count
from bench.table import COLUMNS, mixed_rows

__all__ = ["run"]

HERE = Path(__file__).resolve().parent
MB = 1_000_000
HOURS, QUICK_HOURS = 720, 48  # 30 days of 1 h windows: the default retention
ROWS_PER_HOUR = 1_000  # 720,000 rows: windows of 1,000 rows, their sketches past exact
PER_MESSAGE = 100
BUDGET_MB = 200
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
WINDOWING = {"event_time": "at", "size": "1h", "grace": "10m", "retention": "30d"}


def _request(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-API-Key", ADMIN_KEY)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        return orjson.loads(response.read())


def _rows(hours: int) -> list[dict[str, Any]]:
    """Rows of the mixed table, ``ROWS_PER_HOUR`` an hour, in event-time order."""
    rows = list(mixed_rows(hours * ROWS_PER_HOUR))
    for index, row in enumerate(rows):
        row["at"] = START + index * 3600.0 / ROWS_PER_HOUR
    return rows


def _windows(url: str, dataset: str) -> list[dict[str, Any]]:
    try:
        return list(_request("GET", f"{url}/catalog/datasets/{dataset}/windows")["windows"])
    except OSError:
        return []


def _last_error(log: Path) -> str:
    """Return the last ERROR line of a worker's log (why it stopped), or a pointer to the log."""
    errors = [line for line in log.read_text(errors="replace").splitlines() if "[ERROR]" in line]
    return errors[-1].strip() if errors else f"see {log}"


async def changelog_bytes(bootstrap: list[str], app_id: str) -> dict[str, dict[str, int]]:
    """Return per changelog topic: records, bytes of all records, bytes of each key's last."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, max_partition_fetch_bytes=64 * MB,
                                fetch_max_bytes=64 * MB)
    await consumer.start()
    try:
        partitions = await changelog_partitions(consumer, app_id)
        ends = await consumer.end_offsets(partitions) if partitions else {}
        result = {tp.topic: {"records": 0, "bytes": 0, "compacted_bytes": 0} for tp in partitions}
        for tp in partitions:
            if not ends[tp]:
                continue
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            last: dict[bytes | None, int] = {}
            done = False
            while not done:
                batches = await consumer.getmany(tp, timeout_ms=2000)
                if not batches:
                    break
                for record in batches.get(tp, []):
                    size = len(record.key or b"") + len(record.value or b"")
                    result[tp.topic]["records"] += 1
                    result[tp.topic]["bytes"] += size
                    last[record.key] = 0 if record.value is None else size
                    done = record.offset >= ends[tp] - 1
            result[tp.topic]["compacted_bytes"] += sum(last.values())
        return dict(sorted(result.items()))
    finally:
        await consumer.stop()


def table_bytes(data_dir: Path) -> dict[str, int]:
    """Return the bytes on disk of each table's RocksDB directories under ``data_dir``."""
    sizes: dict[str, int] = {}
    for path in data_dir.rglob("*"):
        if path.is_file():
            parts = path.relative_to(data_dir).parts
            table = next((p.rsplit("-", 1)[0] for p in parts if p.endswith(".db")), parts[0])
            sizes[table] = sizes.get(table, 0) + path.stat().st_size
    return dict(sorted(sizes.items()))


def measure(root: Path, hours: int) -> dict[str, Any]:
    """Profile ``hours`` hours of windowed rows with one worker; return the state's bytes."""
    dataset = "hourly"
    rows = _rows(hours)
    with BenchCluster(root) as cluster:
        worker = cluster.worker("w1")
        worker.wait_ready(timeout=120)
        _request("PUT", f"{worker.url}/catalog/datasets/{dataset}/windowing", WINDOWING)
        started = time.monotonic()
        cluster.produce(dataset, rows, PER_MESSAGE)
        deadline = time.monotonic() + 1800
        windows: list[dict[str, Any]] = []
        counted = None  # s from the first row sent until the profile and windows count all rows
        while time.monotonic() < deadline:
            if worker.process is not None and worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited ({worker.process.returncode}) before it "
                                   f"counted the rows: {_last_error(worker.log_path)}")
            windows = _windows(worker.url, dataset)
            if counted is None and row_count(worker.url, dataset) == len(rows) and sum(
                    w["row_count"] for w in windows) == len(rows):
                counted = time.monotonic() - started
            # Every window but the last closes by the watermark; the last one by idleness.
            if counted is not None and sum(w["closed"] for w in windows) >= hours - 1:
                break
            time.sleep(1.0)
        seconds = time.monotonic() - started
        time.sleep(5.0)  # the last table writes reach the changelogs and RocksDB
        by_topic = asyncio.run(changelog_bytes(cluster.settings.bootstrap_servers,
                                               cluster.app_id))
        changelogs = {t.removeprefix(f"{cluster.app_id}-"): v for t, v in by_topic.items()}
        tables = table_bytes(worker.data_dir)
    return {
        "hours": hours, "rows": len(rows), "columns": len(COLUMNS) + 1,
        "windows": len(windows), "closed": sum(w["closed"] for w in windows),
        "windowed_rows": sum(w["row_count"] for w in windows), "seconds": seconds,
        "seconds_to_count": counted,
        "changelogs": changelogs, "tables": tables,
    }


def markdown(result: dict[str, Any]) -> str:
    """Return the section's markdown."""
    changelogs, tables = result["changelogs"], result["tables"]
    window_topics = {t: v for t, v in changelogs.items()
                     if any(k in t for k in ("window", "profile_state"))}
    all_bytes = sum(v["bytes"] for v in window_topics.values())
    kept_bytes = sum(v["compacted_bytes"] for v in window_topics.values())
    disk = sum(tables.values())
    lines = [
        "## Window state in a worker (30 days of hourly windows)", "",
        f"One worker, 4 partitions, the default windowing (1 h windows, 10 min grace, 30 d "
        f"retention) on a {result['columns']}-column dataset (the mixed table and its event "
        f"time): {result['rows']:,} rows, {ROWS_PER_HOUR} an hour over {result['hours']} hours, "
        f"{PER_MESSAGE} rows a message. {result['windows']} windows listed, {result['closed']} "
        f"closed, {result['windowed_rows']:,} rows in windows, all counted after "
        f"{result['seconds']:.0f} s. Budget: {BUDGET_MB} MB of table state and changelog.", "",
        "| changelog topic (windows and partition state) | records | bytes | bytes kept by compaction |",
        "|---|---|---|---|",
    ]
    for topic, sizes in window_topics.items():
        lines.append(f"| `{topic}` | {sizes['records']:,} | "
                     f"{sizes['bytes'] / MB:.1f} MB | {sizes['compacted_bytes'] / MB:.1f} MB |")
    lines += [
        "",
        "| table state and changelog | MB | within the budget |", "|---|---|---|",
        f"| RocksDB on disk, every table of the worker | {disk / MB:.1f} | |",
        f"| window changelogs, every record (the embedded broker never compacts) | "
        f"{all_bytes / MB:.1f} | |",
        f"| window changelogs after compaction (each key's last record) | {kept_bytes / MB:.1f} | |",
        f"| **on disk + compacted changelogs** | **{(disk + kept_bytes) / MB:.1f}** | "
        f"{'yes' if disk + kept_bytes < BUDGET_MB * MB else 'no'} |",
        "",
    ]
    return "\n".join(lines)


def run(out_dir: Path, quick: bool = False) -> str:
    """Run the benchmark, write window_state_bench.json into ``out_dir`` and return markdown."""
    result = measure(out_dir / "window-state", QUICK_HOURS if quick else HOURS)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "window_state_bench.json").write_text(json.dumps(result, indent=2))
    return markdown(result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HOURS} hours, not {HOURS}")
    print(run(HERE / "out", parser.parse_args().quick))
