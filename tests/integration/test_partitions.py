"""Dataset topics of any partition count, side by side in one app, each row counted once.

The workers run with the default ``ATLAS_TOPIC_PARTITIONS`` (4): before, a topic with another
count was logged and not profiled at all, because the profile state was co-partitioned with
the dataset topics. (Adding partitions to a running topic cannot be shown on the embedded
broker: it does not implement Kafka's CreatePartitions request.)
"""

from __future__ import annotations

import asyncio

from atlas_streams.producer import ensure_topic, produce_values
from atlas_streams.topics import dataset_topic
from atlas_streams.wire import encode_rows

from .conftest import Cluster, assert_exact, http, rows, wait_rows

COUNTS = {"one": 1, "three": 3, "six": 6, "sixteen": 16}
ROWS = 1_200


def test_topics_of_several_partition_counts_are_profiled_exactly_side_by_side(
    cluster: Cluster,
) -> None:
    async def create_and_send() -> None:
        for name, partitions in COUNTS.items():
            topic = dataset_topic(cluster.prefix, name)
            await ensure_topic(cluster.settings, topic, partitions)
            await produce_values(cluster.settings, topic, encode_rows(rows(0, ROWS // 2)),
                                 progress=False)

    asyncio.run(create_and_send())
    worker = cluster.worker("p1")
    for name in COUNTS:
        wait_rows(worker, name, ROWS // 2)
    second = cluster.worker("p2")  # a second worker takes some of every topic's partitions
    for name in COUNTS:
        cluster.produce(name, rows(ROWS // 2, ROWS))
    for name in COUNTS:
        for each in (worker, second):
            assert_exact(wait_rows(each, name, ROWS), ROWS)

    status, listing = http("GET", f"{worker.url}/catalog/stored-datasets")
    assert status == 200
    by_name = {d["dataset_id"]: d for d in listing["datasets"]}
    for name, partitions in COUNTS.items():
        entry = by_name[name]
        assert (entry["partitions"], entry["state"], entry["row_count"]) == (
            partitions, "profiling", ROWS)
