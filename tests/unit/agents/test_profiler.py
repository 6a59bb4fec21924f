"""Unit tests of the profiler agent's pure helpers."""

from __future__ import annotations

from types import SimpleNamespace

from atlas_streams.agents.profiler import DECODE_CHUNK_BYTES, _chunks


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
