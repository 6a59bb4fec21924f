"""The Faust app: its settings, topics, tables and agents, composed in one place.

``create_app(settings)`` builds a fully wired app; nothing happens at import time. For the
``faust`` command line, ``atlas_streams.app:app`` builds one from ``ATLAS_*`` variables on first
use (``faust -A atlas_streams.app:app worker``); ``atlas-streams worker`` is the usual way.

Faust settings for every broker: short group timeouts (ready in seconds, not 30 s) and
at-least-once processing (counting is made idempotent by offset watermarks, so no Kafka
transactions are needed). Three more apply to the embedded broker alone (``ATLAS_BROKER_KIND``,
detected by default; docs/deployment.md has the measurements): producer batches of one record
(it reports a batch's first offset + 1 as a partition's end, and Faust's changelog recovery
would drop the tail of a changelog), no recovery consistency check (it keeps topics in memory),
and a 20 ms fetch wait (it holds every fetch for the full wait even when records arrive).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import faust

from atlas_streams import topics
from atlas_streams.agents.access import AccessAgentOptions, register_access_agents
from atlas_streams.agents.catalog import register_catalog_agents
from atlas_streams.agents.discovery import DatasetDiscovery
from atlas_streams.agents.profiler import register_profiler
from atlas_streams.agents.registry import register_registry_agent
from atlas_streams.agents.sealing import Opener, Refusals
from atlas_streams.agents.trail import AuditTrail
from atlas_streams.connectors.cluster import BrokerKind, resolve_broker_kind
from atlas_streams.connectors.security import ssl_context
from atlas_streams.faust_compat import apply_workarounds
from atlas_streams.metrics import WorkerMetrics
from atlas_streams.profiling import ProfileOptions
from atlas_streams.runtime import Atlas
from atlas_streams.settings import Settings
from atlas_streams.tables.access import builtin_users, define_access_tables
from atlas_streams.tables.catalog import define_catalog_tables
from atlas_streams.tables.registry import define_registry_tables
from atlas_streams.web.metrics import WorkerCollector
from atlas_streams.web.server import WebView

__all__ = ["create_app"]

log = logging.getLogger(__name__)

MAX_TABLE_VALUE_BYTES = 8 * 1024 * 1024  # a partial profile is one message; keep room
# Messages Faust holds in each stream's queue ahead of the agent (its default is 4,096). The queue
# is counted in messages, so its bytes scale with message size: 4,096 messages of 100-row arrays
# are 120 MB. 256 changed neither Faust's own rate on 1-row messages nor the profiler's on
# 100-row ones, measured side by side; the worker's peak RSS fell by ~10 MiB.
STREAM_BUFFER_MESSAGES = 256
# How long a fetch may wait for records. Kafka answers a fetch as soon as records arrive; the
# embedded broker holds it for the whole wait, so every hop through a topic (a command, its
# reply, a changelog) took 0-1.5 s with Faust's 1,500 ms: 20 ms gave 3-6 ms per hop, measured.
EMBEDDED_FETCH_WAIT_MS = 20
AUDIT_FETCH_WAIT_MS = 500  # the audit reader's fetch wait on Kafka (aiokafka's default)


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Return Faust's form of the Kafka security settings (None for PLAINTEXT)."""
    security = settings.kafka_security
    context = ssl_context(security)
    if security.uses_sasl:
        assert security.sasl_password is not None  # checked by Settings
        return faust.SASLCredentials(
            username=security.sasl_username, password=security.sasl_password.get_secret_value(),
            ssl_context=context, mechanism=security.sasl_mechanism,
        )
    return faust.SSLCredentials(context) if context is not None else None


def _faust_app(settings: Settings, kind: BrokerKind) -> faust.App:
    embedded = kind == "embedded"
    # Faust's own defaults where the embedded broker needs nothing special.
    workarounds: dict[str, Any] = {
        # The embedded broker reports a batch's first offset + 1 as the partition's end, and
        # Faust's changelog recovery reads only to that end: one record a batch keeps it exact.
        "producer_max_batch_size": 1,
        # It keeps topics in memory: after it restarts, a worker's persisted changelog offsets
        # are ahead of the new, empty changelogs and Faust would refuse to start; the local
        # tables are still the truth, and the profiler notices the restarted source log itself
        # (tables/partial.py), warns once and writes its whole state anew.
        "recovery_consistency_check": False,
    } if embedded else {}
    app = faust.App(
        settings.consumer_group,  # Faust's id: the consumer group, changelog topic prefix
        broker=settings.broker,
        broker_credentials=_credentials(settings),
        store="rocksdb://",
        datadir=str(settings.data_dir),
        tabledir=str(settings.table_dir),
        autodiscover=False,
        processing_guarantee="at_least_once",
        producer_max_request_size=MAX_TABLE_VALUE_BYTES,
        consumer_max_fetch_size=MAX_TABLE_VALUE_BYTES,
        stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
        broker_max_poll_records=500,
        # Short timeouts make a group join take seconds, not ~30 s. The session timeout
        # (ATLAS_SESSION_TIMEOUT, 10 s) is not 3 s: aiokafka sends no heartbeat while Faust
        # handles an assignment, which took 4 s on a loaded 2-core machine; the member was
        # evicted and kept working as a zombie. Lower it for faster failover on idle machines.
        broker_rebalance_timeout=3,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=0.5,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset=settings.auto_offset_reset,
        web_enabled=True,  # served by our own WebView (app.web_server), not faust.web
        table_standby_replicas=0,
        # Subscribe to this worker's reply topic at start. Created lazily on the first ask(),
        # it changes the subscription mid-run: the group rebalances and the reply can be lost.
        reply_create_topic=True,
        **workarounds,
    )
    # Read by faust_compat (Faust hard-codes 1,500 ms when it creates its consumer).
    app.atlas_fetch_max_wait_ms = EMBEDDED_FETCH_WAIT_MS if embedded else None
    return app


