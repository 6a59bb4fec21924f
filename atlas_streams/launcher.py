"""Start workers as child processes and wait until they serve: for the demo and the tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["WorkerProcess", "http_ready"]


def http_ready(url: str, timeout: float = 0.5) -> bool:
    """Return True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


class WorkerProcess:
    """One ``atlas-streams worker`` child process."""

    def __init__(
        self, broker: str, data_dir: Path, web_port: int, *, env: dict[str, str] | None = None,
        log_path: Path | None = None, web_host: str = "127.0.0.1",
    ) -> None:
        self.broker = broker
        self.data_dir = data_dir
        self.web_host = web_host
        self.web_port = web_port
        self.env = env or {}
        self.log_path = log_path or data_dir.with_name(data_dir.name + ".log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the base URL of the worker's web view."""
        return f"http://{self.web_host}:{self.web_port}"

    def command(self) -> list[str]:
        """Return the command line that runs the worker."""
        return [
            sys.executable, "-m", "atlas_streams", "worker", "--broker", self.broker,
            "--data-dir", str(self.data_dir), "--web-port", str(self.web_port),
            "--web-host", self.web_host,
        ]

    def start(self) -> WorkerProcess:
        """Start the worker process (it is ready once :meth:`wait_ready` returns)."""
        env = {**os.environ, **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A session of its own: a Ctrl-C in the terminal reaches only its parent, which
            # stops it (one SIGTERM, a clean stop) before it stops the broker.
            self.process = subprocess.Popen(self.command(), env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until ``/health`` answers 200; raise with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
            if http_ready(f"{self.url}/health"):
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40, skip: re.Pattern[str] | None = None) -> str:
        """Return the last lines of the worker's log, without those ``skip`` finds."""
        try:
            kept = [line for line in self.log_path.read_text(errors="replace").splitlines()
                    if skip is None or not skip.search(line)]
            return "\n".join(kept[-lines:])
        except OSError:
            return "(no log)"

    def dump_stacks(self, timeout: float = 5.0) -> str:
        """Return what the worker logs of its threads' and tasks' stacks on SIGUSR1 (mode's
        Worker), for a worker that hangs; empty if it is not running or logs nothing in time."""
        if self.process is None or self.process.poll() is not None:
            return ""
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process.send_signal(signal.SIGUSR1)
        deadline, size = time.monotonic() + timeout, -1
        while time.monotonic() < deadline:  # until the log stops growing
            time.sleep(0.5)
            now = self.log_path.stat().st_size
            if now == size and now > start:
                break
            size = now
        with self.log_path.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    def kill(self) -> None:
        """Kill the worker with SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the worker gracefully, killing it if it does not stop in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def __enter__(self) -> WorkerProcess:
        self.start()
        self.wait_ready()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
