"""Find dataset topics on the broker and add them to the profiler's subscription.

Partitions added to a subscribed topic need nothing from here: the consumer sees the new count
in its metadata and the group rebalances.

Faust cannot subscribe by pattern (its aiokafka driver says so), so a dataset created after the
worker started is found here: every ``discovery_interval`` seconds the broker's topic list is
read and new ``<prefix><name>`` topics are added to the profiler's channel, which makes Faust
resubscribe (one quick rebalance).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import faust
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from atlas_streams.connectors.security import client_options
from atlas_streams.settings import Settings

__all__ = ["DatasetDiscovery", "list_topics"]

log = logging.getLogger(__name__)

RESUBSCRIBE_DELAY = 1.0  # s; Faust waits 45 s to gather subscription changes by default


async def list_topics(settings: Settings) -> dict[str, int]:
    """Return every topic on the broker with its partition count."""
    client = AIOKafkaClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="atlas-discovery",
        **client_options(settings.kafka_security),
    )
    try:
        await client.bootstrap()
        metadata = await client.fetch_all_metadata()
        return {t: len(metadata.partitions_for_topic(t) or ()) for t in metadata.topics()}
    finally:
        await client.close()


class DatasetDiscovery:
    """Keep the profiler channel subscribed to every dataset topic with the right partitions."""

    def __init__(self, app: faust.App, channel: faust.TopicT, settings: Settings) -> None:
        self.app = app
        self.channel = channel
        self.settings = settings
        self.partitions: dict[str, int] = {}  # dataset topic -> partitions, as last listed
        self._grown = False  # a subscribed topic gained partitions: resubscribe

    def datasets(self) -> list[str]:
        """Return the datasets the profiler is subscribed to."""
        of = self.settings.dataset_of_topic
        return sorted(d for t in self.channel.topics if (d := of(t)))

    def topic_of(self, dataset: str) -> str | None:
        """Return the subscribed topic that carries ``dataset``, or None."""
        of = self.settings.dataset_of_topic
        return next((t for t in self.channel.topics if of(t) == dataset), None)

    def _subscribed_channels(self) -> list[faust.TopicT]:
        # Agents iterate over clones of their topic; the clones are what the conductor
        # subscribes. The profiler's clones are the topics naming only dataset topics.
        of = self.settings.dataset_of_topic
        return [
            channel for channel in list(self.app.topics)
            if isinstance(channel, faust.Topic) and channel.pattern is None
            and all(of(t) for t in channel.topics)
        ]

    def accept(self, topics: Mapping[str, int]) -> list[str]:
        """Add new dataset topics from ``topics`` (name -> partitions); return the names added.

        Any partition count is profiled: the profile state is not co-partitioned with the
        dataset topics (``tables/catalog.py``).
        """
        current = set(self.channel.topics)
        added, grown = [], []
        for topic, partitions in sorted(topics.items()):
            if self.settings.dataset_of_topic(topic) is None or not partitions:
                continue
            before = self.partitions.get(topic)
            self.partitions[topic] = partitions
            if topic not in current:
                added.append(topic)
            elif before is not None and partitions != before:
                grown.append(topic)
        if added:
            self.channel.topics = sorted(current | set(added))
            log.info("profiling new dataset topics: %s", ", ".join(added))
        if grown:
            # The consumer would see the new partitions only at its next metadata refresh (5
            # min in Faust); a resubscription makes the group rebalance onto them now.
            log.info("dataset topics with new partitions: %s", ", ".join(
                f"{t} ({self.partitions[t]})" for t in grown))
            self._grown = True
        self._sync_subscription()
        return added

    def _sync_subscription(self) -> None:
        """Make the conductor route every dataset topic to the profiler, until it does.

        After a topic gained partitions it resubscribes even when the routing is right.
        """
        force = self._grown and not self.app.rebalancing
        self._grown = self._grown and not force
        names = list(self.channel.topics)
        for channel in self._subscribed_channels():
            if channel.topics != names:
                channel.topics = names
            # The conductor drops a change flagged while the group is rebalancing, so check
            # its routing index on every tick (private: Faust has no public way to ask).
            if force or not self.app.rebalancing and (
                self.app.topics._topic_contain_unsubscribed_topics(channel)  # noqa: SLF001
            ):
                self.app.topics.discard(channel)  # discard + add flags a resubscription
                self.app.topics.add(channel)

    async def refresh(self) -> list[str]:
        """Read the broker's topics once and subscribe to new dataset topics."""
        try:
            return self.accept(await list_topics(self.settings))
        except (KafkaError, OSError) as exc:
            log.warning("could not list topics for dataset discovery: %s", exc)
            return []

    def install(self) -> None:
        """Run :meth:`refresh` on a timer while the worker runs."""
        # Private in Faust: how long the conductor gathers subscription changes.
        self.app.topics._resubscribe_sleep_lock_seconds = RESUBSCRIBE_DELAY  # noqa: SLF001
        self.app.timer(self.settings.discovery_interval, name="atlas-dataset-discovery")(
            self.refresh
        )
