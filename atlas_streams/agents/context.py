"""Faust's ambient context, set explicitly where a batch spans several events."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import faust
import faust.streams as faust_streams

__all__ = ["current_event"]


@contextmanager
def current_event(event: faust.EventT) -> Iterator[None]:
    """Make ``event`` Faust's current event in this task while the block runs.

    Table writes go to the changelog partition (and RocksDB file) of the current event. In a
    batch from ``take_events`` that is the batch's last event, whatever partition it came from,
    so each partition's writes run under one of its own events. Only the context variable is
    set: ``Stream.current_event`` belongs to the task that fills the take buffer.
    """
    token = faust_streams._current_event.set(weakref.ref(event))  # noqa: SLF001 (no public setter)
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)  # noqa: SLF001
