"""The ``atlas-streams`` command: broker, worker, produce, demo and admin.

Every option falls back to its ``ATLAS_<NAME>`` environment variable, then to the default in
:mod:`atlas_streams.settings`. Errors end the command with one line on stderr and status 2.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from atlas_streams.logs import logging_config
from atlas_streams.settings import Settings, SettingsError, load_settings
from atlas_streams.sources import FORMATS, SourceError, guess_format

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit with status 2."""
    click.echo(f"atlas-streams: error: {message}", err=True)
    sys.exit(2)


def settings_from(**flags: Any) -> Settings:
    """Return settings from the command's flags over the environment, or fail with one line.

    Pass every settings flag the command has, given or not: the error names only those.
    """
    try:
        return load_settings(**flags)
    except SettingsError as exc:
        fail(str(exc))


def broker_option(func: F) -> F:
    """Add ``--broker``."""
    return click.option("--broker", help="Kafka URL, e.g. kafka://127.0.0.1:9092 [ATLAS_BROKER]")(
        func
    )


def require_broker(settings: Settings, timeout: float = 5.0) -> None:
    """Fail with one line unless some bootstrap server accepts connections, TLS and SASL too."""
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                break
        except OSError:
            continue
    else:
        fail(f"cannot reach the broker at {settings.broker}; start one with `atlas-streams broker`")
    if settings.kafka_security.protocol != "PLAINTEXT":
        # aiokafka reports a refused certificate or password only as "Unable to bootstrap".
        from atlas_streams.connectors.errors import ConnectorError
        from atlas_streams.connectors.security import check_connection

        try:
            asyncio.run(check_connection(settings.bootstrap_servers, settings.kafka_security,
                                         timeout))
        except ConnectorError as exc:
            fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Atlas Streams: column profiles, a model registry and access control on Kafka."""


@main.command()
@click.option("--port", type=int, default=9092, show_default=True, help="port to listen on")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TLS server certificate (PEM); clients then use ATLAS_SECURITY_PROTOCOL=SSL")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="private key (PEM) of --cert")
def broker(port: int, host: str, cert: Path | None, key: Path | None) -> None:
    """Run the embedded Kafka-compatible broker (topics live in memory only)."""
    from atlas_streams.broker import BrokerError, run_forever

    try:
        sys.exit(run_forever(host, port, cert, key))
    except BrokerError as exc:
        fail(str(exc))


@main.command()
@broker_option
@click.option("--web-port", type=int, help="port of the web view [ATLAS_WEB_PORT, 6066]")
@click.option("--web-host", help="address the web view binds [ATLAS_WEB_HOST, 127.0.0.1]")
@click.option("--data-dir", type=click.Path(path_type=Path), help="tables dir [ATLAS_DATA_DIR]")
@click.option("--topic-partitions", type=int, help="partitions of dataset topics [4]")
@click.option("--batch-size", type=int, help="messages per profiler batch [2000]")
@click.option("--batch-bytes", type=int, help="bytes of message values per batch [16 MiB]")
@click.option("--batch-timeout", type=float, help="seconds to fill a batch [0.5]")
@click.option("--session-timeout", type=float, help="Kafka group session timeout, s [10]")
@click.option("--dataset-prefix", help="topic prefix of datasets [datasets.]")
@click.option("--flatten-depth", type=int, help="levels of nested objects made columns [3]")
@click.option("--datetime-columns", help="dataset:column[:s|ms|us|ns] epoch-time columns")
@click.option("--log-level", help="debug, info, warning or error [info]")
@click.option("--log-format", help="text, or json (one JSON object per line) [text]")
def worker(**flags: Any) -> None:
    """Run one worker: agents, RocksDB tables and the web view."""
    settings = settings_from(**flags)
    try:
        settings.secrets()  # before the broker: a missing secret is the first thing to fix
    except SettingsError as exc:
        fail(str(exc))
    require_broker(settings)
    run_worker(settings)


def run_worker(settings: Settings) -> None:
    """Run a worker in this process until it is stopped."""
    from atlas_streams.agents.discovery import list_topics
    from atlas_streams.app import create_app
    from atlas_streams.stopping import PromptWorker
    from atlas_streams.tables.outbox import DataDirInUse

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        atlas = create_app(settings)
    except DataDirInUse as exc:
        fail(str(exc))
    # Subscribe to the datasets that exist already in the first join: finding them later on the
    # discovery timer would make the group rebalance again at once.
    try:
        atlas.discovery.accept(asyncio.run(list_topics(settings)))
    except Exception as exc:  # the timer retries; the worker must still start
        click.echo(f"atlas-streams: warning: could not list dataset topics yet: {exc}", err=True)
    PromptWorker(
        atlas.app, loglevel=settings.log_level.upper(),
        logging_config=logging_config(settings.log_level, settings.log_format),
    ).execute_from_commandline()


@main.group()
def admin() -> None:
    """Recover access without the web view (needs the broker and the workers' secrets)."""


def _admin_settings(flags: dict[str, Any]) -> tuple[Settings, Any]:
    settings = settings_from(**flags)
    try:
        secrets = settings.secrets()
    except SettingsError as exc:
        fail(str(exc))
    require_broker(settings)
    return settings, secrets


def _show_key(user_id: str, plaintext: str) -> None:
    click.echo(f"user {user_id}: new API key (shown once, store it now):")
    click.echo(plaintext)


@admin.command("create-key")
@click.option("--username", required=True, help="name of the new admin user")
@click.option("--email", required=True, help="e-mail of the new admin user")
@broker_option
def create_key(username: str, email: str, **flags: Any) -> None:
    """Create a new user with the admin role and print its key."""
    from atlas_streams.admin import AdminError, create_admin_key
    from atlas_streams.rbac import InvalidRequest, parse_new_user

    settings, secrets = _admin_settings(flags)
    try:
        parse_new_user({"username": username, "email": email, "roles": ["admin"]})
        user, plaintext = asyncio.run(create_admin_key(settings, secrets, username, email))
    except (InvalidRequest, AdminError) as exc:
        fail(str(exc))
    _show_key(user.user_id, plaintext)


@admin.command("reset-key")
@click.argument("user_id")
@broker_option
def reset_key_command(user_id: str, **flags: Any) -> None:
    """Give USER_ID a new key (the old one stops working) and print it."""
    from atlas_streams.admin import AdminError, reset_key

    settings, secrets = _admin_settings(flags)
    try:
        user, plaintext = asyncio.run(reset_key(settings, secrets, user_id))
    except AdminError as exc:
        fail(str(exc))
    _show_key(user.user_id, plaintext)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", required=True, help="dataset name (topic <prefix><name>)")
@broker_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="default: from the extension")
@click.option("--rows-per-message", type=click.IntRange(min=1), default=1, show_default=True,
              help="rows per message; above 1 each message is a JSON array")
