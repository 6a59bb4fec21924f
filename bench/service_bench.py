"""The web view as a service: write latency, read latency through a rebalance, audit reads at 1M.

Three parts, one after another:
1. **Writes** on one idle worker: register a model, add a version, promote it to staging,
   create a user, snapshot a profile, one request at a time; p50 and p99 of each (target p50 <
   50 ms, p99 < 200 ms).
2. **Reads through a rebalance**: ``GET /catalog/datasets/{id}/profile`` at 200 requests/s for
   30 s from a separate process (open loop: a slow answer does not slow the sender), while a new
   dataset topic appears (the group rebalances) and 100,000 rows go to it; p50/p99/max and
   errors (target p99 < 100 ms, no error).
3. **Audit reads at 1,000,000 events**, in process: the worker's audit index (``tables/
   audit_index.py``) holding a chain of 1M decisions; p99 of the access-log queries (target
   < 20 ms) and what re-checking 1,000 new events costs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.cluster import ADMIN_KEY, BenchCluster

__all__ = ["run"]

SEED_ROWS = 1_000
REBALANCE_ROWS = 100_000
RATE = 200  # requests a second
SECONDS = 30.0
WRITES = 60
AUDIT_EVENTS = 1_000_000
QUERIES = 200


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": pick(0.5) * 1000, "p99_ms": pick(0.99) * 1000,
            "max_ms": ordered[-1] * 1000}


# ---- 1. writes ---------------------------------------------------------------------------


async def _writes(url: str) -> dict[str, dict[str, float]]:
    import aiohttp

    timings: dict[str, list[float]] = {"register": [], "add version": [], "promote-staging": [],
                                       "create user": [], "snapshot": []}
    headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for i in range(WRITES):
            name = f"bench-model-{i}"
            steps = [
                ("register", f"{url}/models/register", {"name": name}),
                ("add version", f"{url}/models/{name}/versions",
                 {"version": "1.0.0", "framework": "sklearn"}),
                ("promote-staging", f"{url}/models/{name}/versions/1.0.0/promote-staging", None),
                ("create user", f"{url}/rbac/users",
                 {"username": f"bench-{i}", "email": f"b{i}@example.com", "roles": ["viewer"]}),
                ("snapshot", f"{url}/catalog/datasets/steady/profile", None),
            ]
            for label, target, body in steps:
                started = time.perf_counter()
                async with session.post(target, data=None if body is None else orjson.dumps(body)
                                        ) as response:
                    await response.read()
                    assert response.status in (200, 201), (label, response.status)
                timings[label].append(time.perf_counter() - started)
    return {label: _percentiles(values) for label, values in timings.items()}


# ---- 2. reads through a rebalance --------------------------------------------------------


def _load(url: str, rate: int, seconds: float, results: Any) -> None:
    """Send GETs at ``rate`` a second for ``seconds`` (open loop); put (latencies, errors)."""

    async def main() -> tuple[list[float], list[str]]:
        import aiohttp

        latencies: list[float] = []
        errors: list[str] = []

        async def one(session: aiohttp.ClientSession) -> None:
            started = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        errors.append(str(response.status))
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(type(exc).__name__)
            latencies.append(time.perf_counter() - started)

        timeout = aiohttp.ClientTimeout(total=10)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(headers={"X-API-Key": ADMIN_KEY}, timeout=timeout,
                                         connector=connector) as session:
            tasks = []
            start = time.perf_counter()
            for n in range(int(rate * seconds)):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(one(session)))
            await asyncio.gather(*tasks)
        return latencies, errors

    results.put(asyncio.run(main()))


def _seed(cluster: BenchCluster, url: str) -> None:
    from bench.table import mixed_rows

    cluster.produce("steady", mixed_rows(SEED_ROWS), 1)
    _wait_rows(url, "steady", SEED_ROWS)


def _rebalance(cluster: BenchCluster, url: str) -> dict[str, Any]:
    from bench.table import mixed_rows

    results: Any = multiprocessing.get_context("spawn").Queue()
    sender = multiprocessing.get_context("spawn").Process(
        target=_load, args=(f"{url}/catalog/datasets/steady/profile", RATE, SECONDS, results))
    sender.start()
    time.sleep(2.0)  # a quiet start, then the new topic
    produced_at = time.perf_counter()
    cluster.produce("arriving", mixed_rows(REBALANCE_ROWS), 1)
    produce_seconds = time.perf_counter() - produced_at
    latencies, errors = results.get(timeout=SECONDS + 120)
    sender.join(timeout=30)
    return {**_percentiles(latencies), "errors": len(errors), "error_kinds": sorted(set(errors)),
            "produce_seconds": produce_seconds}


def _wait_rows(url: str, dataset: str, rows: int, timeout: float = 300.0) -> None:
    from bench.cluster import row_count

    deadline = time.monotonic() + timeout
    while (row_count(url, dataset) or 0) < rows:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dataset}: not {rows} rows after {timeout:.0f} s")
        time.sleep(0.2)


# ---- 3. audit reads at 1M ----------------------------------------------------------------


def _audit(tmp: Path) -> dict[str, Any]:
    from atlas_streams.rbac import ChainHead, Decision, Keyring, LogQuery, chain_decisions, new_event
    from atlas_streams.tables.audit_index import AuditIndex

    keyring = Keyring.of(b"bench-audit-key-0123456789")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    head = ChainHead()
    index = AuditIndex(tmp / "audit", keyring, "bench", timedelta(days=3650))
    ingest_seconds = 0.0
    offset = 0
    for chunk in range(0, AUDIT_EVENTS + 1000, 10_000):
        size = min(10_000, AUDIT_EVENTS + 1000 - chunk)
        raw = []
        for i in range(chunk, chunk + size):
            allowed = i % 7 != 0
            raw.append((i, new_event(
                ts=start + timedelta(seconds=i), method="GET", path=f"/models/m{i % 50}",
                permission="models:read", decision=Decision(allowed, 200 if allowed else 403, "r"),
                user_id=f"u-{i % 200}", event_id=f"e{i}")))
        head, events = chain_decisions(head, raw, keyring, "bench")
        values = [(offset + n, orjson.dumps(e)) for n, e in enumerate(events)]
        offset += len(values)
        if chunk == AUDIT_EVENTS:  # the last 1,000: the incremental check
            checked_before = index.check.checked
            began = time.perf_counter()
            index.ingest(0, values)
            incremental = {"events": index.check.checked - checked_before,
                           "seconds": time.perf_counter() - began}
            continue
        began = time.perf_counter()
        index.ingest(0, values)
        ingest_seconds += time.perf_counter() - began
    since = start + timedelta(seconds=AUDIT_EVENTS - 3_600)
    queries = {
        "newest 100": LogQuery(limit=100),
        "user, limit 100": LogQuery(user="u-17", limit=100),
        "denied, limit 100": LogQuery(decision="denied", limit=100),
        "user + denied + since (last hour)": LogQuery(user="u-21", decision="denied", since=since,
                                                      limit=1000),
        "dashboard (newest 50)": LogQuery(limit=50),
    }
    timings: dict[str, Any] = {}
    for label, query in queries.items():
        samples = []
        for _ in range(QUERIES):
            began = time.perf_counter()
            found = index.query(query)
            samples.append(time.perf_counter() - began)
        timings[label] = {**_percentiles(samples), "returned": len(found)}
    index.close()
    return {"events": AUDIT_EVENTS + 1000, "ingest_events_per_s": AUDIT_EVENTS / ingest_seconds,
            "check_ok": index.check.broken is None, "incremental": incremental,
            "queries": timings}


# ---- the section -------------------------------------------------------------------------


def run(out: Path, quick: bool = False) -> str:
    """Run the three parts; write ``service.json`` to ``out``; return the Markdown section."""
    global AUDIT_EVENTS, REBALANCE_ROWS, SECONDS, WRITES
    if quick:
        AUDIT_EVENTS, REBALANCE_ROWS, SECONDS, WRITES = 50_000, 10_000, 8.0, 10
    root = Path(tempfile.mkdtemp(prefix="atlas-bench-service-"))
    try:
        with BenchCluster(root / "cluster") as cluster:
            worker = cluster.worker("w1")
            worker.wait_ready(timeout=120)
            _seed(cluster, worker.url)
            writes = asyncio.run(_writes(worker.url))
            rebalance = _rebalance(cluster, worker.url)
        audit = _audit(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {"writes": writes, "rebalance": rebalance, "audit": audit}
    (out / "service.json").write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return _markdown(result)


def _markdown(result: dict[str, Any]) -> str:
    writes, rebalance, audit = result["writes"], result["rebalance"], result["audit"]
    lines = ["## Service: write latency, reads through a rebalance, audit reads", "",
             f"**Writes** on one idle worker, {WRITES} of each, one at a time "
             "(target p50 < 50 ms, p99 < 200 ms):", "",
             "| request | p50 ms | p99 ms | max ms |", "|---|---|---|---|"]
    lines += [f"| {label} | {w['p50_ms']:.1f} | {w['p99_ms']:.1f} | {w['max_ms']:.1f} |"
              for label, w in writes.items()]
    lines += ["", f"**Reads through a rebalance**: `GET .../profile` at {RATE}/s for {SECONDS:.0f} s "
              f"while a new dataset topic appears and {REBALANCE_ROWS:,} rows go to it (producing "
              f"took {rebalance['produce_seconds']:.1f} s); target p99 < 100 ms, no error:", "",
              "| requests | p50 ms | p99 ms | max ms | errors |", "|---|---|---|---|---|",
              f"| {rebalance['n']:,} | {rebalance['p50_ms']:.1f} | {rebalance['p99_ms']:.1f} | "
              f"{rebalance['max_ms']:.1f} | {rebalance['errors']} {rebalance['error_kinds']} |", "",
              f"**Audit reads** on a worker's audit index holding {audit['events']:,} chained "
              f"events (in process: the handler's cost is the query; ingest "
              f"{audit['ingest_events_per_s']:,.0f} events/s, chain check ok: "
              f"{audit['check_ok']}); target p99 < 20 ms:", "",
              "| query | p50 ms | p99 ms | events returned |", "|---|---|---|---|"]
    lines += [f"| {label} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {q['returned']} |"
              for label, q in audit["queries"].items()]
    inc = audit["incremental"]
    lines += ["", f"Re-checking after 1,000 new events read and checked {inc['events']:,} events "
              f"in {inc['seconds'] * 1000:.0f} ms (the check's state is stored, so it never "
              "re-reads the chain).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/out"),
              quick="--quick" in sys.argv))
