"""Rows the group acknowledged but never profiled, and a broker that lost its log: read again.

Apart from test_recovery.py so that the two files run side by side (each takes ~90 s).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from atlas_streams import topics
from atlas_streams.agents.discovery import list_topics
from atlas_streams.broker import EmbeddedBroker
from atlas_streams.topics import dataset_topic

from .conftest import Cluster, assert_exact, rows, wait_rows, wait_until

OUTPUTS = {topics.DEADLETTER, topics.DRIFT, topics.AUDIT, topics.REGISTRY_EVENTS}


def test_restarted_broker_never_hides_new_rows(tmp_path: Path) -> None:
    """A worker whose offsets are ahead of a restarted (empty) broker counts the new rows."""
    first = EmbeddedBroker().start()
    cluster = Cluster(first, tmp_path)
    try:
        worker = cluster.worker("w1")
        # A fresh broker: the topics workers only write to are created at start, not at the
        # first send (none is sent to atlas.drift or atlas.registry.events here).
        wait_until(lambda: OUTPUTS <= set(asyncio.run(list_topics(cluster.settings))), 30,
                   "the output topics")
        dataset = cluster.dataset("reset")
        cluster.produce(dataset, rows(0, 3000))
        wait_rows(worker, dataset, 3000)
        worker.stop()
    finally:
        cluster.stop()  # a worker left running fails a later test when its Popen is collected
        first.stop()
    second = EmbeddedBroker().start()  # a fresh port: same-port restarts can hit AddrInUse
    try:
        cluster.broker = second
        cluster.settings = cluster.settings.model_copy(update={"broker": second.url})
        again = cluster.worker("w1-again", data_dir=worker.data_dir)
        cluster.produce(dataset, rows(3000, 5000))
        assert_exact(wait_rows(again, dataset, 5000), 5000)
        assert "the broker's log restarted" in again.log_path.read_text()
    finally:
        cluster.stop()
        second.stop()


def commit_to_end(cluster: Cluster, dataset: str) -> None:
    """Commit the worker group's offsets past every message of the dataset topic, as a consumer
    that acknowledged messages without processing them would."""
    topic = dataset_topic(cluster.prefix, dataset)

    async def commit() -> None:
        reader = AIOKafkaConsumer(bootstrap_servers=cluster.settings.bootstrap_servers, group_id=None,
                                  enable_auto_commit=False, auto_offset_reset="earliest")
        await reader.start()
        try:
            tps = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic))]
            reader.assign(tps)
            ends: dict[TopicPartition, int] = {}
            idle = 0
            while idle < 3:  # read to idle: the broker's end offsets can be short
                batch = await reader.getmany(*tps, timeout_ms=200)
                idle = idle + 1 if not batch else 0
                for tp, records in batch.items():
                    ends[tp] = records[-1].offset + 1
        finally:
            await reader.stop()
        group = AIOKafkaConsumer(bootstrap_servers=cluster.settings.bootstrap_servers,
                                 group_id=cluster.app_id, enable_auto_commit=False)
        await group.start()
        try:
            group.assign(list(ends))
            await group.commit(ends)
        finally:
            await group.stop()

    asyncio.run(commit())


def test_rows_acknowledged_but_never_profiled_are_read_from_the_broker(cluster: Cluster) -> None:
    """Offsets committed past the profiled ones (Faust's consumer can acknowledge a message it
    never delivered) leave a hole: a later batch shows it, or, when none comes, the committed
    offset does. Either way the profiler reads the hole from the broker and counts every row."""
    dataset = cluster.dataset("holes")
    worker = cluster.worker("w1")
    cluster.produce(dataset, rows(0, 2000))
    wait_rows(worker, dataset, 2000)
    worker.stop()

    # A hole followed by new rows: the first batch of each partition skips offsets.
    cluster.produce(dataset, rows(2000, 3000))
    commit_to_end(cluster, dataset)
    cluster.produce(dataset, rows(3000, 4000))
    worker = cluster.worker("w1-again", data_dir=worker.data_dir)
    assert_exact(wait_rows(worker, dataset, 4000), 4000)
    assert "from the broker so that no row is lost" in worker.log_path.read_text()
    worker.stop()

    # A hole at the end of each partition: no batch ever shows it.
    cluster.produce(dataset, rows(4000, 5000))
    commit_to_end(cluster, dataset)
    worker = cluster.worker("w1-third", data_dir=worker.data_dir)
    assert_exact(wait_rows(worker, dataset, 5000), 5000)
    assert "were committed but only up to" in worker.log_path.read_text()
