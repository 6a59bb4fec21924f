"""Unit tests of the dataset wire format: decode_batch both paths, rejections, encode_rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from atlas_streams.wire import DecodedBatch, Rejected, decode_batch, decode_message, encode_rows

MAX = 1024


def test_decode_batch_fast_path_attributes_rows_to_messages() -> None:
    values = [b'{"a": 1}', b'[{"a": 2}, {"a": 3}]', b' {"a": 4} ']

    batch = decode_batch(values, MAX)

    assert batch == DecodedBatch(
        rows=[{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}], row_message=[0, 1, 1, 2], rejected=[]
    )


def test_decode_batch_of_no_messages_is_empty() -> None:
    assert decode_batch([], MAX) == DecodedBatch([], [], [])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message (null value)"),
        (b"", "not JSON"),
        (b"   ", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[]", "an empty JSON array holds no rows"),
        (b"42", "expected a JSON object or an array of objects, got int"),
        (b'"text"', "got str"),
        (b"null", "got NoneType"),
        (b'[{"a": 1}, 2]', "got list"),
        (b"[[]]", "got list"),
        (b'{"a": 1}, {"a": 2}', "not JSON"),  # two documents in one message
        (b"x" * (MAX + 1), f"message of {MAX + 1} bytes is over the limit of {MAX}"),
    ],
)
def test_decode_batch_rejects_with_reason_and_keeps_good_rows(
    value: bytes | None, reason: str
) -> None:
    values = [b'{"a": 1}', value, b'[{"a": 2}, {"a": 3}]']

    batch = decode_batch(values, MAX)

    assert batch.rows == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert batch.row_message == [0, 2, 2]
    assert [r.index for r in batch.rejected] == [1]
    assert reason in batch.rejected[0].reason


def test_a_valid_message_at_the_size_limit_is_accepted() -> None:
    value = orjson.dumps({"a": "x" * (MAX - 10)})
    value += b" " * (MAX - len(value))
    assert len(value) == MAX

    assert decode_batch([value], MAX).rows == [{"a": "x" * (MAX - 10)}]


def test_decode_batch_fallback_reports_every_bad_message() -> None:
    values = [b"1", b'{"ok": true}', None, b"[]"]

    batch = decode_batch(values, MAX)

    assert batch.rows == [{"ok": True}]
    assert batch.row_message == [1]
    assert [r.index for r in batch.rejected] == [0, 2, 3]
    assert all(isinstance(r, Rejected) for r in batch.rejected)


@pytest.mark.parametrize(
    "values",
    [
        # Two halves of one row: joined they would parse as a single row.
        [b'{"a": 1', b'}'],
        # A string spanning two messages plus a message of two documents keep the count equal.
        [b'{"a":"', b'"},{"b":1}'],
        [b'{"a":"}', b'{"}', b'{"c":1},{"d":2}'],
        # Brackets spanning two messages, made up for by a message of two arrays.
        [b'{"x":1}],[{"y":2}', b'[{"a":[[1', b'2]]}]'],
    ],
)
def test_messages_malformed_alone_are_rejected_even_when_their_join_parses(
    values: list[bytes],
) -> None:
    batch = decode_batch(values, MAX)

    assert batch.rows == []
    assert [r.index for r in batch.rejected] == list(range(len(values)))


def test_decode_message_returns_the_rows_or_raises() -> None:
    assert decode_message(b'[{"a": 1}, {"b": 2}]', MAX) == [{"a": 1}, {"b": 2}]
    with pytest.raises(ValueError, match="null value"):
        decode_message(None, MAX)


def test_encode_rows_one_row_per_message_round_trips() -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]

    values = list(encode_rows(rows))

    assert [orjson.loads(v) for v in values] == rows
    assert decode_batch(values, MAX).rows == rows


@pytest.mark.parametrize(("per", "sizes"), [(2, [2, 2, 1]), (5, [5]), (10, [5])])
def test_encode_rows_n_rows_per_message_chunks_and_round_trips(
    per: int, sizes: list[int]
) -> None:
    rows = [{"i": i} for i in range(5)]

    values = list(encode_rows(rows, rows_per_message=per))

    assert [len(orjson.loads(v)) for v in values] == sizes
    decoded = decode_batch(values, MAX)
    assert decoded.rows == rows
    assert decoded.row_message == [i for i, n in enumerate(sizes) for _ in range(n)]


def test_encode_rows_of_nothing_yields_nothing() -> None:
    assert list(encode_rows([], rows_per_message=3)) == []


def test_encode_rows_writes_decimal_and_datetime_as_text() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    rows = [{"price": Decimal("1.10"), "at": when}]

    (value,) = encode_rows(rows)
    (chunk,) = encode_rows(rows, rows_per_message=2)

    # orjson writes datetimes natively (RFC 3339); Decimal goes through default=str.
    expected = {"price": "1.10", "at": "2024-05-01T12:30:00+00:00"}
    assert orjson.loads(value) == expected
    assert orjson.loads(chunk) == [expected]


@pytest.mark.parametrize("per", [0, -1])
def test_encode_rows_refuses_fewer_than_one_row_per_message(per: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(encode_rows([{"a": 1}], rows_per_message=per))


def test_string_and_bytes_deserializers_give_one_value_column() -> None:
    text = decode_batch([b"hello", "h\u00e9".encode(), b"\xff", None], MAX, deserializer="string")
    assert text.rows == [{"value": "hello"}, {"value": "h\u00e9"}]
    assert text.row_message == [0, 1]
    assert [r.index for r in text.rejected] == [2, 3]
    assert text.rejected[0].reason.startswith("not UTF-8")

    raw = decode_batch([b"\x00\xff", b"x" * (MAX + 1)], MAX, deserializer="bytes")
    assert raw.rows == [{"value": "00ff"}]
    assert raw.rejected[0].reason.endswith(f"over the limit of {MAX}")

    with pytest.raises(ValueError, match="unknown deserializer"):
        decode_batch([b"x"], MAX, deserializer="avro")


def test_integers_beyond_64_bits_are_decoded_exactly_on_both_paths() -> None:
    big = 2**70 + 1  # a float64 would round it
    values = [b'{"a": %d, "s": "%s"}' % (big, b"9" * 25), b'[{"a": 1.5}]']
    fast = decode_batch(values, MAX)
    slow = decode_batch([*values, b"not json"], MAX)
    for batch in (fast, slow):
        assert batch.rows[:2] == [{"a": big, "s": "9" * 25}, {"a": 1.5}]
        assert type(batch.rows[0]["a"]) is int
