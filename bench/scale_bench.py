"""Memory and restore of one worker over a million rows (100 rows per message).

One run gives both sections. Memory: a worker profiles 1,000,000 pre-produced rows of the mixed
table while its RSS is sampled every 0.1 s; the peak up to the first poll that counts 100,000
rows is set against the peak up to 1,000,000. Twice: with the default batches (up to 2,000
messages, so few table writes), and in batches of 20 messages (a table write per 2,000 rows per
partition, as a worker fed a trickle of rows writes). Restore: the first worker is stopped and a second one
with the same app id and an empty data dir rebuilds its tables from the changelogs; timed from
process start to ``/health`` 200 and to the profile served with all rows. Run alone with
``python -m bench.scale_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from atlas_streams.settings import Settings
from bench.cluster import BenchCluster, Watch, changelog_partitions, row_count
from bench.table import COLUMNS, SEED, mixed_rows

__all__ = ["run"]

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
ROWS, QUICK_ROWS = 1_000_000, 100_000
LONG_ROWS = 3_000_000  # the third memory run: does the peak level off after a million rows?
_FIELDS = Settings.model_fields
BATCH_DEFAULTS = (f"{_FIELDS['batch_size'].default:,} messages or "
                  f"{_FIELDS['batch_bytes'].default // MIB} MiB of values")
PER_MESSAGE = 100
SMALL_BATCH = 20  # messages a batch in the second memory run


async def changelog_records(bootstrap: list[str], app_id: str) -> dict[str, int]:
    """Return the number of records in each of the app's changelog topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = await changelog_partitions(consumer, app_id)
        ends = await consumer.end_offsets(partitions) if partitions else {}
        begins = await consumer.beginning_offsets(partitions) if partitions else {}
        counts: dict[str, int] = {}
        for tp in partitions:
            counts[tp.topic] = counts.get(tp.topic, 0) + ends[tp] - begins[tp]
        return dict(sorted(counts.items()))
    finally:
        await consumer.stop()


