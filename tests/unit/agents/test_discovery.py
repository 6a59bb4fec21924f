"""Dataset discovery: any partition count is profiled; a topic that grows makes the group rebalance."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import faust

from atlas_streams.agents.discovery import DatasetDiscovery
from atlas_streams.settings import Settings


class Conductor:
    """Faust's topic conductor as discovery uses it: a set of channels and a routing check."""

    def __init__(self, *channels: Any) -> None:
        self.channels = list(channels)
        self.resubscribed = 0

    def __iter__(self) -> Any:
        return iter(self.channels)

    def _topic_contain_unsubscribed_topics(self, channel: Any) -> bool:
        return False

    def discard(self, channel: Any) -> None:
        self.resubscribed += 1

    def add(self, channel: Any) -> None:
        pass


def discovery(rebalancing: bool = False) -> tuple[DatasetDiscovery, Conductor]:
    app = faust.App("discovery-test", autodiscover=False)
    channel = app.topic("datasets.orders")
    conductor = Conductor(channel)
    fake_app = SimpleNamespace(topics=conductor, rebalancing=rebalancing)
    return DatasetDiscovery(fake_app, channel, Settings()), conductor  # type: ignore[arg-type]


def test_topics_of_any_partition_count_are_added() -> None:
    found, _ = discovery()

    added = found.accept({"datasets.one": 1, "datasets.six": 6, "datasets.many": 64,
                          "other.topic": 3, "datasets.empty": 0})

    assert added == ["datasets.many", "datasets.one", "datasets.six"]
    assert found.partitions["datasets.six"] == 6
    assert found.topic_of("six") == "datasets.six" and found.topic_of("nope") is None


def test_a_topic_that_gains_partitions_resubscribes_once_after_the_rebalance() -> None:
    found, conductor = discovery()
    found.accept({"datasets.orders": 4})
    assert conductor.resubscribed == 0

    found.app.rebalancing = True  # type: ignore[attr-defined]
    found.accept({"datasets.orders": 8})
    assert conductor.resubscribed == 0  # the conductor drops a change made mid-rebalance

    found.app.rebalancing = False  # type: ignore[attr-defined]
    found.accept({"datasets.orders": 8})
    found.accept({"datasets.orders": 8})
    assert conductor.resubscribed == 1 and found.partitions["datasets.orders"] == 8