def _internal_topic(app: faust.App, settings: Settings, name: str) -> faust.TopicT:
    # One partition: its single consumer is the one writer of the tables it feeds.
    return app.topic(
        topics.internal(settings.app_id, name), partitions=1, internal=True,
        value_serializer="raw",
    )


def _declare_at_start(app: faust.App, outputs: Sequence[faust.TopicT]) -> None:
    """Create the topics workers only write to when a worker starts, not at their first send.

    Faust declares only the topics it reads. A first send to a missing topic asks the broker's
    metadata for it, and a broker that creates topics then (the embedded one does) once never
    answered: a stack dump showed the producer's metadata request, naming atlas.deadletter,
    pending on its 20-minute timeout, and the worker never committed (each commit flushes the
    producer first). Stalls like it (no commit; a table recovery that never began: it flushes
    the producer too) came right after a worker's first dead letter or drift event. A cluster
    that does not create topics on demand would refuse those sends. A failure here is logged:
    sends still try, as before.
    """

    @app.task
    async def declare_outputs() -> None:
        for topic in outputs:
            try:
                await topic.maybe_declare()
            except Exception as exc:  # noqa: BLE001 (no permission to create, broker away: go on)
                log.warning("could not create topic %s at start (%r); it is created by the "
                            "broker at the first send, if the broker does that",
                            topic.get_topic_name(), exc)


def create_app(settings: Settings, broker_kind: BrokerKind | None = None) -> Atlas:
    """Build the app with every topic, table and agent registered.

    ``broker_kind`` defaults to ``settings.broker_kind``, asking the brokers when it is "auto".
    """
    apply_workarounds()
    kind = broker_kind or resolve_broker_kind(
        settings.broker_kind, settings.bootstrap_servers, settings.kafka_security
    )
    app = _faust_app(settings, kind)
    options = ProfileOptions(flatten_depth=settings.flatten_depth)
    catalog = define_catalog_tables(app)
    datasets = app.topic(value_type=bytes, value_serializer="raw", key_serializer="raw")
    deadletter = app.topic(topics.DEADLETTER, value_serializer="raw")
    view_topic = app.topic(
        topics.internal(settings.app_id, topics.PROFILE_VIEW), partitions=1, internal=True,
        key_type=str, value_serializer="raw",
    )
    commands = app.topic(
        topics.internal(settings.app_id, topics.CATALOG_COMMANDS), partitions=1, internal=True,
        value_serializer="raw",
    )
    metrics = WorkerMetrics()
    register_profiler(app, datasets, catalog, deadletter, view_topic, settings, options, metrics)
    secrets = settings.secrets()
    trail = AuditTrail(settings, secrets, app.atlas_fetch_max_wait_ms or AUDIT_FETCH_WAIT_MS)
    refusals = Refusals(trail, deadletter)
    opener = Opener(secrets.signing, refusals)
    drift_topic = app.topic(topics.DRIFT, value_serializer="raw")
    snapshot_agent = register_catalog_agents(
        app, view_topic, commands, catalog, opener, drift_topic
    )
    discovery = DatasetDiscovery(app, datasets, settings)
    discovery.install()
    access = define_access_tables(app, secrets.signing, refusals.record)
    user_commands = _internal_topic(app, settings, topics.USER_COMMANDS)
    decisions = _internal_topic(app, settings, topics.AUDIT_DECISIONS)
    audit_topic = app.topic(topics.AUDIT, value_serializer="raw", key_serializer="raw")
    user_agent = register_access_agents(
        app, user_commands, decisions, audit_topic, access, AccessAgentOptions(
            chain_id=settings.app_id, opener=opener, audit=secrets.audit,
            builtins=lambda: builtin_users(settings, secrets),
            last_read=lambda: trail.index.check.head(),  # with its origins: see ChainCheck
        ),
    )
    registry = define_registry_tables(app)
    registry_events = app.topic(topics.REGISTRY_EVENTS, value_serializer="raw",
                                key_serializer="raw")
    registry_agent = register_registry_agent(
        app, _internal_topic(app, settings, topics.REGISTRY_COMMANDS), registry_events,
        registry, run_exists=lambda run_id: run_id in catalog.snapshots, opener=opener,
    )
    _declare_at_start(app, (deadletter, drift_topic, audit_topic, registry_events))
    atlas = Atlas(
        app=app, settings=settings, options=options, catalog=catalog, discovery=discovery,
        snapshot_agent=snapshot_agent, access=access, user_agent=user_agent, secrets=secrets,
        trail=trail, registry=registry, registry_agent=registry_agent,
        metrics=metrics,
    )
    metrics.registry.register(WorkerCollector(atlas))
    app.web_server(WebView(atlas))
    return atlas


def __getattr__(name: str) -> Any:
    """Build ``app`` for the ``faust`` command line from ``ATLAS_*`` variables, on first use."""
    if name == "app":
        from atlas_streams.settings import load_settings

        atlas = create_app(load_settings())
        globals()["app"] = atlas.app
        return atlas.app
    raise AttributeError(name)