def profile_rows(
    cluster: BenchCluster, dataset: str, rows: int, name: str = "first",
    env: dict[str, str] | None = None, checkpoints: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Profile ``rows`` rows with one worker; return RSS figures and leave the worker running.

    The peak RSS is taken up to the first poll that counts each of ``checkpoints`` and a tenth
    of the rows (the smallest is the first checkpoint), and up to all rows.
    """
    worker = cluster.worker(name, env)
    watch = Watch(worker, dataset).start()
    worker.wait_ready(timeout=120)
    ready = time.monotonic()
    try:
        done = watch.wait_rows(rows, timeout=1800)
    finally:
        watch.stop()
    peaks = []
    for target in sorted({rows // 10, *checkpoints}):
        moment, counted = watch.first_seen(target)
        peaks.append({"rows": counted, "peak_rss": watch.peak_rss(moment)})
    peak_all = watch.peak_rss(done)
    return {
        "rss_at_ready": watch.peak_rss(ready),
        "rows_at_checkpoint": peaks[0]["rows"],
        "peak_rss_checkpoint": peaks[0]["peak_rss"],
        "checkpoints": peaks,
        "peak_rss_all": peak_all,
        "ratio": peak_all / peaks[0]["peak_rss"],
        "seconds_ready_to_all": done - ready,
        "rss_trace": [(round(t - ready, 2), rss) for t, rss in watch.rss],
    }


def restore(cluster: BenchCluster, dataset: str, rows: int) -> dict[str, Any]:
    """Start a worker on an empty data dir; time it to /health and to serving all rows."""
    started = time.monotonic()
    worker = cluster.worker("restored")
    worker.wait_ready(timeout=900)
    healthy = time.monotonic()
    counted = None
    deadline = healthy + 900
    while time.monotonic() < deadline:
        counted = row_count(worker.url, dataset)
        if counted is not None and counted >= rows:
            break
        time.sleep(0.05)
    served = time.monotonic()
    return {"seconds_to_health": healthy - started, "seconds_to_profile": served - started,
            "row_count_served": counted}


def markdown(results: dict[str, Any]) -> str:
    """Return the results as two markdown sections, memory and restore."""
    restored, rows = results["restore"], results["rows"]
    records = results["changelog_records"]
    long_run = results["memory_long"]
    runs = [(f"{rows:,}", "default", results["memory"]),
            (f"{rows:,}", f"{SMALL_BATCH} messages", results["memory_small_batches"]),
            (f"{long_run['rows']:,}", "default", long_run)]
    lines = [
        "## Memory: peak RSS of one worker",
        "",
        f"One worker profiling pre-produced rows of the mixed {len(COLUMNS)}-column "
        f"table ({PER_MESSAGE} rows per message, one dataset, seed {SEED}), each run on a fresh "
        "broker; RSS sampled every 0.1 s with psutil, the peak taken up to the first poll of the "
        "profile that counts the rows named. Default batches end at "
        f"{BATCH_DEFAULTS}; the second run takes batches of {SMALL_BATCH} messages, so it "
        "writes its tables ~25x as often. The third goes on to "
        f"{long_run['rows']:,} rows.",
        "",
        f"| rows | batches | ready, before any row | peak up to ~{rows // 10:,} rows | up to "
        f"{rows:,} | up to all rows | {_short(rows)} / {_short(rows // 10)} | all / "
        f"{_short(rows)} | seconds ready to all rows |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_memory_row(label, batches, m, rows) for label, batches, m in runs),
        "",
        "What the memory is (a probe of the default run with `tracemalloc` and RocksDB's own "
        "counters, 2026-12-02): the Python heap peaks at ~125-145 MiB every batch and does not "
        "grow; RocksDB's memtables and caches stay under 15 MiB; the rest is the allocator's "
        "free memory, which it keeps (the peak creeps while the Python heap does not).",
        "",
        "## Restore: a worker on an empty data dir",
        "",
        f"The first worker is stopped; a second with the same app id and an empty data dir "
        f"rebuilds its tables from the changelogs ({sum(records.values()):,} records in "
        f"{len(records)} changelog topics after {rows:,} rows).",
        "",
        "| from process start to | seconds |",
        "|---|---|",
        f"| `/health` 200 (tables recovered, group joined) | {restored['seconds_to_health']:.1f} |",
        f"| profile served with row_count == {rows:,} | {restored['seconds_to_profile']:.1f} |",
        "",
        "| changelog topic | records |",
        "|---|---|",
        *(f"| `{name}` | {count:,} |" for name, count in records.items()),
        "",
    ]
    return "\n".join(lines)


def _short(rows: int) -> str:
    """Return 100k, 1M and the like."""
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows // 1000}k"


def _memory_row(label: str, batches: str, m: dict[str, Any], rows: int) -> str:
    """Return one markdown row of the memory table; ``rows`` is the second checkpoint."""
    def peak_at(count: int) -> int | None:
        return next((c["peak_rss"] for c in m["checkpoints"] if c["rows"] >= count), None)

    first, million, peak_all = m["peak_rss_checkpoint"], peak_at(rows), m["peak_rss_all"]
    million = million if million is not None else peak_all
    return (f"| {label} | {batches} | {m['rss_at_ready'] / MIB:,.0f} MiB | "
            f"{first / MIB:,.0f} MiB ({m['rows_at_checkpoint']:,}) | {million / MIB:,.0f} MiB | "
            f"{peak_all / MIB:,.0f} MiB | **{million / first:.2f}x** | "
            f"{peak_all / million:.2f}x | {m['seconds_ready_to_all']:.1f} |")


def run(out_dir: Path, quick: bool = False) -> str:
    """Run the benchmark, write scale_bench.json into ``out_dir`` and return markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = QUICK_ROWS if quick else ROWS
    dataset = "scale"
    with BenchCluster(out_dir / "work" / "scale") as cluster:
        print(f"memory: producing {rows:,} rows, {PER_MESSAGE} per message", flush=True)
        cluster.produce(dataset, mixed_rows(rows), PER_MESSAGE)
        print("memory: one worker profiles them", flush=True)
        memory = profile_rows(cluster, dataset, rows)
        print(f"  peak RSS {memory['peak_rss_checkpoint'] / MIB:,.0f} MiB at "
              f"{memory['rows_at_checkpoint']:,} rows, {memory['peak_rss_all'] / MIB:,.0f} MiB "
              f"at {rows:,}", flush=True)
        for worker in cluster.workers:
            worker.stop()
        records = asyncio.run(changelog_records(cluster.settings.bootstrap_servers,
                                                cluster.app_id))
        print("restore: a worker on an empty data dir", flush=True)
        restored = restore(cluster, dataset, rows)
        print(f"  /health after {restored['seconds_to_health']:.1f} s, profile after "
              f"{restored['seconds_to_profile']:.1f} s", flush=True)
    with BenchCluster(out_dir / "work" / "scale-small") as cluster:
        print(f"memory: producing {rows:,} rows again, one worker takes batches of "
              f"{SMALL_BATCH} messages", flush=True)
        cluster.produce(dataset, mixed_rows(rows), PER_MESSAGE)
        small = profile_rows(cluster, dataset, rows, "small",
                             {"ATLAS_BATCH_SIZE": str(SMALL_BATCH)})
        print(f"  peak RSS {small['peak_rss_checkpoint'] / MIB:,.0f} MiB at "
              f"{small['rows_at_checkpoint']:,} rows, {small['peak_rss_all'] / MIB:,.0f} MiB "
              f"at {rows:,}", flush=True)
    long_rows = LONG_ROWS if not quick else 3 * QUICK_ROWS
    with BenchCluster(out_dir / "work" / "scale-long") as cluster:
        print(f"memory: producing {long_rows:,} rows, one worker profiles them", flush=True)
        cluster.produce(dataset, mixed_rows(long_rows), PER_MESSAGE)
        long_run = profile_rows(cluster, dataset, long_rows, "long",
                                checkpoints=(rows // 10, rows))
        long_run["rows"] = long_rows
        print(f"  peak RSS {long_run['peak_rss_checkpoint'] / MIB:,.0f} MiB at "
              f"{long_run['rows_at_checkpoint']:,} rows, "
              f"{long_run['peak_rss_all'] / MIB:,.0f} MiB at {long_rows:,}", flush=True)
    results = {"rows": rows, "rows_per_message": PER_MESSAGE, "seed": SEED, "quick": quick,
               "memory": memory, "memory_small_batches": small, "memory_long": long_run,
               "changelog_records": records, "restore": restored}
    (out_dir / "scale_bench.json").write_text(json.dumps(results, indent=2))
    return markdown(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer rows, a smoke check")
    print(run(HERE / "out", parser.parse_args().quick))
