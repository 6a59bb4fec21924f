"""The Dockerfile and docker-compose.yml agree with the CLI (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from atlas_streams.cli import main
from atlas_streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def options_of(command: str) -> set[str]:
    """Return every long option the CLI command accepts, via click introspection."""
    cmd = main.commands[command]  # type: ignore[attr-defined]
    return {opt for p in cmd.params if isinstance(p, click.Option) for opt in p.opts}


def flags_in(argv: list[str]) -> list[str]:
    return [arg for arg in argv if arg.startswith("--")]


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "worker", "producer"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft
    assert services["worker"]["build"] == "."
    assert services["producer"]["image"] == services["worker"]["image"]


def test_commands_use_real_cli_flags(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, command in (("worker", "worker"), ("producer", "produce")):
        argv = services[name]["command"]
        assert argv[0] == command
        unknown = set(flags_in(argv)) - options_of(command)
        assert not unknown, f"{name} uses flags the CLI does not have: {unknown}"
    assert "--broker" in services["worker"]["command"]


def test_workers_scale(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    for port in worker.get("ports", []):
        # "6066" (ephemeral host port) or a range "6066-6075:6066"; never one fixed host port.
        text = str(port)
        host = text.rsplit(":", 1)[0] if ":" in text else ""
        assert host == "" or "-" in host, f"fixed host port {text} breaks --scale worker=3"
    assert "container_name" not in worker
    named = set(compose.get("volumes") or {})
    for volume in worker["volumes"]:
        source = str(volume).split(":", 1)[0]
        assert source not in named, "a named volume would be shared by every replica"
    assert any(str(v).split(":")[-1] == "/data" for v in worker["volumes"])
    assert "/data" in worker["command"]


def test_healthchecks_hit_health(compose: dict[str, Any]) -> None:
    assert "/health" in " ".join(compose["services"]["worker"]["healthcheck"]["test"])
    assert "healthcheck" in compose["services"]["kafka"]
    assert compose["services"]["producer"]["depends_on"]["worker"]["condition"] == (
        "service_healthy"
    )
    assert "/health" in (ROOT / "Dockerfile").read_text()


def test_environment_names_real_settings(compose: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("worker", "producer"):
        for variable in compose["services"][name]["environment"]:
            assert variable.startswith("ATLAS_"), variable
            assert variable.removeprefix("ATLAS_") in fields, f"{variable} is not a setting"


def test_dockerfile_runs_the_cli_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert 'ENTRYPOINT ["atlas-streams"]' in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
