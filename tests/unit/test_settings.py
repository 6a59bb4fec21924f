"""Unit tests of settings: defaults, ATLAS_* variables, flag precedence and errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from atlas_streams.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test without the ATLAS_* variables of the shell that started pytest."""
    for name in list(os.environ):
        if name.upper().startswith("ATLAS_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = load_settings()

    assert settings == Settings()
    assert settings.broker == "kafka://127.0.0.1:9092"
    assert settings.bootstrap_servers == ["127.0.0.1:9092"]
    assert settings.app_id == "atlas-streams"
    assert settings.data_dir == Path("data")
    assert settings.table_dir == Path("data") / "tables"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 6066)
    assert settings.dataset_prefix == "datasets."
    assert settings.topic_partitions == 4
    assert (settings.batch_size, settings.batch_timeout) == (2000, 0.5)
    assert settings.batch_bytes == 16 * 1_048_576
    assert settings.max_message_bytes == 1_048_576
    assert settings.discovery_interval == 2.0
    assert settings.session_timeout == 10.0
    assert settings.demo_keys is False
    assert settings.admin_key is None
    assert settings.key_pepper is None and settings.signing_key is None
    assert settings.audit_key is None
    assert settings.log_level == "info"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_BROKER", "kafka://b1:9093")
    monkeypatch.setenv("ATLAS_WEB_PORT", "7000")
    monkeypatch.setenv("ATLAS_DEMO_KEYS", "1")
    monkeypatch.setenv("ATLAS_DATA_DIR", "/var/lib/atlas")
    monkeypatch.setenv("ATLAS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("ATLAS_ADMIN_KEY", "s3cret")

    settings = load_settings()

    assert settings.bootstrap_servers == ["b1:9093"]
    assert settings.web_port == 7000
    assert settings.demo_keys is True
    assert settings.data_dir == Path("/var/lib/atlas")
    assert settings.log_level == "debug"
    assert settings.admin_key is not None
    assert settings.admin_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_flags_override_the_environment_and_none_means_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATLAS_WEB_PORT", "7000")
    monkeypatch.setenv("ATLAS_APP_ID", "from-env")

    settings = load_settings(web_port=8000, app_id=None)

    assert settings.web_port == 8000
    assert settings.app_id == "from-env"


def test_settings_are_frozen() -> None:
    settings = load_settings()

    with pytest.raises(ValidationError):
        settings.web_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("broker", "servers"),
    [
        ("kafka://h:1", ["h:1"]),
        ("h:1", ["h:1"]),
        ("aiokafka://h:1", ["h:1"]),
        ("kafka://a:1, kafka://b:2", ["a:1", "b:2"]),
        ("a:1,b:2,kafka://c:3", ["a:1", "b:2", "c:3"]),
    ],
)
def test_bootstrap_servers(broker: str, servers: list[str]) -> None:
    assert load_settings(broker=broker).bootstrap_servers == servers