@click.option("--topic-partitions", type=int, help="partitions when the topic is created [4]")
def produce(file: Path, dataset: str, fmt: str | None, rows_per_message: int, **flags: Any) -> None:
    """Send every row of FILE to the dataset's topic and wait for every acknowledgement."""
    from atlas_streams.connectors.errors import ConnectorError
    from atlas_streams.producer import BrokerUnreachable, produce_file
    from atlas_streams.topics import DATASET_NAME

    settings = settings_from(**flags)
    if not DATASET_NAME.match(dataset):
        fail(f"invalid dataset name {dataset!r}: use letters, digits, '.', '_' or '-'")
    require_broker(settings)
    try:
        fmt = fmt or guess_format(file)
        rows = asyncio.run(produce_file(settings, file, dataset, fmt, rows_per_message))
    except (SourceError, BrokerUnreachable, ConnectorError) as exc:
        fail(str(exc))
    click.echo(f"sent {rows} rows to {settings.dataset_prefix}{dataset}", err=True)


@main.command()
@click.option("--web-port", type=int, help="port of the web view [6066]")
@click.option("--broker-port", type=int, help="port of the embedded broker [any free]")
def demo(web_port: int | None, broker_port: int | None) -> None:
    """Start a broker and a worker, load sample data, and run until Ctrl-C."""
    from atlas_streams.demo import run_demo

    settings = settings_from(web_port=web_port)
    sys.exit(run_demo(settings, broker_port))
