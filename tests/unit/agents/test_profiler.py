"""Unit tests of the profiler agent's helpers, with plain stand-ins for tables and topics."""

from __future__ import annotations

from types import SimpleNamespace

from atlas_streams.agents.profiler import DECODE_CHUNK_BYTES, _chunks, _profile_partition
from atlas_streams.profiling import ProfileOptions
from atlas_streams.settings import Settings
from atlas_streams.tables.partial import PartialProfile


def messages(*sizes: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(value=b"x" * size, offset=i) for i, size in enumerate(sizes)]


def test_chunks_keep_order_and_every_message_and_bound_the_bytes() -> None:
    third = DECODE_CHUNK_BYTES // 3
    batch = messages(third, third, third, third, 0, third)
    chunks = list(_chunks(batch))
    assert [m for chunk in chunks for m in chunk] == batch
    assert all(sum(len(m.value) for m in chunk) <= DECODE_CHUNK_BYTES for chunk in chunks)
    assert [len(chunk) for chunk in chunks] == [3, 3]


def test_a_message_over_the_bound_is_a_chunk_of_its_own() -> None:
    batch = messages(10, DECODE_CHUNK_BYTES + 1, 10)
    assert [len(chunk) for chunk in _chunks(batch)] == [1, 1, 1]
    assert list(_chunks([])) == []
    assert [len(c) for c in _chunks([SimpleNamespace(value=None)])] == [1]


# -- _profile_partition: holes ------------------------------------------------------------------


class _Sent(list):  # a topic stand-in that records what is sent
    def send_soon(self, key: object = None, value: object = None) -> None:
        self.append((key, value))


def _profile(
    messages: list[SimpleNamespace], tables: SimpleNamespace, contiguous: bool = False
) -> int | None:
    return _profile_partition(
        "d", 0, messages, tables=tables, deadletter=_Sent(), view_topic=_Sent(),
        settings=Settings(), options=ProfileOptions(), published={}, contiguous=contiguous,
    )


def _rows(*offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(offset=o, timestamp=1_700_000_000.0 + o, value=b'{"i": %d}' % o,
                            topic="datasets.d", partition=0) for o in offsets]


def _counted(tables: SimpleNamespace) -> tuple[int, int]:
    state = PartialProfile.from_bytes(tables.partials["d/0"])
    return state.offset, state.profile.row_count


def test_a_batch_with_a_hole_applies_nothing_and_says_where_to_read_from() -> None:
    tables = SimpleNamespace(partials={})
    assert _profile(_rows(0, 1, 2), tables) is None
    assert _counted(tables) == (2, 3)

    assert _profile(_rows(3, 5, 6), tables) == 3  # offset 4 never arrived
    assert _profile(_rows(6, 7), tables) == 3  # the watermark did not move past the hole
    assert _counted(tables) == (2, 3)


def test_rows_read_from_the_partition_itself_are_applied_across_empty_offsets() -> None:
    tables = SimpleNamespace(partials={})
    _profile(_rows(0, 1, 2), tables)

    # Offsets 3 and 4 hold no message (retention, transaction markers): nothing to wait for.
    assert _profile(_rows(5, 6), tables, contiguous=True) is None
    assert _counted(tables) == (6, 5)
    assert _profile(_rows(6, 7), tables) is None  # replays skipped, the rest follows on
    assert _counted(tables) == (7, 6)