@pytest.mark.parametrize(
    ("flags", "name", "env", "why"),
    [
        ({"broker": "http://h:1"}, "broker", "ATLAS_BROKER", "expected kafka://HOST:PORT"),
        ({"broker": "kafka://h"}, "broker", "ATLAS_BROKER", "got 'kafka://h'"),
        ({"broker": "kafka://:9092"}, "broker", "ATLAS_BROKER", "expected kafka://"),
        ({"broker": ""}, "broker", "ATLAS_BROKER", "expected kafka://"),
        ({"broker": "kafka://h:1,"}, "broker", "ATLAS_BROKER", "got ''"),
        ({"broker": "kafka://h:99999"}, "broker", "ATLAS_BROKER", "out of range"),
        ({"web_port": 65536}, "web_port", "ATLAS_WEB_PORT", "less than or equal to 65535"),
        ({"web_port": -1}, "web_port", "ATLAS_WEB_PORT", "greater than or equal to 0"),
        ({"topic_partitions": 0}, "topic_partitions", "ATLAS_TOPIC_PARTITIONS", "greater"),
        ({"batch_size": 100_001}, "batch_size", "ATLAS_BATCH_SIZE", "less than"),
        ({"batch_timeout": 0}, "batch_timeout", "ATLAS_BATCH_TIMEOUT", "greater than 0"),
        ({"batch_bytes": 100}, "batch_bytes", "ATLAS_BATCH_BYTES", "1024"),
        ({"session_timeout": 1}, "session_timeout", "ATLAS_SESSION_TIMEOUT", "greater than or equal to 2"),
        ({"max_message_bytes": 10}, "max_message_bytes", "ATLAS_MAX_MESSAGE_BYTES", "1024"),
        ({"dataset_prefix": ""}, "dataset_prefix", "ATLAS_DATASET_PREFIX", "at least 1"),
        ({"log_level": "loud"}, "log_level", "ATLAS_LOG_LEVEL", "debug, info, warning, error"),
        ({"flatten_depth": -1}, "flatten_depth", "ATLAS_FLATTEN_DEPTH", "greater than or equal to 0"),
        ({"datetime_columns": "events:ts:hours"}, "datetime_columns", "ATLAS_DATETIME_COLUMNS",
         "use s, ms, us or ns"),
        ({"datetime_columns": "events"}, "datetime_columns", "ATLAS_DATETIME_COLUMNS",
         "dataset:column"),
        ({"no_such": 1}, "no_such", "ATLAS_NO_SUCH", "Extra inputs are not permitted"),
    ],
)
def test_invalid_flags_name_the_setting_flag_and_variable(
    flags: dict[str, object], name: str, env: str, why: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**flags)

    message = str(raised.value)
    assert message.startswith(
        f"invalid setting {name} (flag --{name.replace('_', '-')} or {env}): "
    )
    assert why in message


@pytest.mark.parametrize(
    ("env", "value", "name"),
    [
        ("ATLAS_WEB_PORT", "abc", "web_port"),
        ("ATLAS_BROKER", "nats://h:1", "broker"),
        ("ATLAS_DEMO_KEYS", "maybe", "demo_keys"),
        ("ATLAS_BATCH_TIMEOUT", "-1", "batch_timeout"),
        ("ATLAS_MAX_MESSAGE_BYTES", "10", "max_message_bytes"),
    ],
)
def test_invalid_environment_values_name_the_flag_only_where_the_command_has_it(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, name: str
) -> None:
    monkeypatch.setenv(env, value)

    with pytest.raises(SettingsError) as without_flag:
        load_settings()  # a command without this flag (or `faust -A`): the variable only
    assert str(without_flag.value).startswith(f"invalid setting {name} ({env}): ")
    with pytest.raises(SettingsError) as with_flag:
        load_settings(**{name: None})  # the command has the flag, not given
    assert str(with_flag.value).startswith(
        f"invalid setting {name} (flag --{name.replace('_', '-')} or {env}): "
    )


def test_a_check_of_several_settings_names_the_variable_it_blames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATLAS_SASL_USERNAME", "atlas")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert str(raised.value) == (
        "invalid setting sasl_username (ATLAS_SASL_USERNAME): "
        "only used with SASL_PLAINTEXT or SASL_SSL, not PLAINTEXT"
    )


# One bad value per setting, as an operator would put it in the environment.
BAD_VARIABLES = {
    "broker": "nats://h:1", "web_port": "-1", "topic_partitions": "0", "batch_size": "0",
    "batch_bytes": "1", "batch_timeout": "0", "max_message_bytes": "10", "session_timeout": "1",
    "discovery_interval": "0", "log_level": "loud", "max_artifact_bytes": "0",
    "demo_keys": "maybe", "security_protocol": "TLS", "sasl_mechanism": "MD5",
    "sasl_username": "atlas", "ssl_cafile": "/no/such/ca.pem", "auto_offset_reset": "none",
    "deserializers": "logs:xml", "group_id": "", "broker_kind": "zookeeper",
}


def command_flags(path: tuple[str, ...]) -> set[str]:
    """Return the long options of an ``atlas-streams`` command, as the user types them."""
    from atlas_streams.cli import main

    command: Any = main
    for name in path:
        command = command.commands[name]
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


