"""Recover access from outside the web view: ``atlas-streams admin create-key`` / ``reset-key``.

The web view refuses to delete, disable or demote the last active admin, but keys can still be
lost (a rotate-key whose response never reached the client, say). Whoever can reach the broker
and holds the workers' secrets (the key pepper and the signing key) can then make a new admin,
or give a user a new key, without any worker's web view: the command is sealed like the web
view's own and applied by the same user agent, and the change is audited as done by this
command. The new key is printed once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from atlas_streams import topics
from atlas_streams.agents.sealing import seal_command
from atlas_streams.agents.trail import decision_purpose
from atlas_streams.connectors.security import client_options
from atlas_streams.rbac import (
    Decision,
    NewUser,
    Role,
    User,
    create_user,
    new_event,
    rotate_key,
    seal,
    unseal,
)
from atlas_streams.settings import Secrets, Settings
from atlas_streams.tables.access import builtin_users

__all__ = ["AdminError", "create_admin_key", "reset_key"]

APPLY_TIMEOUT = 30.0  # s to wait for the user agent to apply the change


class AdminError(RuntimeError):
    """The change could not be made; the message says why and what to do."""


async def create_admin_key(settings: Settings, secrets: Secrets, username: str,
                           email: str) -> tuple[User, str]:
    """Create a new user with the admin role; return it and its key's plaintext."""
    user, plaintext = create_user(NewUser(username=username, email=email, roles=(Role.ADMIN,)),
                                  secrets.pepper, datetime.now(UTC))
    change = {"op": "create", "user_id": user.user_id, "user": user.to_bytes().hex()}
    await _apply(settings, secrets, change, user, "create-key")
    return user, plaintext


async def reset_key(settings: Settings, secrets: Secrets, user_id: str) -> tuple[User, str]:
    """Give ``user_id`` a new key; return the user and the key's plaintext.

    The user's record is read from the users table's changelog; a built-in user with no record
    yet (demo keys, ``ATLAS_ADMIN_KEY``) is found from the settings.
    """
    base = await _read_user(settings, secrets, user_id) or next(
        (u for u in builtin_users(settings, secrets).values() if u.user_id == user_id), None)
    if base is None:
        raise AdminError(f"no user {user_id!r}; list users with GET /rbac/users, or make a new "
                         "admin with `atlas-streams admin create-key`")
    rotated, plaintext = rotate_key(base, secrets.pepper)
    change = {"op": "set_key", "user_id": user_id, "key_id": rotated.key_id,
              "key_hash": rotated.key_hash, "base": base.to_bytes().hex()}
    await _apply(settings, secrets, change, rotated, "reset-key")
    return rotated, plaintext


async def _apply(settings: Settings, secrets: Secrets, change: dict[str, Any], expected: User,
                 action: str) -> None:
    """Send a sealed user change and its audit event; wait until the key maps to the user."""
    keys = TopicPartition(_changelog(settings, "rbac_keys"), 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, **client_options(settings.kafka_security))
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                **client_options(settings.kafka_security))
    await consumer.start()
    await producer.start()
    try:
        consumer.assign([keys])
        await consumer.seek_to_end(keys)
        await consumer.position(keys)
        commands = topics.internal(settings.app_id, topics.USER_COMMANDS)
        await producer.send_and_wait(commands, seal_command(secrets.signing, commands, change))
        await _audit(producer, settings, secrets, action, expected.user_id)
        await _wait_for_key(consumer, keys, secrets, expected)
    finally:
        await producer.stop()
        await consumer.stop()


def _changelog(settings: Settings, table: str) -> str:
    return f"{settings.consumer_group}-{table}-changelog"


def _table_key(raw: bytes | None) -> str | None:
    """Return a changelog record's key as the table sees it (Faust writes str keys as JSON)."""
    try:
        key = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
    return key if isinstance(key, str) else None


async def _audit(producer: AIOKafkaProducer, settings: Settings, secrets: Secrets, action: str,
                 user_id: str) -> None:
    event = {
        **new_event(ts=datetime.now(UTC), method="CLI", path=f"atlas-streams admin {action}",
                    permission="admin:keys", decision=Decision(True, 200, f"admin_cli_{action}"),
                    user_id=user_id),
        "origin": f"cli-{time.time_ns():x}", "origin_seq": 0,
    }
    topic = topics.internal(settings.app_id, topics.AUDIT_DECISIONS)
    sealed = seal(secrets.signing, decision_purpose(settings.app_id), orjson.dumps(event))
    await producer.send_and_wait(topic, sealed)


async def _wait_for_key(consumer: AIOKafkaConsumer, keys: TopicPartition, secrets: Secrets,
                        expected: User) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    purpose = f"table:rbac_keys:{expected.key_id}"
    while time.monotonic() < deadline:
        batch = await consumer.getmany(keys, timeout_ms=500)
        for record in batch.get(keys, []):
            if _table_key(record.key) == expected.key_id and record.value:
                if unseal(secrets.signing, purpose, record.value) == expected.user_id.encode():
                    return
    raise AdminError(
        f"no worker applied the change within {APPLY_TIMEOUT:.0f} s: start a worker (the user "
        "agent applies it), check ATLAS_APP_ID and that the secrets match the workers'"
    )


async def _read_user(settings: Settings, secrets: Secrets, user_id: str) -> User | None:
    """Return the user's latest genuine record from the users table's changelog, if any."""
    tp = TopicPartition(_changelog(settings, "rbac_users"), 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **client_options(settings.kafka_security))
    await consumer.start()
    found: User | None = None
    try:
        if not (await consumer._client.fetch_all_metadata()).partitions_for_topic(tp.topic):  # noqa: SLF001
            return None
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        idle = 0
        while idle < 3:  # the embedded broker's end offsets can be short: read until idle
            batch = await consumer.getmany(tp, timeout_ms=300)
            idle = 0 if batch else idle + 1
            for record in batch.get(tp, []):
                if _table_key(record.key) == user_id and record.value:
                    try:
                        found = User.from_bytes(unseal(
                            secrets.signing, f"table:rbac_users:{user_id}", record.value))
                    except ValueError:
                        continue  # forged or unreadable: not the user's record
    finally:
        await consumer.stop()
    return found
