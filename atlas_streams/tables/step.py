"""The profiler's step, pure: (stored partial, one partition's messages) -> (new partial, refusals).

Everything the profiler agent does to a batch of one (dataset, source partition), without Faust
and without I/O, so it is tested with plain records and runs in a worker thread while the event
loop goes on answering requests (a batch of 2,000 rows held the loop ~0.3 s; see
``agents/profiler.py``): decide which messages are new (:func:`~atlas_streams.tables.partial.
plan_batch`), decode them a chunk at a time, update the profile, count the malformed ones.
The agent then publishes the new partial and dead-letters the refused messages.

The same step windows the new rows by event time into the partial's ``windows``
(:func:`~atlas_streams.windowing.apply_batch`, after dropping what the dataset's window writer
has folded: :func:`~atlas_streams.windowing.acknowledge`), against the same offset watermark,
so each row is counted once in the all-time profile and once in a window (or counted as having
no usable event time, or as older than the retention).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from atlas_streams.profiling import DatasetProfile, PreparedRows, ProfileError, ProfileOptions
from atlas_streams.tables.partial import Lineage, PartialProfile, applied_offset, plan_batch
from atlas_streams.windowing import (
    WINDOW_PROFILE_OPTIONS,
    PartitionWindows,
    WindowBatch,
    WindowingConfig,
    acknowledge,
    apply_batch,
)
from atlas_streams.wire import decode_batch

__all__ = ["DECODE_CHUNK_BYTES", "Message", "StepResult", "WindowAcks", "chunks",
           "profile_messages"]

DECODE_CHUNK_BYTES = 4 << 20  # bytes of message values decoded and profiled at a time, at most


class Message(Protocol):
    """What the step reads of a message (Faust's messages and backfill records both have it)."""

    @property
    def offset(self) -> int: ...  # noqa: D102

    @property
    def timestamp(self) -> float | None: ...  # noqa: D102 (seconds)

    @property
    def value(self) -> bytes | None: ...  # noqa: D102


@dataclass(frozen=True)
class StepResult:
    """What one step decided: the partial to store and publish, refusals, where to read from."""

    partial: bytes | None  # the new value, written; None when nothing changed or not encoded
    # The partial after the step, decoded: keep it for the next step (None: read ``stored``).
    # When ``partial`` is None but ``applied`` is not 0, it holds rows not yet written.
    state: PartialProfile | None = None
    rejected: tuple[tuple[int, str], ...] = ()  # (index into the messages, reason)
    backfill_from: int | None = None  # new offsets skip some: nothing applied; read from here
    warnings: tuple[str, ...] = ()  # for the log
    applied: int = 0  # messages applied
    replays: bool = False  # only messages applied before: the stored value was current
    watermark: int = -1  # the partial's offset watermark after the step
    # Messages with a row without a usable event time: (index into the messages, reason). They
    # count in the all-time profile, in no window; dead-letter them with the reason.
    window_rejected: tuple[tuple[int, str], ...] = ()
    window_expired: int = 0  # rows older than the retention: counted, in no window


@dataclass(frozen=True)
class WindowAcks:
    """What the dataset's window writer holds of a partition: drop it from the partial."""

    folded: Mapping[int, int]  # window start -> next generation it expects from the partition
    horizon: int | None  # windows ending at or before it are expired there


def profile_messages(
    stored: bytes | None,
    messages: Sequence[Message],
    *,
    options: ProfileOptions,
    max_message_bytes: int,
    deserializer: str = "json",
    contiguous: bool = False,
    label: str = "",
    decoded: PartialProfile | None = None,
    encode: bool = True,
    windowing: WindowingConfig | None = None,
    acks: WindowAcks | None = None,
    caught_up: bool = False,
    lineage: Lineage | None = None,
    first_offset: int | None = None,
) -> StepResult:
    """Apply one partition's messages to its stored partial.

    ``stored`` is the partial's last published bytes, never changed. ``decoded`` may be the
    partial as a previous step returned it (``state``), which this step then takes over instead
    of reading the bytes back (that took ~5 ms for a 20-column profile with large exact
    tables); it may be ahead of ``stored`` when earlier steps did not ``encode``. Without
    ``encode`` the new partial is not written to bytes (~10 ms): the caller publishes it later.

    Unless the messages were read ``contiguous`` from the partition itself, new offsets with a
    hole after the watermark are not applied: the offset to read from is returned instead (the
    consumer lost a message on the way; applying the later ones would skip it for good).
    ``first_offset`` is where the partition starts for the group (``plan_batch``).

    With ``windowing`` the new rows are also windowed by event time (``caught_up``: the batch
    reached the partition's end); ``acks`` drops what the window writer has folded first.
    ``lineage`` is written into the new partial (``tables.partial.continues``).
    """
    if decoded is not None:
        state = decoded
    else:
        state = PartialProfile.from_bytes(stored) if stored else PartialProfile.zero(options)
    # Rows applied since ``stored`` was written live only in ``state``: a batch that cannot be
    # written then cannot fall back on ``stored`` without losing them (see below).
    ahead = decoded is not None and decoded.offset > (applied_offset(stored) if stored else -1)
    if state.profile.options.reading() != options.reading():
        # ATLAS_FLATTEN_DEPTH or the dataset's datetime columns changed: a zero profile of the
        # new options merged with the stored one adopts them (a merge keeps its first operand's).
        state.profile = DatasetProfile.zero(options).merge(state.profile)
    offsets = [m.offset for m in messages]
    stamps = [int((m.timestamp or 0) * 1000) for m in messages]
    plan = plan_batch(state, offsets, stamps, first_offset)
    warnings: list[str] = []
    if plan.backfill_from is not None:
        first = offsets[plan.apply[0]]
        if not contiguous:
            new = {offsets[i] for i in plan.apply}
            missing = [o for o in range(plan.backfill_from, max(new)) if o not in new]
            where = ("of the restarted log" if plan.reset_at is not None
                     else f"after the profiled {state.offset}")
            warnings.append(
                f"{label}: the consumer skipped {len(missing)} offset(s) {where} "
                f"(the first: {missing[0]}); reading offsets "
                f"{plan.backfill_from}..{max(new)} from the broker so that no row is lost")
            return StepResult(None, state, backfill_from=plan.backfill_from,
                              warnings=tuple(warnings), watermark=state.offset)
        if first > plan.backfill_from:
            warnings.append(
                f"{label}: offsets {plan.backfill_from}..{first - 1} hold no message (deleted by "
                f"retention before they were profiled, or transaction markers); profiling from "
                f"{first}")
    if not plan.apply:
        return StepResult(None, state, warnings=tuple(warnings), replays=bool(stored),
                          watermark=state.offset)
    if plan.reset_at is not None:
        warnings.append(
            f"{label}: offset {plan.reset_at} is at or below the applied watermark {state.offset} "
            "but newer than every applied message; the broker's log restarted (the embedded "
            "broker keeps topics in memory). Counting from here in a new epoch.")
        state.epoch += 1
        state.resets.append(plan.reset_at)
    applied = [messages[i] for i in plan.apply]
    rejected: list[tuple[int, str]] = []
    index_of = {id(m): i for i, m in enumerate(messages)}
    rows: list[dict[str, Any]] = []
    row_message: list[int] = []  # per row: its message's index in ``messages``
    # The batch's rows read into columns, kept for its window only when it is one chunk (more
    # chunks' columns held at once would undo the chunking's bound on memory).
    prepared: PreparedRows | None = None
    for number, chunk in enumerate(chunks(applied)):
        decoded = decode_batch([m.value for m in chunk], max_message_bytes, deserializer)
        rejected += [(index_of[id(chunk[r.index])], r.reason) for r in decoded.rejected]
        columns = state.profile.prepare(decoded.rows)
        state.profile.update_prepared(columns, time.time())
        prepared = columns if windowing is not None and number == 0 else None
        if decoded.rejected:
            state.profile.add_invalid(len(decoded.rejected))
        if windowing is not None:
            rows += decoded.rows
            row_message += [index_of[id(chunk[m])] for m in decoded.row_message]
    state.offset = applied[-1].offset
    state.max_timestamp = max(state.max_timestamp, max(stamps[i] for i in plan.apply))
    window_rejected: tuple[tuple[int, str], ...] = ()
    window_expired = 0
    if windowing is not None:
        window_rejected, window_expired = _window(
            state, messages, plan.apply, rows, row_message, plan.reset_at, windowing, acks,
            caught_up, replace(WINDOW_PROFILE_OPTIONS, flatten_depth=options.flatten_depth,
                               datetime_columns=options.datetime_columns),
            prepared)
    if lineage is not None:
        state.lineage = lineage
    if not encode:
        return StepResult(None, state, tuple(rejected), None, tuple(warnings), len(applied),
                          watermark=state.offset, window_rejected=window_rejected,
                          window_expired=window_expired)
    try:
        value = state.to_bytes()
    except ProfileError as exc:
        if ahead:  # read everything since ``stored`` again, refusing what does not fit
            start = applied_offset(stored) + 1 if stored else 0
            warnings.append(f"{label}: the profile no longer fits its byte budget ({exc}); "
                            f"reading offsets from {start} again to refuse what does not fit")
            return StepResult(None, None, backfill_from=start, warnings=tuple(warnings))
        return _over_budget(stored, options, applied, plan.apply, state, warnings, label, exc)
    return StepResult(value, state, tuple(rejected), None, tuple(warnings), len(applied),
                      watermark=state.offset, window_rejected=window_rejected,
                      window_expired=window_expired)


def _window(
    state: PartialProfile, messages: Sequence[Message], apply: Sequence[int],
    rows: list[dict[str, Any]], row_message: list[int], reset_at: int | None,
    config: WindowingConfig, acks: WindowAcks | None, caught_up: bool,
    window_options: ProfileOptions, prepared: PreparedRows | None,
) -> tuple[tuple[tuple[int, str], ...], int]:
    """Window the applied rows into ``state.windows``; return the refusals and expired rows.

    ``window_options``: the windows' smaller sketches, reading rows as the all-time profile
    does (flatten depth, the dataset's datetime columns), so that a window taking every row
    applies the all-time profile's ``prepared`` columns instead of reading the rows again.
    """
    windows = state.windows
    if windows is None:  # a partial from before windows: window from here on
        before = state.offset if reset_at is None else -1
        windows = PartitionWindows(offset=min(before, min(messages[i].offset for i in apply) - 1),
                                   epoch=state.epoch)
    if acks is not None:
        windows = acknowledge(windows, acks.folded, acks.horizon)
    offsets = [m.offset for m in messages]
    stamps = [-1 if m.timestamp is None else int(m.timestamp * 1000) for m in messages]
    batch = WindowBatch(rows, [offsets[m] for m in row_message],
                        [stamps[m] for m in row_message], max(offsets[i] for i in apply),
                        max(stamps[i] for i in apply), prepared)
    # In place: the step owns ``state`` (the caller keeps only what it returns, and its stored
    # bytes), as it updates the all-time profile in place.
    step = apply_batch(windows, batch, config, window_options, reset_at=reset_at,
                       caught_up=caught_up, in_place=True)
    state.windows = step.state
    refused: dict[int, str] = {}
    for rejection in step.rejections:  # one dead letter a message, with its first reason
        refused.setdefault(row_message[rejection.row], f"event time: {rejection.reason}")
    return tuple(sorted(refused.items())), step.expired


def _over_budget(
    stored: bytes | None, options: ProfileOptions, applied: Sequence[Message],
    indexes: Sequence[int], after: PartialProfile, warnings: list[str], label: str,
    exc: ProfileError,
) -> StepResult:
    """Refuse a batch whose rows would make the profile too big to store, losing none of them.

    The stored profile stays as it was, its watermark moves past the batch (or the batch would
    come back as a hole, for ever), and every message of the batch goes to the dead-letter topic
    with the reason, counted as invalid.
    """
    state = PartialProfile.from_bytes(stored) if stored else PartialProfile.zero(options)
    state.offset, state.max_timestamp = after.offset, after.max_timestamp
    state.epoch, state.resets, state.lineage = after.epoch, after.resets, after.lineage
    if after.windows is not None:  # the refused rows are in no window either
        state.windows = replace(state.windows or PartitionWindows(), offset=after.windows.offset,
                                max_timestamp=after.windows.max_timestamp,
                                epoch=after.windows.epoch)
    state.profile.add_invalid(len(applied))
    reason = (f"the dataset's profile would not fit its byte budget even with the smallest "
              f"sketches ({exc}): profile fewer columns (flatten less deeply, or split the "
              "dataset)")
    warnings.append(f"{label}: {len(applied)} messages refused: {reason}")
    return StepResult(state.to_bytes(), state, tuple((i, reason) for i in indexes), None,
                      tuple(warnings), 0, watermark=state.offset)


def chunks(messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
    """Split messages into runs of at most ``DECODE_CHUNK_BYTES`` of values (one at least).

    A batch of 2,000 messages of 100 rows each is 200,000 rows: decoded at once, their dicts
    alone take hundreds of MiB. Decoding and profiling a chunk at a time bounds that.
    """
    start, size = 0, 0
    for index, message in enumerate(messages):
        length = len(message.value or b"")
        if index > start and size + length > DECODE_CHUNK_BYTES:
            yield messages[start:index]
            start, size = index, 0
        size += length
    if start < len(messages):
        yield messages[start:]
