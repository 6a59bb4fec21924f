"""Batches of events bounded in bytes as well as in number: Faust's ``take_events`` plus a size.

``Stream.take_events(n, within)`` holds up to ``n`` messages whatever their size: 2,000 messages
of 100-row arrays are 60 MB, and 2,000 messages at Kafka's 1 MB limit would be 2 GB. The
profiler decodes a batch in bounded chunks, but the raw values of the whole batch stay in memory
until it is acknowledged. :func:`take_events_bounded` ends a batch at ``max_events`` messages,
once its message values reach ``max_bytes`` (the message that reaches it is the batch's last, so
a batch holds less than ``max_bytes`` plus one message), or after ``within`` seconds.

It is Faust's own ``take_events`` (faust-streaming 0.15) with the one extra condition, built on
the same stream internals: a processor fills the buffer from the stream's passive drainer, the
batch is acknowledged after the consumer's loop body has run (or when the generator closes, as
Faust does), and the buffer is not filled while a batch is consumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import faust
from mode.utils.futures import notify

__all__ = ["take_events_bounded"]


def take_events_bounded(
    stream: faust.StreamT, max_events: int, max_bytes: int, within: float
) -> AsyncGenerator[list[faust.EventT], None]:
    """Yield lists of events: at most ``max_events``, ending once their values reach
    ``max_bytes``, or what arrived within ``within`` seconds."""
    batches = _take(stream, max_events, max_bytes, within)
    # Registered as Faust registers its own takes, so that stopping the stream closes it.
    stream._active_agens.add(batches)  # type: ignore[attr-defined]  # noqa: SLF001
    return batches


async def _take(
    stream: faust.StreamT, max_events: int, max_bytes: int, within: float
) -> AsyncGenerator[list[faust.EventT], None]:
    events: list[faust.EventT] = []
    size = 0
    full = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    acks_were_enabled = stream.enable_acks

    async def add_to_batch(value: Any) -> Any:
        nonlocal consuming, size
        try:
            if consuming is not None:
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("a bounded take found no current event")
            events.append(event)
            size += len(event.message.value or b"")
            if len(events) >= max_events or size >= max_bytes:
                full.set()
                consumed.clear()
                # Wait until the batch is consumed: never more than a batch at a time.
                await stream.wait(consumed)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (Faust's own handling: crash the stream)
            stream.log.exception("Error adding to a bounded take: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # the events are acknowledged here, after the body ran
    stream.add_processor(add_to_batch)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[attr-defined]  # noqa: SLF001
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(full, timeout=within)  # type: ignore[arg-type]
            if events:
                consuming = asyncio.get_running_loop().create_future()
                try:
                    yield list(events)
                finally:
                    batch = list(events)
                    events.clear()
                    size = 0
                    for event in batch:
                        await stream.ack(event)
                    notify(consuming)
                    full.clear()
                    consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_batch)  # type: ignore[attr-defined]  # noqa: SLF001