COMMANDS = {  # every command that reads settings, with arguments it needs to get that far
    ("worker",): [],
    ("produce",): ["{rows}", "--dataset", "d"],
    ("demo",): [],
    ("admin", "create-key"): ["--username", "ann", "--email", "ann@example.com"],
    ("admin", "reset-key"): ["u-1"],
}


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
@pytest.mark.parametrize("name", sorted(BAD_VARIABLES))
def test_every_command_names_only_flags_it_has(
    path: tuple[str, ...], name: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from atlas_streams.cli import main

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n')
    args = [arg.format(rows=rows) for arg in COMMANDS[path]]
    variable = f"ATLAS_{name.upper()}"

    result = CliRunner().invoke(main, [*path, *args], env={variable: BAD_VARIABLES[name]})

    flag = f"--{name.replace('_', '-')}"
    line = result.stderr.strip()
    assert result.exit_code == 2 and "\n" not in line, result.stderr
    assert line.startswith(f"atlas-streams: error: invalid setting {name} (")
    named = re.findall(r"--[a-z][a-z-]*", line)
    if flag in command_flags(path):
        assert named == [flag] and f"(flag {flag} or {variable})" in line
    else:
        assert named == [] and f"({variable})" in line


def test_a_flag_replaces_an_invalid_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_WEB_PORT", "abc")

    assert load_settings(web_port=1).web_port == 1
    with pytest.raises(SettingsError, match="web_port"):
        load_settings(app_id="x")


def test_dataset_of_topic_follows_the_prefix_or_the_explicit_topic_list() -> None:
    from atlas_streams.settings import Settings

    by_prefix = Settings(dataset_prefix="datasets.")
    assert by_prefix.dataset_of_topic("datasets.orders") == "orders"
    assert by_prefix.dataset_of_topic("other") is None
    listed = Settings(topics="logs,datasets.x")
    assert listed.dataset_of_topic("logs") == "logs"
    assert listed.dataset_of_topic("datasets.x") == "x"
    assert listed.dataset_of_topic("datasets.y") is None


def test_outside_demo_mode_a_worker_has_no_default_secrets() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings().secrets()

    message = str(refused.value)
    for name in ("ATLAS_KEY_PEPPER", "ATLAS_SIGNING_KEY", "ATLAS_AUDIT_KEY"):
        assert name in message
    assert "demo" in message and "\n" not in message
    with pytest.raises(SettingsError, match="ATLAS_AUDIT_KEY"):
        Settings(key_pepper="p" * 16, signing_key="s" * 16, audit_key="short").secrets()


def test_secrets_are_read_from_settings_and_files_and_demo_mode_fills_the_rest(
    tmp_path: Path,
) -> None:
    audit_file = tmp_path / "audit"
    audit_file.write_text("a" * 32 + "\n")
    settings = Settings(key_pepper="p" * 16, signing_key="s" * 20, audit_key_file=audit_file,
                        audit_previous_keys="o" * 16 + ", " + "q" * 16)

    secrets = settings.secrets()

    assert secrets.pepper == b"p" * 16 and secrets.signing.keys == (b"s" * 20,)
    assert secrets.audit.keys == (b"a" * 32, b"o" * 16, b"q" * 16) and not secrets.demo
    demo = Settings(demo_keys=True, audit_key="a" * 16).secrets()
    assert demo.demo and demo.audit.current == b"a" * 16 and len(demo.pepper) >= 16
    with pytest.raises(SettingsError, match="not both"):
        load_settings(audit_key="x" * 16, audit_key_file=str(audit_file))


def test_datetime_columns_are_per_dataset_pairs_with_a_unit() -> None:
    settings = load_settings(datetime_columns="events:ts, events:user.created:ms,logs:t:ns")
    assert settings.datetime_columns_of("events") == (("ts", 1.0), ("user.created", 0.001))
    assert settings.datetime_columns_of("logs") == (("t", 1e-9),)
    assert settings.datetime_columns_of("other") == ()
    assert load_settings().flatten_depth == 3
