"""Dead letters: the reason, the source position and a sample of the value, for each refusal."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import orjson

from atlas_streams.agents.deadletter import DEADLETTER_SAMPLE_BYTES, dead_letter
from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.step import profile_messages


def message(offset: int, value: bytes | None) -> SimpleNamespace:
    """Return a record of partition 3 of ``datasets.d`` as a consumer gives it."""
    return SimpleNamespace(topic="datasets.d", partition=3, offset=offset,
                           timestamp=1_700_000_000.0 + offset, value=value)


def test_a_text_value_is_kept_whole_with_its_position_and_reason() -> None:
    letter = orjson.loads(dead_letter(message(7, b"not json"), "not JSON: unexpected character"))

    assert letter == {
        "reason": "not JSON: unexpected character", "topic": "datasets.d", "partition": 3,
        "offset": 7, "timestamp": 1_700_000_007.0, "size": 8, "truncated": False,
        "value": "not json",
    }


def test_a_large_binary_value_is_sampled_as_base64_and_says_so() -> None:
    value = b"\xff" * (DEADLETTER_SAMPLE_BYTES + 1)

    letter = orjson.loads(dead_letter(message(8, value), "not JSON"))

    assert "value" not in letter
    assert base64.b64decode(letter["value_base64"]) == value[:DEADLETTER_SAMPLE_BYTES]
    assert (letter["size"], letter["truncated"]) == (DEADLETTER_SAMPLE_BYTES + 1, True)


def test_each_message_the_step_refuses_becomes_one_letter_naming_it() -> None:
    batch = [message(0, b'{"i": 0}'), message(1, b"[1, 2]"), message(2, None),
             message(3, b'{"i": 3}')]

    result = profile_messages(None, batch, options=ProfileOptions(), max_message_bytes=1 << 20)

    letters = [orjson.loads(dead_letter(batch[index], why)) for index, why in result.rejected]
    assert [(d["partition"], d["offset"], d["reason"]) for d in letters] == [
        (3, 1, "expected a JSON object or an array of objects, got list"),
        (3, 2, "empty message (null value)"),
    ]
    assert letters[1]["value"] == "" and letters[1]["size"] == 0
