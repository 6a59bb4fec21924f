"""Benchmark drift and windows: speed of ``compare``, its accuracy, window state and bookkeeping.

Run standalone with ``python -m bench.drift_bench`` (writes ``bench/out/drift_bench.json``), or
from bench/run.py (section ``drift``), which takes the markdown section ``run`` returns. Fixed
seeds; pure code only (no Kafka, no Faust), so the figures are the domain's own cost.

- **Speed**: ``compare`` of two 20-column profiles (the mixed table of bench/table.py, and an
  all-numeric one), median of RUNS calls, at the profile's and the windows' sketch sizes.
- **Accuracy**: every metric against the exact figure numpy and scipy compute from the same rows
  over the same bins (tests/unit/drift/exact.py), with a known shift in half the columns.
- **Window state**: bytes of one closed 20-column window (four partitions merged) per sketch
  size, and what a dataset's 720 windows (30 d of 1 h, the defaults) come to.
- **Bookkeeping**: ``assign_rows`` (event time, window, lateness) against the profile update it
  adds to, per event-time source.
- **Profiler step**: the profiler's whole step (``tables.step.profile_messages``: plan, decode,
  profile, and with windows also window) on JSON messages of the mixed table, with and without
  windowing, per batch size (``python -m bench.drift_bench --step`` runs this part alone).
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from atlas_streams.drift import compare
from atlas_streams.drift.categorical import buckets
from atlas_streams.drift.inputs import column_input
from atlas_streams.drift.numeric import bin_edges
from atlas_streams.profiling import DatasetProfile, ProfileOptions
from atlas_streams.tables.step import profile_messages
from atlas_streams.windowing import (
    WINDOW_PROFILE_OPTIONS,
    DatasetClock,
    PartitionWindows,
    WindowBatch,
    WindowingConfig,
    absorb,
    apply_batch,
)
from atlas_streams.windowing.partition import assign_rows
from bench.table import mixed_rows
from tests.unit.drift.exact import categorical_truth, numeric_truth

__all__ = ["run"]

HERE = pathlib.Path(__file__).resolve().parent
ROWS = 100_000
RUNS = 50
BATCH = 2_000
WINDOWS = 720  # 30 d of 1 h windows: the default retention and size
OPTIONS = {
    "profile (k=1024)": ProfileOptions(),
    "k=400": ProfileOptions(kll_k=400),
    "k=200": ProfileOptions(kll_k=200),
    "windows (default)": WINDOW_PROFILE_OPTIONS,
}
METRICS = ("psi", "js", "hellinger", "ks", "wasserstein", "linf", "chi2")


def shifted(row: dict[str, Any], index: int) -> dict[str, Any]:
    """Return a row of the current side: half the columns moved by a known amount."""
    row = dict(row)
    row["price"] = round(row["price"] * 1.15, 2)
    row["score"] = row["score"] + 0.25
    row["age"] = None if row["age"] is None else row["age"] + 3
    row["lat"] = row["lat"] + 5.0
    row["quantity"] = row["quantity"] + (index % 4 == 0)
    if row["status"] == "new" and index % 3 == 0:
        row["status"] = "returned"
    if row["device"] == "web" and index % 5 == 0:
        row["device"] = "ios"
    row["is_member"] = row["is_member"] or index % 10 == 0
    return row


def profiled(rows: list[dict[str, Any]], options: ProfileOptions) -> DatasetProfile:
    """Return the profile of the rows, updated in batches as the profiler does."""
    profile = DatasetProfile.zero(options)
    for start in range(0, len(rows), BATCH):
        profile.update(rows[start : start + BATCH], 0.0)
    return profile


def _median_ms(call: Callable[[], object]) -> float:
    """Return the median process CPU time of ``call`` over RUNS calls, in milliseconds."""
    times = []
    for _ in range(RUNS):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def speed(reference: list[dict[str, Any]], current: list[dict[str, Any]]) -> dict[str, Any]:
    """Return compare's median milliseconds per table and sketch size."""
    numeric = [{f"n{i}": v for i, v in enumerate(_numbers(row))} for row in reference]
    numeric_current = [{f"n{i}": v for i, v in enumerate(_numbers(row))} for row in current]
    tables = {"mixed (10 numeric, 10 other)": (reference, current),
              "all numeric (20)": (numeric, numeric_current)}
    results: dict[str, Any] = {}
    for table, (ref_rows, cur_rows) in tables.items():
        for name in ("profile (k=1024)", "windows (default)"):
            ref, cur = profiled(ref_rows, OPTIONS[name]), profiled(cur_rows, OPTIONS[name])
            assert len(ref.columns) == 20
            results[f"{table} | {name}"] = _median_ms(lambda r=ref, c=cur: compare(r, c))
    return results


