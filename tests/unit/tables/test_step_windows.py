"""The profiler's step windows its new rows alongside the all-time partial, exactly once."""

from __future__ import annotations

from dataclasses import dataclass

import msgpack

from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.partial import (
    FORMAT_VERSION,
    Lineage,
    PartialProfile,
    continues,
    lineage_of,
    position,
    windows_of,
)
from atlas_streams.tables.step import WindowAcks, profile_messages
from atlas_streams.windowing import PartitionWindows, WindowingConfig

MINUTE = 60_000
CONFIG = WindowingConfig(event_time="at", size=MINUTE, grace=1_000, retention=60 * MINUTE)
BASE = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE  # a window start, epoch ms


@dataclass(frozen=True)
class Msg:
    offset: int
    value: bytes | None
    timestamp: float | None = None


def msg(offset: int, at: object) -> Msg:
    body = b'{"i": %d, "at": %s}' % (offset, msgpack_json(at))
    return Msg(offset, body, (BASE + 10 * MINUTE) / 1000)


def msgpack_json(at: object) -> bytes:
    return b"null" if at is None else str(at).encode() if isinstance(at, int) else b'"%s"' % str(
        at).encode()


def step(stored: bytes | None, messages: list[Msg], **kwargs: object):  # noqa: ANN201
    return profile_messages(stored, messages, options=ProfileOptions(), max_message_bytes=1 << 20,
                            label="d/0", windowing=CONFIG, **kwargs)  # type: ignore[arg-type]


def window_rows(value: bytes) -> dict[int, int]:
    state = PartialProfile.from_bytes(value).windows
    assert state is not None
    return {start: sum(p.profile.row_count for p in slot.parts)
            for start, slot in state.windows.items()}


def test_rows_go_to_their_windows_and_replays_count_once() -> None:
    first = step(None, [msg(0, BASE + 5), msg(1, BASE + MINUTE + 5), msg(2, BASE + 7)])
    assert first.partial is not None
    assert window_rows(first.partial) == {BASE: 2, BASE + MINUTE: 1}

    again = step(first.partial, [msg(1, BASE + MINUTE + 5), msg(2, BASE + 7),
                                 msg(3, BASE + MINUTE + 9)])
    assert again.partial is not None and again.applied == 1
    assert window_rows(again.partial) == {BASE: 2, BASE + MINUTE: 2}
    assert PartialProfile.from_bytes(again.partial).profile.row_count == 4


def test_rows_without_event_time_are_refused_for_windows_and_counted() -> None:
    result = step(None, [msg(0, BASE), msg(1, None), msg(2, "not a time")])

    assert [index for index, _ in result.window_rejected] == [1, 2]
    assert all(reason.startswith("event time: ") for _, reason in result.window_rejected)
    assert result.partial is not None
    state = PartialProfile.from_bytes(result.partial)
    assert state.profile.row_count == 3  # the all-time profile keeps them
    assert state.windows is not None and state.windows.rejected_count == 2
    assert window_rows(result.partial) == {BASE: 1}


def test_acknowledged_final_parts_leave_the_partial() -> None:
    # The watermark passes the first window's end + grace: its part is final.
    first = step(None, [msg(0, BASE + 5), msg(1, BASE + 2 * MINUTE)])
    assert first.partial is not None
    slot = PartialProfile.from_bytes(first.partial).windows.windows[BASE]  # type: ignore[union-attr]
    assert slot.parts[0].final

    acked = step(first.partial, [msg(2, BASE + 2 * MINUTE + 1)],
                 acks=WindowAcks({BASE: slot.parts[0].gen + 1}, None))
    assert acked.partial is not None
    assert window_rows(acked.partial) == {BASE: 0, BASE + 2 * MINUTE: 2}


def test_a_partial_from_before_windows_is_windowed_from_its_next_row() -> None:
    old = PartialProfile.zero(ProfileOptions())
    old.offset = 4
    legacy = bytes([FORMAT_VERSION]) + msgpack.packb(
        [old.offset, old.max_timestamp, old.epoch, old.resets, old.profile.to_bytes()],
        use_bin_type=True)

    result = step(legacy, [msg(5, BASE)])

    assert result.partial is not None and window_rows(result.partial) == {BASE: 1}
    assert windows_of(legacy) is None and lineage_of(legacy) is None


def test_the_lineage_is_written_and_read_back() -> None:
    result = step(None, [msg(0, BASE)], lineage=Lineage("abc", (0, 7)))
    assert result.partial is not None
    assert lineage_of(result.partial) == Lineage("abc", (0, 7))
    assert isinstance(PartialProfile.from_bytes(result.partial).windows, PartitionWindows)


def _value(offset: int, session: str, base: tuple[int, int] | None,
           caught_up: bool = False) -> bytes:
    state = PartialProfile.zero(ProfileOptions())
    state.offset, state.lineage = offset, Lineage(session, base)
    state.windows = PartitionWindows(offset=offset, caught_up=caught_up)
    return state.to_bytes()


def test_the_view_stores_only_values_that_continue_its_lineage() -> None:
    stored = _value(100, "a", None)
    assert continues(stored, None)
    assert continues(_value(120, "a", None), stored)  # the same owner, newer
    assert not continues(_value(90, "a", None), stored)  # older
    assert continues(_value(120, "b", position(stored)), stored)  # started from exactly it
    # An owner that started from an older copy numbered window parts its own way: refused.
    assert not continues(_value(120, "b", (0, 50)), stored)
    assert not continues(_value(120, "b", None), stored)


def test_the_same_position_is_stored_again_only_to_say_the_partition_was_read_to_its_end() -> None:
    stored = _value(100, "a", None)
    assert not continues(_value(100, "a", None), stored)
    assert continues(_value(100, "a", None, caught_up=True), stored)
    assert not continues(_value(100, "b", None, caught_up=True), stored)
    assert not continues(_value(100, "a", None, caught_up=True), _value(100, "a", None, True))


def test_windows_read_rows_as_the_all_time_profile_does() -> None:
    options = ProfileOptions(datetime_columns=(("when", 1.0),), flatten_depth=1)
    result = profile_messages(
        None, [Msg(0, b'{"when": 1714557600, "at": %d, "n": {"x": 1}}' % BASE,
                   (BASE + MINUTE) / 1000)],
        options=options, max_message_bytes=1 << 20, windowing=CONFIG)
    assert result.partial is not None
    windows = PartialProfile.from_bytes(result.partial).windows
    assert windows is not None
    part = windows.windows[BASE].parts[0].profile
    assert part.options.datetime_columns == (("when", 1.0),) and part.options.flatten_depth == 1
    assert part.options.kll_k == 200
    assert set(part.columns) == set(PartialProfile.from_bytes(result.partial).profile.columns)
