"""Exactly-once counts through crashes, restarts and several workers (holes: see test_recovery_holes)."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cluster, assert_exact, profile_of, rows, wait_rows, wait_until

N = 12_000


def kill_mid_stream(cluster: Cluster, name: str) -> tuple[str, Path]:
    """Kill -9 a worker while it works through the second half of the dataset's rows.

    Waiting for a count between 0 and N before the kill failed when the worker was quick: its
    first merged view (made at most twice a second) already counted every row.
    """
    worker = cluster.worker(name, env={"ATLAS_BATCH_SIZE": "100"})
    dataset = cluster.dataset("crash")
    cluster.produce(dataset, rows(0, N // 2))
    wait_until(lambda: (profile_of(worker, dataset) or {}).get("row_count", 0) > 0,
               what="the first rows profiled")
    cluster.produce(dataset, rows(N // 2, N))
    worker.kill()  # the second half has just reached the broker: most of it is unprocessed
    return dataset, worker.data_dir


def test_sigkill_then_restart_on_same_data_dir_counts_exactly(cluster: Cluster) -> None:
    dataset, data_dir = kill_mid_stream(cluster, "w1")
    again = cluster.worker("w1-again", data_dir=data_dir)
    assert_exact(wait_rows(again, dataset, N), N)


def test_sigkill_then_restart_on_empty_data_dir_rebuilds_from_changelog(
    cluster: Cluster, tmp_path: Path
) -> None:
    dataset, _ = kill_mid_stream(cluster, "w1")
    fresh = cluster.worker("w1-fresh", data_dir=tmp_path / "empty")
    assert_exact(wait_rows(fresh, dataset, N), N)


def test_two_workers_answer_the_same_complete_profile(cluster: Cluster) -> None:
    dataset = cluster.dataset("shared")
    cluster.create_topics(dataset)
    w1 = cluster.worker("w1")
    w2 = cluster.worker("w2")
    cluster.produce(dataset, rows(0, 4000), rows_per_message=10)
    assert_exact(wait_rows(w1, dataset, 4000), 4000)
    assert_exact(wait_rows(w2, dataset, 4000), 4000)
    # Both serve the one merged copy; once it has reached both, the answers are identical.
    wait_until(lambda: profile_of(w1, dataset) == profile_of(w2, dataset), 15,
               "both workers to serve the same profile")
