"""Tell the embedded broker from a Kafka cluster, so its workarounds apply to it alone.

The embedded broker (Tansu 0.6.0) answers a Metadata request with the cluster id
``tansu_cluster``; Apache Kafka and its compatible servers answer with their own ids. Three of
the worker's Faust settings exist only for the embedded broker (see ``app.py`` and
docs/deployment.md): a real cluster gets Faust's defaults.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Sequence
from typing import Literal

from aiokafka import AIOKafkaClient
from aiokafka.protocol.metadata import MetadataRequest

from atlas_streams.connectors.config import KafkaSecurity
from atlas_streams.connectors.security import client_options

__all__ = ["EMBEDDED_CLUSTER_IDS", "BrokerKind", "detect_broker_kind", "resolve_broker_kind"]

BrokerKind = Literal["embedded", "kafka"]
EMBEDDED_CLUSTER_IDS = frozenset({"tansu_cluster"})


async def detect_broker_kind(
    servers: Sequence[str], security: KafkaSecurity, timeout: float = 10.0
) -> BrokerKind:
    """Return "embedded" when the brokers are the embedded Tansu broker, else "kafka"."""
    client = AIOKafkaClient(
        bootstrap_servers=list(servers), client_id="atlas-broker-kind", **client_options(security)
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        node = next(iter(client.cluster.brokers())).nodeId
        response = await asyncio.wait_for(client.send(node, MetadataRequest([])), timeout)
    finally:
        await client.close()
    cluster_id = getattr(response, "cluster_id", None)
    return "embedded" if cluster_id in EMBEDDED_CLUSTER_IDS else "kafka"


def resolve_broker_kind(
    setting: str, servers: Sequence[str], security: KafkaSecurity
) -> BrokerKind:
    """Return the broker kind a setting names; ask the brokers when it is "auto".

    Runs in its own thread and event loop, so it works whether or not a loop is running (the
    ``faust`` command line builds the app inside one). A broker that cannot be asked counts as
    embedded: its workarounds are safe on any broker, they only cost throughput.
    """
    if setting in ("embedded", "kafka"):
        return setting  # type: ignore[return-value]  # narrowed by the check
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(asyncio.run, detect_broker_kind(servers, security))
        try:
            return future.result()
        except Exception:  # noqa: BLE001 (any failure means "we cannot tell")
            return "embedded"
