"""The profiler's pure step: new messages in offset order, holes refused, malformed ones named."""

from __future__ import annotations

from dataclasses import dataclass

from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.partial import PartialProfile
from atlas_streams.tables.step import DECODE_CHUNK_BYTES, chunks, profile_messages


@dataclass(frozen=True)
class Msg:
    offset: int
    value: bytes | None
    timestamp: float | None = None


def rows(*offsets: int) -> list[Msg]:
    return [Msg(o, b'{"i": %d}' % o, 1_700_000_000.0 + o) for o in offsets]


def step(stored: bytes | None, messages: list[Msg], contiguous: bool = False):  # noqa: ANN201
    return profile_messages(stored, messages, options=ProfileOptions(), max_message_bytes=1 << 20,
                            contiguous=contiguous, label="d/0")


def counted(value: bytes | None) -> tuple[int, int]:
    assert value is not None
    state = PartialProfile.from_bytes(value)
    return state.offset, state.profile.row_count


def test_new_messages_are_applied_and_replays_skipped() -> None:
    first = step(None, rows(0, 1, 2))
    assert counted(first.partial) == (2, 3) and first.applied == 3 and first.watermark == 2

    again = step(first.partial, rows(1, 2, 3))
    assert counted(again.partial) == (3, 4) and again.applied == 1

    replays = step(again.partial, rows(2, 3))
    assert replays.partial is None and replays.replays and replays.applied == 0


def test_a_batch_with_a_hole_applies_nothing_and_says_where_to_read_from() -> None:
    first = step(None, rows(0, 1, 2))

    holed = step(first.partial, rows(3, 5, 6))  # offset 4 never arrived

    assert holed.partial is None and holed.backfill_from == 3
    assert "skipped 1 offset(s)" in holed.warnings[0]


def test_a_hole_in_a_restarted_log_is_read_again_from_its_start_and_counted_once() -> None:
    # The broker lost its log: new messages from offset 0, newer than anything applied.
    old = step(None, [Msg(o, b'{"i": 1}', 1_000.0 + o) for o in range(10)]).partial
    new = [Msg(o, b'{"i": 2}', 2_000.0 + o) for o in range(5)]

    holed = step(old, [new[0], *new[2:]])  # offset 1 skipped by the consumer

    assert holed.partial is None and holed.backfill_from == 0
    assert "of the restarted log" in holed.warnings[0]
    read = step(old, new, contiguous=True)
    state = PartialProfile.from_bytes(read.partial or b"")
    assert (state.epoch, state.offset, state.profile.row_count) == (1, 4, 15)


def test_rows_read_from_the_partition_itself_are_applied_across_empty_offsets() -> None:
    first = step(None, rows(0, 1, 2))

    # Offsets 3 and 4 hold no message (retention, transaction markers): nothing to wait for.
    read = step(first.partial, rows(5, 6), contiguous=True)

    assert counted(read.partial) == (6, 5) and "hold no message" in read.warnings[0]
    assert counted(step(read.partial, rows(6, 7)).partial) == (7, 6)


def test_malformed_messages_are_named_by_index_and_counted() -> None:
    messages = [*rows(0), Msg(1, b"not json"), Msg(2, b"[1, 2]"), *rows(3), Msg(4, None)]

    result = step(None, messages)

    assert [index for index, _ in result.rejected] == [1, 2, 4]
    assert "not JSON" in result.rejected[0][1]
    state = PartialProfile.from_bytes(result.partial or b"")
    assert (state.offset, state.profile.row_count, state.profile.invalid_count) == (4, 2, 3)


def test_the_step_never_changes_its_input() -> None:
    first = step(None, rows(0, 1))
    before = first.partial

    step(first.partial, rows(2, 3))

    assert first.partial == before


def test_chunks_keep_order_and_every_message_and_bound_the_bytes() -> None:
    third = DECODE_CHUNK_BYTES // 3
    batch = [Msg(i, b"x" * size) for i, size in enumerate([third, third, third, third, 0, third])]
    found = list(chunks(batch))
    assert [m for chunk in found for m in chunk] == batch
    assert all(sum(len(m.value or b"") for m in chunk) <= DECODE_CHUNK_BYTES for chunk in found)
    assert [len(chunk) for chunk in found] == [3, 3]


