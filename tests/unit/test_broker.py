"""Tests of the embedded broker: find the binary, start it on a free port, stop it."""

from __future__ import annotations

import socket
import subprocess

import pytest

from atlas_streams.broker import (
    BrokerError,
    EmbeddedBroker,
    free_port,
    tansu_binary,
    wait_for_port,
)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_free_port_can_be_bound() -> None:
    port = free_port()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_port_gives_up_on_a_closed_port() -> None:
    assert wait_for_port("127.0.0.1", free_port(), timeout=0.2) is False


def test_command_listens_and_advertises_host_and_port() -> None:
    broker = EmbeddedBroker("127.0.0.1", 19092)

    assert broker.url == "kafka://127.0.0.1:19092"
    command = broker.command()
    assert command[0] == str(tansu_binary())
    assert command[1:] == [
        "broker",
        "--listener-url",
        "tcp://127.0.0.1:19092",
        "--advertised-listener-url",
        "tcp://127.0.0.1:19092",
    ]


def test_a_broker_without_a_port_picks_a_free_one() -> None:
    assert EmbeddedBroker().port > 0


@pytest.mark.integration  # starts the real broker: `-m "not integration"` leaves it out
def test_the_broker_starts_on_a_free_port_and_stops() -> None:
    with EmbeddedBroker() as broker:
        assert broker.process is not None
        process = broker.process
        assert process.poll() is None
        assert _accepts(broker.host, broker.port)

    assert broker.process is None
    assert process.returncode is not None
    assert not _accepts(broker.host, broker.port)
    broker.stop()  # stopping twice is harmless


class _SilentBroker(EmbeddedBroker):
    """A broker whose process runs but never listens; it remembers the processes it stopped."""

    stopped: list[subprocess.Popen[bytes]]

    def command(self) -> list[str]:
        return ["sleep", "30"]

    def stop(self) -> None:
        self.stopped = [*getattr(self, "stopped", []), *([self.process] if self.process else [])]
        super().stop()


def test_a_broker_that_never_listens_is_stopped_and_reported() -> None:
    broker = _SilentBroker()

    with pytest.raises(BrokerError, match=f"did not start listening on 127.0.0.1:{broker.port}"):
        broker.start(timeout=0.3)
    assert broker.process is None
    assert [process.returncode is not None for process in broker.stopped] == [True]


def test_tls_on_the_embedded_broker_is_refused_with_one_clear_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tansu 0.6.0 refuses --cert with --key (one exclusive clap group): say so, don't hang."""
    import subprocess
    import sys

    from atlas_streams.broker import BrokerError, EmbeddedBroker

    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    with pytest.raises(BrokerError, match="cannot serve TLS"):
        EmbeddedBroker(cert=cert, key=key)
    with pytest.raises(BrokerError, match="both"):
        EmbeddedBroker(cert=cert)
    result = subprocess.run(
        [sys.executable, "-m", "atlas_streams", "broker", "--cert", str(cert), "--key", str(key)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "cannot serve TLS" in result.stderr
