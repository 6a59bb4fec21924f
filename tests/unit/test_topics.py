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
    # Every topic-name constant of the module, found rather than listed: a new topic cannot
    # slip past this test by being left out of it.
    names = {
        name: value for name, value in vars(topics).items()
        if name.isupper() and isinstance(value, str)
    }

    assert set(names) == {
        "DEADLETTER", "DRIFT", "REGISTRY_EVENTS", "REGISTRY_COMMANDS", "AUDIT", "PROFILE_VIEW",
        "CATALOG_COMMANDS", "USER_COMMANDS", "AUDIT_DECISIONS",
    }
    assert len(set(names.values())) == len(names)
    assert set(names) < set(topics.__all__)
    public = {name for name in vars(topics) if not name.startswith("_")}
    assert set(topics.__all__) <= public
    # The names users consume are fixed: renaming one breaks every reader of the topic.
    assert (topics.REGISTRY_EVENTS, topics.AUDIT, topics.DEADLETTER) == (
        "atlas.registry.events", "atlas.audit", "atlas.deadletter"
    )
