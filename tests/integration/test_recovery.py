"""Exactly-once counts through crashes, restarts, lost broker state and several workers."""

from __future__ import annotations

from pathlib import Path

from atlas_streams.broker import EmbeddedBroker

from .conftest import Cluster, assert_exact, profile_of, rows, wait_rows, wait_until

N = 12_000


def kill_mid_stream(cluster: Cluster, name: str) -> tuple[str, Path]:
    worker = cluster.worker(name)
    dataset = cluster.dataset("crash")
    cluster.produce(dataset, rows(0, N))
    wait_until(lambda: 0 < (profile_of(worker, dataset) or {}).get("row_count", 0) < N,
               what="a partly processed dataset")
    worker.kill()
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


def test_restarted_broker_never_hides_new_rows(tmp_path: Path) -> None:
    """A worker whose offsets are ahead of a restarted (empty) broker counts the new rows."""
    first = EmbeddedBroker().start()
    try:
        cluster = Cluster(first, tmp_path)
        worker = cluster.worker("w1")
        dataset = cluster.dataset("reset")
        cluster.produce(dataset, rows(0, 3000))
        wait_rows(worker, dataset, 3000)
        worker.stop()
    finally:
        first.stop()
    second = EmbeddedBroker().start()  # a fresh port: same-port restarts can hit AddrInUse
    try:
        cluster.broker = second
        cluster.settings = cluster.settings.model_copy(update={"broker": second.url})
        again = cluster.worker("w1-again", data_dir=worker.data_dir)
        cluster.produce(dataset, rows(3000, 5000))
        assert_exact(wait_rows(again, dataset, 5000), 5000)
        assert "the broker's log restarted" in again.log_path.read_text()
        cluster.stop()
    finally:
        second.stop()
