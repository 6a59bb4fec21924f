"""The profiler's step, pure: (stored partial, one partition's messages) -> (new partial, refusals).

Everything the profiler agent does to a batch of one (dataset, source partition), without Faust
and without I/O, so it is tested with plain records and runs in a worker thread while the event
loop goes on answering requests (a batch of 2,000 rows held the loop ~0.3 s; see
``agents/profiler.py``): decide which messages are new (:func:`~atlas_streams.tables.partial.
plan_batch`), decode them a chunk at a time, update the profile, count the malformed ones.
The agent then publishes the new partial and dead-letters the refused messages.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from atlas_streams.profiling import DatasetProfile, ProfileError, ProfileOptions
from atlas_streams.tables.partial import PartialProfile, applied_offset, plan_batch
from atlas_streams.wire import decode_batch

__all__ = ["DECODE_CHUNK_BYTES", "Message", "StepResult", "chunks", "profile_messages"]

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
            warnings.append(
                f"{label}: the consumer skipped {len(missing)} offset(s) after the profiled "
                f"{state.offset} (the first: {missing[0]}); reading offsets "
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
    for chunk in chunks(applied):
        decoded = decode_batch([m.value for m in chunk], max_message_bytes, deserializer)
        rejected += [(index_of[id(chunk[r.index])], r.reason) for r in decoded.rejected]
        state.profile.update(decoded.rows, time.time())
        if decoded.rejected:
            state.profile.add_invalid(len(decoded.rejected))
    state.offset = applied[-1].offset
    state.max_timestamp = max(state.max_timestamp, max(stamps[i] for i in plan.apply))
    if not encode:
        return StepResult(None, state, tuple(rejected), None, tuple(warnings), len(applied),
                          watermark=state.offset)
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
                      watermark=state.offset)


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
    state.epoch, state.resets = after.epoch, after.resets
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
