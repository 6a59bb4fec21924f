"""Names of every topic Atlas Streams reads or writes, in one place."""

from __future__ import annotations

import re

__all__ = [
    "DATASET_NAME",
    "AUDIT",
    "AUDIT_DECISIONS",
    "CATALOG_COMMANDS",
    "DEADLETTER",
    "DRIFT",
    "PROFILE_VIEW",
    "USER_COMMANDS",
    "REGISTRY_COMMANDS",
    "REGISTRY_EVENTS",
    "dataset_of",
    "dataset_topic",
    "internal",
]

DEADLETTER = "atlas.deadletter"  # malformed messages, with reason and source position
DRIFT = "atlas.drift"  # one event per drift breach of a closed (or corrected) window
REGISTRY_EVENTS = "atlas.registry.events"  # one event per accepted model-registry change
AUDIT = "atlas.audit"  # hash-chained access decisions
# Internal topics, named per app id by :func:`internal` (apps sharing a broker stay apart).
PROFILE_VIEW = "profile-view"  # each partial profile after each batch, for every worker's view
CATALOG_COMMANDS = "catalog-commands"  # web view -> catalog agent (profile snapshots)
USER_COMMANDS = "user-commands"  # web view -> user agent (user and key changes, hashes only)
AUDIT_DECISIONS = "audit-decisions"  # raw access decisions, before the chain writer orders them
REGISTRY_COMMANDS = "registry-commands"  # web view -> registry agent, keyed by model


# What a Kafka topic name allows. \Z, not $: "$" also matches before a final newline.
DATASET_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,200}\Z")


def internal(app_id: str, name: str) -> str:
    """Return the name of an internal topic of the app ``app_id``."""
    return f"{app_id}-{name}"


def dataset_topic(prefix: str, dataset: str) -> str:
    """Return the topic that carries the rows of ``dataset``."""
    return f"{prefix}{dataset}"


def dataset_of(prefix: str, topic: str) -> str | None:
    """Return the dataset a topic carries, or None when it is not a dataset topic."""
    if topic.startswith(prefix) and len(topic) > len(prefix):
        return topic[len(prefix) :]
    return None
