"""Unit tests of the Kafka security and consumption settings (ATLAS_SECURITY_PROTOCOL etc.)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_streams.settings import SettingsError, load_settings

PASSWORD = "pw-Never-Printed-7"  # distinctive, so finding it in a message means it leaked


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("ATLAS_"):
            monkeypatch.delenv(name)


def test_defaults_are_plaintext_and_app_id_group() -> None:
    settings = load_settings()
    assert settings.kafka_security.protocol == "PLAINTEXT"
    assert settings.consumer_group == "atlas-streams"
    assert settings.auto_offset_reset == "earliest"
    assert settings.deserializer_of("any") == "json"
    assert settings.topics == ()


def test_password_file_is_read_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("ATLAS_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("ATLAS_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("ATLAS_SASL_USERNAME", "atlas")
    monkeypatch.setenv("ATLAS_SASL_PASSWORD_FILE", str(secret))

    settings = load_settings()

    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "s3cr3t-from-file"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in repr(settings.kafka_security)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ATLAS_SECURITY_PROTOCOL": "TLS"}, "security_protocol"),
        ({"ATLAS_SECURITY_PROTOCOL": "SASL_SSL"}, "ATLAS_SASL_USERNAME"),
        ({"ATLAS_SASL_USERNAME": "u"}, "ATLAS_SASL_USERNAME"),
        ({"ATLAS_SASL_PASSWORD": PASSWORD, "ATLAS_SASL_PASSWORD_FILE": "/etc/hostname"},
         "ATLAS_SASL_PASSWORD_FILE"),
        ({"ATLAS_SECURITY_PROTOCOL": "SASL_SSL", "ATLAS_SASL_USERNAME": "u",
          "ATLAS_SASL_PASSWORD": PASSWORD, "ATLAS_SASL_MECHANISM": "MD5"}, "sasl_mechanism"),
        ({"ATLAS_SASL_PASSWORD": PASSWORD}, "ATLAS_SASL_PASSWORD"),
        ({"ATLAS_SSL_CAFILE": "/no/such/ca.pem"}, "ssl_cafile"),
        ({"ATLAS_AUTO_OFFSET_RESET": "none"}, "auto_offset_reset"),
        ({"ATLAS_DESERIALIZERS": "logs:xml"}, "deserializers"),
        ({"ATLAS_DESERIALIZERS": "logs"}, "deserializers"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_them(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert names in message and "\n" not in message
    assert PASSWORD not in message


def test_maps_and_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_DESERIALIZERS", "logs:string, blobs:bytes")
    monkeypatch.setenv("ATLAS_TOPICS", "orders,clicks")
    monkeypatch.setenv("ATLAS_GROUP_ID", "atlas-prod")

    settings = load_settings()

    assert settings.deserializers == {"logs": "string", "blobs": "bytes"}
    assert settings.deserializer_of("logs") == "string"
    assert settings.topics == ("orders", "clicks")
    assert settings.consumer_group == "atlas-prod"


def test_faust_app_gets_credentials(tmp_path: Path) -> None:
    import faust

    from atlas_streams.app import _credentials
    from atlas_streams.settings import Settings

    sasl = Settings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p",
                    sasl_mechanism="SCRAM-SHA-512")
    creds = _credentials(sasl)
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password, creds.mechanism.value) == ("u", "p", "SCRAM-SHA-512")
    assert _credentials(Settings()) is None


def test_faust_app_gets_the_session_timeout(tmp_path: Path) -> None:
    from atlas_streams.app import _faust_app
    from atlas_streams.settings import Settings

    app = _faust_app(Settings(session_timeout=4.5, data_dir=tmp_path), "kafka")
    assert app.conf.broker_session_timeout == 4.5
    assert _faust_app(Settings(data_dir=tmp_path), "kafka").conf.broker_session_timeout == 10.0