def test_a_message_over_the_bound_is_a_chunk_of_its_own() -> None:
    batch = [Msg(0, b"x" * 10), Msg(1, b"x" * (DECODE_CHUNK_BYTES + 1)), Msg(2, b"x" * 10)]
    assert [len(chunk) for chunk in chunks(batch)] == [1, 1, 1]
    assert list(chunks([])) == []
    assert [len(c) for c in chunks([Msg(0, None)])] == [1]


def test_datetime_columns_of_the_dataset_apply_from_the_next_batch() -> None:
    batch = [Msg(i, b'{"ts": 1794304800000, "n": %d}' % i, 1_700_000_000.0 + i) for i in range(3)]
    first = profile_messages(None, batch[:1], options=ProfileOptions(), max_message_bytes=1 << 20)
    named = ProfileOptions(datetime_columns=(("ts", 0.001),))  # what the agent passes per dataset
    rest = profile_messages(first.partial, batch[1:], options=named, max_message_bytes=1 << 20)
    assert rest.partial is not None
    profile = PartialProfile.from_bytes(rest.partial).profile
    assert profile.options.datetime_columns == (("ts", 0.001),)
    columns = profile.report("d")["columns"]
    assert columns["ts"]["type"] == "mixed"  # the first row came before the setting: a number
    assert columns["ts"]["count"] == 3 and columns["n"]["type"] == "numeric"


def test_a_batch_that_would_overflow_the_profile_budget_is_refused_whole_and_not_lost() -> None:
    options = ProfileOptions(max_profile_bytes=10_000)
    first = profile_messages(None, rows(0), options=options, max_message_bytes=1 << 20)
    wide = [Msg(1, b"{" + b",".join(b'"c%d": "v%d"' % (i, i) for i in range(3000)) + b"}")]

    refused = profile_messages(first.partial, wide, options=options, max_message_bytes=1 << 20)

    assert [index for index, _ in refused.rejected] == [0]
    assert "byte budget" in refused.rejected[0][1]
    state = PartialProfile.from_bytes(refused.partial or b"")
    assert (state.offset, state.profile.row_count, state.profile.invalid_count) == (1, 1, 1)
    assert profile_messages(refused.partial, wide, options=options,
                            max_message_bytes=1 << 20).replays  # not a hole for ever


def test_a_decoded_partial_is_taken_over_with_the_same_result_as_its_bytes() -> None:
    first = step(None, rows(0, 1, 2))
    assert first.state is not None

    from_bytes = step(first.partial, rows(3, 4))
    taken = profile_messages(first.partial, rows(3, 4), options=ProfileOptions(),
                             max_message_bytes=1 << 20, decoded=first.state)

    assert counted(taken.partial) == counted(from_bytes.partial) == (4, 5)
    assert taken.state is first.state  # updated in place: no read back from bytes


def test_without_encode_the_state_moves_on_and_nothing_is_written() -> None:
    first = step(None, rows(0, 1))

    deferred = profile_messages(first.partial, rows(2, 3), options=ProfileOptions(),
                                max_message_bytes=1 << 20, decoded=first.state, encode=False)

    assert deferred.partial is None and deferred.applied == 2 and deferred.watermark == 3
    assert deferred.state is not None and deferred.state.profile.row_count == 4
    later = profile_messages(first.partial, rows(4), options=ProfileOptions(),
                             max_message_bytes=1 << 20, decoded=deferred.state)
    assert counted(later.partial) == (4, 5)  # written from the state, not from ``stored``


def test_a_state_ahead_of_its_bytes_that_overflows_reads_back_from_the_bytes() -> None:
    options = ProfileOptions(max_profile_bytes=10_000)
    first = profile_messages(None, rows(0), options=options, max_message_bytes=1 << 20)
    wide = [Msg(2, b"{" + b",".join(b'"c%d": "v%d"' % (i, i) for i in range(3000)) + b"}")]
    ahead = profile_messages(first.partial, rows(1), options=options, max_message_bytes=1 << 20,
                             decoded=first.state, encode=False)

    result = profile_messages(first.partial, wide, options=options, max_message_bytes=1 << 20,
                              decoded=ahead.state)

    # Row 1 lives only in the state: refusing from ``stored`` would lose it; read 1.. again.
    assert result.partial is None and result.state is None and result.backfill_from == 1
