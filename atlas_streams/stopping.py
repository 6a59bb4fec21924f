"""Stop a worker promptly: SIGTERM or Ctrl-C ends the process within a deadline, broker or not.

Measured before: with its broker gone first, a worker logged "Stopping..." and was still alive
2.5 minutes later, holding its web port (Faust's producer flush and consumer commit wait on a
broker that will not answer). Nothing a worker holds needs that wait: its tables are RocksDB
(written ahead before each write returns), its undelivered access decisions are in its outbox
on disk, and at-least-once processing replays what was not committed. So a stop gets
``STOP_DEADLINE`` seconds to finish cleanly; then the process exits anyway. A second signal
exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import faust

__all__ = ["STOP_DEADLINE", "PromptWorker"]

log = logging.getLogger(__name__)

STOP_DEADLINE = 10.0  # s from the first signal to the exit, at most


class PromptWorker(faust.Worker):
    """A Faust worker whose stop, once signalled, ends the process within ``STOP_DEADLINE``."""

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._signal_stop_time:  # a second signal: the user means it
            log.warning("second %s: exiting now", signum.name)
            _exit_now(1)
        super()._schedule_shutdown(signum)
        timer = threading.Timer(STOP_DEADLINE, self._give_up)
        timer.daemon = True
        timer.start()

    def _give_up(self) -> None:
        log.warning("the worker did not stop within %.0f s (is the broker gone?); exiting. "
                    "Tables and undelivered access decisions are on disk; unprocessed "
                    "messages are read again at the next start.", STOP_DEADLINE)
        _exit_now(0)


def _exit_now(status: int) -> Any:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)  # noqa: SLF001 (the point: no more waiting on the loop)