def _numbers(row: dict[str, Any]) -> list[float | None]:
    """Return 20 numbers of a mixed row: its 10 numeric columns and 10 derived ones."""
    base = [row[n] for n in ("order_id", "user_id", "age", "price", "quantity", "discount",
                             "score", "lat", "lon", "ts")]
    return base + [None if v is None else float(v) * 0.5 + 1.0 for v in base]


def _token(value: Any) -> str:
    """Return the profile's token of a string or boolean value (profiling.canonical)."""
    if isinstance(value, bool):
        return "btrue" if value else "bfalse"
    return "s" + str(value)[:32]


def accuracy(reference: list[dict[str, Any]], current: list[dict[str, Any]],
             options: ProfileOptions) -> dict[str, Any]:
    """Return each metric's widest interval, largest error and whether all hold the truth."""
    ref, cur = profiled(reference, options), profiled(current, options)
    report = compare(ref, cur)
    widths: dict[str, list[float]] = {m: [] for m in METRICS}
    errors: dict[str, list[float]] = {m: [] for m in METRICS}
    inside = True
    for name, column in report.columns.items():
        ref_values = [row[name] for row in reference if row.get(name) is not None]
        cur_values = [row[name] for row in current if row.get(name) is not None]
        if column.type == "numeric":
            edges = bin_edges(column_input(ref.columns[name]).numbers())
            exact = numeric_truth(np.array(ref_values, float), np.array(cur_values, float), edges)
        else:
            tokens = buckets(column_input(ref.columns[name]).tokens(),
                             column_input(cur.columns[name]).tokens())
            exact = categorical_truth([_token(v) for v in ref_values],
                                      [_token(v) for v in cur_values], tokens)
        for metric, truth in exact.items():
            estimate = column.metrics[metric]
            if estimate is None:
                continue
            widths[metric].append(estimate.upper - estimate.lower)
            errors[metric].append(abs(estimate.value - truth))
            inside &= estimate.lower - 1e-9 <= truth <= estimate.upper + 1e-9
    return {
        "rank_error": _rank_errors(ref),
        "max_width": {m: max(w) for m, w in widths.items() if w},
        "median_width": {m: statistics.median(w) for m, w in widths.items() if w},
        "max_error": {m: max(e) for m, e in errors.items() if e},
        "all_inside": inside,
        "drifted": report.drifted_columns,
    }


def _rank_errors(profile: DatasetProfile) -> tuple[float, float]:
    sketches = [column_input(c).numbers() for c in profile.columns.values() if c.kind == "numeric"]
    return max(s.rank_error for s in sketches), max(s.mass_error for s in sketches)


