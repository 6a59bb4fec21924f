"""Unit tests of topic names."""

from __future__ import annotations

import pytest

from atlas_streams import topics


def test_internal_topics_are_named_per_app() -> None:
    assert topics.internal("atlas-streams", topics.PROFILE_VIEW) == "atlas-streams-profile-view"
    assert topics.internal("a", topics.USER_COMMANDS) != topics.internal("b", topics.USER_COMMANDS)


def test_dataset_topic_and_dataset_of_are_inverse() -> None:
    topic = topics.dataset_topic("datasets.", "orders.v2")

    assert topic == "datasets.orders.v2"
    assert topics.dataset_of("datasets.", topic) == "orders.v2"


@pytest.mark.parametrize("topic", ["datasets.", "other.orders", "datasets", "", "atlas.audit"])
def test_dataset_of_a_topic_that_carries_no_dataset_is_none(topic: str) -> None:
    assert topics.dataset_of("datasets.", topic) is None


@pytest.mark.parametrize("name", ["orders", "a.b-c_d", "X" * 200, "0"])
def test_dataset_names_kafka_allows(name: str) -> None:
    assert topics.DATASET_NAME.match(name)


@pytest.mark.parametrize("name", ["", "a b", "a/b", "é", "X" * 201, "orders\n"])
def test_dataset_names_kafka_refuses(name: str) -> None:
    assert not topics.DATASET_NAME.match(name)


def test_topic_names_are_distinct_and_exported() -> None:
    names = [
        topics.DEADLETTER, topics.REGISTRY_EVENTS, topics.REGISTRY_COMMANDS, topics.AUDIT,
        topics.PROFILE_VIEW, topics.CATALOG_COMMANDS, topics.USER_COMMANDS,
        topics.AUDIT_DECISIONS,
    ]

    assert len(set(names)) == len(names)
    assert all(hasattr(topics, name) for name in topics.__all__)
