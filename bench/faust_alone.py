"""Faust alone: a worker's Faust app and stream path, with an agent that only counts messages.

The e2e benchmark runs this in its own process to measure Faust's own ceiling on the same
messages the worker profiles: the worker's Faust settings (``atlas_streams.app._faust_app``, with
``apply_workarounds()`` first, as ``create_app`` does) and one agent on the dataset topic that
iterates ``take_events_bounded(stream, batch_size, batch_bytes, batch_timeout)`` like the profiler
and counts the messages of each batch (rows = messages x rows per message, nothing decoded). With
``--decode`` it also parses every message with one ``orjson.loads`` (decode only, rows counted from the parsed
documents). No tables, no other agents, no HTTP server (a no-op service takes the web view's
place, so Faust starts no web server of its own either).

Timing: the rate runs from the start of the first fetch of Faust's consumer that returns
messages (as the bare consumer's clock starts before its first ``getmany``) to the last message
the stream delivers. A stream processor stamps every message as the stream hands it to
the take (one Python call a message), which also gives the rate from the first message
delivered, and leaves out the wait of up to ``batch_timeout`` before the last, partial batch is
yielded (reported apart). Once the agent has counted every message it writes a JSON result file;
the parent (:func:`measure`) then stops the process with SIGTERM. Run alone against a topic:

    python -m bench.faust_alone --broker kafka://127.0.0.1:PORT --topic datasets.NAME \\
        --messages N --rows-per-message R --app-id ID --data-dir DIR --result FILE [--decode]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["measure"]

HERE = Path(__file__).resolve().parent
VARIANTS = ("count", "decode")


@dataclass
class _Clock:
    """What the counting agent saw, stamped with the wall clock (compared across processes)."""

    started: float  # this process's interpreter reached main()
    first_fetch: float = 0.0  # Faust's consumer began the first fetch that returned messages
    first_message: float = 0.0  # the stream delivered the first message
    last_message: float = 0.0  # ... and the latest one
    last_batch: float = 0.0  # take_events yielded the batch holding the last message
    cpu_at_first_message: float = 0.0  # process CPU s (every thread: Faust's consumer too)
    cpu_at_last_batch: float = 0.0
    messages: int = 0
    rows: int = 0
    batches: int = 0
    first_batch_messages: int = 0
    largest_batch: int = 0

    def mark(self, value: Any) -> Any:
        """Stamp a message the stream delivers (a stream processor: returns it unchanged)."""
        now = time.time()
        if not self.first_message:
            self.first_message = now
            self.cpu_at_first_message = time.process_time()
        self.last_message = now
        return value

    def stamp_fetches(self, consumer_thread: Any) -> None:
        """Stamp when the first fetch that returns messages began (the bare consumer's clock)."""
        original = consumer_thread._fetch_records

        async def _fetch_records(thread: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.time()
            records = await original(thread, *args, **kwargs)
            if records and not self.first_fetch:
                self.first_fetch = began
            return records

        consumer_thread._fetch_records = _fetch_records


def _child(args: argparse.Namespace) -> None:
    clock = _Clock(started=time.time())
    import faust
    import orjson
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
    from mode import Service

    from atlas_streams.agents.batching import take_events_bounded
    from atlas_streams.app import _faust_app
    from atlas_streams.faust_compat import apply_workarounds
    from atlas_streams.settings import Settings

    settings = Settings(broker=args.broker, app_id=args.app_id, data_dir=args.data_dir,
                        topic_partitions=args.partitions, log_level="warning")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_workarounds:
        apply_workarounds()
    clock.stamp_fetches(AIOKafkaConsumerThread)  # once a fetch, not once a message
    if args.plain:  # Faust's defaults: memory store, nothing of ours but the fixes it needs
        app = faust.App(args.app_id, broker=args.broker, store="memory://",
                        datadir=str(settings.data_dir), autodiscover=False,
                        producer_max_batch_size=1, key_serializer="raw", value_serializer="raw",
                        web_enabled=True, broker_rebalance_timeout=3, broker_session_timeout=10,
                        broker_heartbeat_interval=0.5, consumer_auto_offset_reset="earliest")
    else:
        app = _faust_app(settings, "embedded")
    if args.buffer:
        app.conf.stream_buffer_maxsize = args.buffer
    app.web_server(Service())  # the worker's WebView stands here; this one serves nothing
    topic = app.topic(args.topic, value_type=bytes, value_serializer="raw", key_serializer="raw")
    result = Path(args.result)

    @app.agent(topic, name="faust-alone")
    async def count(stream: faust.StreamT) -> None:
        stream.add_processor(clock.mark)  # before the take's own processor: sees each first
        if args.plain_take:  # Faust's own take: counts messages only, yields values
            batches = stream.take_events(settings.batch_size, within=settings.batch_timeout)
        else:
            batches = take_events_bounded(
                stream, settings.batch_size, settings.batch_bytes, settings.batch_timeout
            )
        async for events in batches:
            if args.decode:
                docs = list(map(orjson.loads, [event.message.value for event in events]))
                clock.rows += sum(len(doc) if isinstance(doc, list) else 1 for doc in docs)
            else:
                clock.rows += len(events) * args.rows_per_message
            clock.messages += len(events)
            clock.batches += 1
            clock.first_batch_messages = clock.first_batch_messages or len(events)
            clock.largest_batch = max(clock.largest_batch, len(events))
            if clock.messages >= args.messages and not clock.last_batch:
                clock.last_batch = time.time()
                clock.cpu_at_last_batch = time.process_time()
                partial = result.with_suffix(".tmp")
                partial.write_text(json.dumps({**asdict(clock), "batch_size": settings.batch_size,
                                               "batch_bytes": settings.batch_bytes,
                                               "batch_timeout": settings.batch_timeout}))
                os.replace(partial, result)  # the parent sees the whole file or none

    faust.Worker(app, loglevel="WARNING").execute_from_commandline()


def _stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def measure(broker: str, topic: str, messages: int, rows_per_message: int, root: Path,
            app_id: str, *, decode: bool = False, partitions: int = 4,
            timeout: float = 600.0, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run Faust alone over the ``messages`` messages of ``topic`` in a child process.

    Returns the child's stamps turned into seconds from the process start (the parent's launch)
    and rows/s from the first fetch that returned messages to the last message delivered.
    """
    name = ("decode" if decode else "count") + "".join(
        f"-{flag.strip('-')}" for flag in flags if flag.startswith("--"))
    root.mkdir(parents=True, exist_ok=True)
    result, log_path = root / f"faust-alone-{name}.json", root / f"faust-alone-{name}.log"
    result.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.faust_alone", "--broker", broker, "--topic", topic,
               "--messages", str(messages), "--rows-per-message", str(rows_per_message),
               "--app-id", app_id, "--data-dir", str(root / f"faust-alone-{name}"),
               "--partitions", str(partitions), "--result", str(result),
               *(["--decode"] if decode else []), *flags]
    launched = time.time()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=HERE.parent)
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if process.poll() is not None:
                raise RuntimeError(f"Faust alone exited early:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Faust alone did not count {messages:,} messages in "
                                   f"{timeout:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.05)
        seen = json.loads(result.read_text())
    finally:
        _stop(process)
    span = seen["last_message"] - seen["first_fetch"]
    return {
        "variant": name,
        "batch_size": seen["batch_size"],
        "batch_bytes": seen["batch_bytes"],
        "batch_timeout": seen["batch_timeout"],
        "messages": seen["messages"],
        "rows": seen["rows"],
        "rows_per_s": seen["rows"] / span,
        "seconds_first_fetch_to_last_message": span,
        "rows_per_s_from_first_message": seen["rows"] / (seen["last_message"]
                                                          - seen["first_message"]),
        "seconds_first_fetch_to_first_message": seen["first_message"] - seen["first_fetch"],
        "seconds_last_message_to_last_batch": seen["last_batch"] - seen["last_message"],
        "seconds_to_interpreter": seen["started"] - launched,
        "seconds_to_first_fetch": seen["first_fetch"] - launched,
        "seconds_to_first_message": seen["first_message"] - launched,
        "seconds_to_last_message": seen["last_message"] - launched,
        "seconds_to_last_batch": seen["last_batch"] - launched,
        "cpu_seconds": seen["cpu_at_last_batch"] - seen["cpu_at_first_message"],
        "wall_seconds_for_cpu": seen["last_batch"] - seen["first_message"],
        "batches": seen["batches"],
        "first_batch_messages": seen["first_batch_messages"],
        "largest_batch": seen["largest_batch"],
    }


def main(argv: list[str] | None = None) -> None:
    """Run the counting app in this process until it is stopped (the child side)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True, help="kafka://HOST:PORT")
    parser.add_argument("--topic", required=True, help="the dataset topic to count")
    parser.add_argument("--messages", type=int, required=True, help="messages in the topic")
    parser.add_argument("--rows-per-message", type=int, default=1)
    parser.add_argument("--app-id", required=True, help="a fresh Faust app id (consumer group)")
    parser.add_argument("--data-dir", type=Path, required=True, help="a fresh data dir")
    parser.add_argument("--partitions", type=int, default=4, help="the topic's partitions")
    parser.add_argument("--result", required=True, help="JSON file written once all are counted")
    parser.add_argument("--decode", action="store_true", help="also orjson.loads each message")
    parser.add_argument("--plain", action="store_true",
                        help="a default faust.App (memory store) instead of the worker's")
    parser.add_argument("--no-workarounds", action="store_true",
                        help="leave out atlas_streams.faust_compat")
    parser.add_argument("--plain-take", action="store_true",
                        help="Faust's take_events instead of the byte-bounded one")
    parser.add_argument("--buffer", type=int, default=0, help="stream_buffer_maxsize")
    _child(parser.parse_args(argv))


if __name__ == "__main__":
    main()