def window_state(rows: list[dict[str, Any]], options: ProfileOptions) -> dict[str, Any]:
    """Return the bytes of one closed window of ``rows`` written by four partitions."""
    config = WindowingConfig()
    start = 1_714_557_600_000
    stamps = [start + i * (config.size // len(rows)) for i in range(len(rows))]
    clock, windows = DatasetClock(), {}
    partitions = []
    for p in range(4):
        mine = list(range(p, len(rows), 4))
        state = PartitionWindows()
        for first in range(0, len(mine), BATCH):
            chunk = mine[first : first + BATCH]
            batch = WindowBatch([rows[i] for i in chunk], chunk, [stamps[i] for i in chunk],
                                chunk[-1], stamps[chunk[-1]])
            state = apply_batch(state, batch, config, options).state
        partitions.append(state)
    closing = [start + config.size + config.grace]  # each partition then passes end + grace
    for p, state in enumerate(partitions):
        late = WindowBatch([{}], [10**9], closing, 10**9, closing[0])
        state = apply_batch(state, late, config, options).state
        step = absorb(clock, windows, p, state, config, options, 0)
        clock, windows = step.clock, {**windows, **step.windows}
    window = windows[start]
    assert window.closed and not window.pending and window.row_count == len(rows)
    size = len(window.to_bytes())
    return {"rows": len(rows), "window_bytes": size,
            "open_partition_bytes": max(len(s.to_bytes()) for s in partitions),
            "dataset_mb": size * WINDOWS / 1e6}


def bookkeeping(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return rows/s of assign_rows per event-time source, and of the profile update."""
    base = 1_714_557_600_000
    timed = [dict(row, at=datetime.fromtimestamp(row["ts"], UTC).isoformat()) for row in rows]
    stamps = [base + i * 10 for i in range(len(rows))]
    sources = {"message timestamp": None, "epoch seconds column": "ts", "ISO-8601 column": "at"}
    batches = [WindowBatch(timed[s : s + BATCH], list(range(s, min(s + BATCH, len(rows)))),
                           stamps[s : s + BATCH], min(s + BATCH, len(rows)) - 1,
                           stamps[min(s + BATCH, len(rows)) - 1])
               for s in range(0, len(rows), BATCH)]
    rates = {}
    for name, column in sources.items():
        config = WindowingConfig(event_time=column)
        start = time.process_time()
        for batch in batches:
            assign_rows(PartitionWindows(), batch, config)
        rates[name] = len(rows) / (time.process_time() - start)
    start = time.process_time()
    profiled(timed, ProfileOptions())
    profile_rate = len(rows) / (time.process_time() - start)
    state, config = PartitionWindows(), WindowingConfig(event_time="ts")
    start = time.process_time()
    for batch in batches:
        state = apply_batch(state, batch, config, WINDOW_PROFILE_OPTIONS).state
    window_rate = len(rows) / (time.process_time() - start)
    return {"assign_rows_per_s": rates, "profile_rows_per_s": profile_rate,
            "apply_batch_rows_per_s": window_rate}


STEP_ROWS = 20_000
STEP_BATCHES = (100, 500)  # the profiler fetches up to 500 messages a partition at a time


class _Message:
    __slots__ = ("offset", "timestamp", "value")

    def __init__(self, offset: int, timestamp: float, value: bytes) -> None:
        self.offset, self.timestamp, self.value = offset, timestamp, value


def profiler_step(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return rows/s of the profiler's step with and without windows, per batch size."""
    base = 1_714_557_600.0
    messages = [_Message(i, base + i / 100, orjson.dumps(dict(row, at=base + i / 100)))
                for i, row in enumerate(rows[:STEP_ROWS])]
    configs = {"without windows": None, "message timestamp": WindowingConfig(),
               "epoch seconds column": WindowingConfig(event_time="at")}
    rates: dict[str, dict[str, float]] = {}
    for size in STEP_BATCHES:
        for name, config in configs.items():
            best = 0.0
            for _ in range(2):  # the better of two runs: the machine is shared
                state = None
                start = time.process_time()
                for first in range(0, len(messages), size):
                    step = profile_messages(None, messages[first : first + size],
                                            options=ProfileOptions(), max_message_bytes=1 << 20,
                                            decoded=state, encode=False, windowing=config)
                    state = step.state
                best = max(best, len(messages) / (time.process_time() - start))
            rates.setdefault(str(size), {})[name] = best
    return {"rows": len(messages), "rows_per_s": rates}


def no_drift_bounds(reference: list[dict[str, Any]], same_law: list[dict[str, Any]],
                    options: ProfileOptions) -> dict[str, float]:
    """Return each metric's largest upper bound over the columns of two samples of one law."""
    report = compare(profiled(reference, options), profiled(same_law, options))
    uppers: dict[str, float] = {}
    for column in report.columns.values():
        for metric, estimate in column.metrics.items():
            if metric in METRICS and estimate is not None:
                uppers[metric] = max(uppers.get(metric, 0.0), estimate.upper)
    return uppers


def measure() -> dict[str, Any]:
    """Run every part and return the results."""
    reference = list(mixed_rows(ROWS, seed=11))
    current = [shifted(row, i) for i, row in enumerate(mixed_rows(ROWS, seed=12))]
    same_law = list(mixed_rows(ROWS, seed=12))
    numeric = [{f"n{i}": v for i, v in enumerate(_numbers(row))} for row in reference]
    return {
        "rows": ROWS,
        "speed_ms": speed(reference, current),
        "accuracy": {name: accuracy(reference, current, options)
                     for name, options in OPTIONS.items()},
        "no_drift_upper": {name: no_drift_bounds(reference, same_law, options)
                           for name, options in OPTIONS.items()},
        "window_state": {name: window_state(reference, options)
                         for name, options in OPTIONS.items()},
        "window_state_numeric": window_state(numeric, WINDOW_PROFILE_OPTIONS),
        "window_state_1m_rows": window_state(list(mixed_rows(1_000_000, seed=13)),
                                             WINDOW_PROFILE_OPTIONS),
        "bookkeeping": bookkeeping(reference),
        "profiler_step": profiler_step(reference),
    }


def markdown(results: dict[str, Any]) -> str:
    """Return the results as a markdown section."""
    return "\n".join(["## Drift and windows (pure code)", "", *_speed_lines(results),
                      *_accuracy_lines(results), *_state_lines(results),
                      *_bookkeeping_lines(results), *step_lines(results["profiler_step"])])


def step_lines(step: dict[str, Any]) -> list[str]:
    """Return the profiler step's figures as markdown lines."""
    lines = [f"The profiler's whole step (`profile_messages`: plan, decode, profile, window) on "
             f"{step['rows']:,} one-row JSON messages of the mixed table (20 columns and the "
             "event time), deferred encoding as in the profiler, process CPU time, the better of "
             "two runs; target: windows cost < 10% of the rows/s:", "",
             "| batch | event time | rows/s | vs without windows |", "|---|---|---|---|"]
    for size, rates in step["rows_per_s"].items():
        plain = rates["without windows"]
        for name, rate in rates.items():
            change = "" if name == "without windows" else f"{rate / plain - 1:+.0%}"
            lines.append(f"| {size} | {name} | {rate:,.0f} | {change} |")
    return lines + [""]


def _speed_lines(results: dict[str, Any]) -> list[str]:
    lines = [f"`compare` of two 20-column profiles ({results['rows']:,} rows each, the mixed table "
             f"of bench/table.py, the current with known shifts), median process CPU time of "
             f"{RUNS} calls; target < 10 ms:", "", "| profiles | sketches | ms |", "|---|---|---|"]
    for key, ms in results["speed_ms"].items():
        table, sketches = key.split(" | ")
        lines.append(f"| {table} | {sketches} | {ms:.2f} |")
    return lines


def _accuracy_lines(results: dict[str, Any]) -> list[str]:
    lines = ["", "Accuracy against the exact figures (numpy/scipy on the same rows, same bins), "
             "over every column: each metric's interval width (median / widest) and its largest "
             "error, and whether every interval held the exact value. Rank errors are KLL's "
             "stated normalized errors (99% confidence), single-sided / for bin masses.", "",
             "| sketches | rank error | " + " | ".join(f"{m}: width median / widest / error"
                                                      for m in METRICS)
             + " | all inside |", "|---" * (len(METRICS) + 3) + "|"]
    for name, acc in results["accuracy"].items():
        cells = [f"{acc['median_width'].get(m, 0):.3f} / {acc['max_width'].get(m, 0):.3f} / "
                 f"{acc['max_error'].get(m, 0):.4f}" for m in METRICS]
        single, mass = acc["rank_error"]
        lines.append(f"| {name} | {single:.2%} / {mass:.2%} | " + " | ".join(cells)
                     + f" | {'yes' if acc['all_inside'] else '**no**'} |")
    lines += ["", "Can the sketches certify *no* drift? Two samples of one law: each metric's "
              "largest upper bound over the columns, against its default threshold.", "",
              "| sketches | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for name, uppers in results["no_drift_upper"].items():
        lines.append(f"| {name} | " + " | ".join(f"{uppers.get(m, 0):.3f}" for m in METRICS)
                     + " |")
    return lines


def _state_lines(results: dict[str, Any]) -> list[str]:
    lines = ["", f"Window state: one closed 20-column window ({results['rows']:,} rows written "
             f"by 4 partitions, merged into one profile), and a dataset's {WINDOWS} windows (30 d "
             "of 1 h, the defaults; budget 200 MB of table state and changelog):", "",
             "| sketches | bytes a window | largest open partition state | 720 windows |",
             "|---|---|---|---|"]
    for name, state in results["window_state"].items():
        lines.append(f"| {name} | {state['window_bytes']:,} | {state['open_partition_bytes']:,} "
                     f"| {state['dataset_mb']:.0f} MB |")
    big, numeric = results["window_state_1m_rows"], results["window_state_numeric"]
    return lines + [
        "", f"With {big['rows']:,} rows in the window, the windows' default sketches take "
        f"{big['window_bytes']:,} bytes ({big['dataset_mb']:.0f} MB for 720 windows); a "
        f"20-column all-numeric window of {numeric['rows']:,} rows (the worst case: KLL "
        f"dominates) {numeric['window_bytes']:,} bytes ({numeric['dataset_mb']:.0f} MB).", ""]


def _bookkeeping_lines(results: dict[str, Any]) -> list[str]:
    book = results["bookkeeping"]
    profile = book["profile_rows_per_s"]
    lines = [f"Bookkeeping (`assign_rows`: event time, window, lateness, expiry) against the "
             f"profile update of the same {BATCH:,}-row batches ({profile:,.0f} rows/s, process "
             "CPU time); target < 10% of the profiler's time:", "",
             "| event time | bookkeeping rows/s | % of the profile update's time |", "|---|---|---|"]
    for name, rate in book["assign_rows_per_s"].items():
        lines.append(f"| {name} | {rate:,.0f} | {profile / rate:.1%} |")
    return lines + ["", f"`apply_batch` whole (bookkeeping and the windows' own profile update): "
                        f"{book['apply_batch_rows_per_s']:,.0f} rows/s.", ""]


def run(out_dir: pathlib.Path) -> str:
    """Run the benchmark, write drift_bench.json into ``out_dir`` and return markdown."""
    results = measure()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "drift_bench.json").write_text(json.dumps(results, indent=2))
    return markdown(results)


if __name__ == "__main__":
    if "--step" in sys.argv:
        print("\n".join(step_lines(profiler_step(list(mixed_rows(STEP_ROWS, seed=11))))))
    else:
        print(run(HERE / "out"))
    sys.exit(0)
