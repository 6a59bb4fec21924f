"""Profile bytes: versioned, round-trip, and refuse anything else with ProfileFormatError."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import msgpack
import orjson
import pytest

from atlas_streams.profiling import DatasetProfile, ProfileFormatError
from atlas_streams.profiling.codec import FORMAT_VERSION


def sample() -> DatasetProfile:
    """Return a small profile with every kind of column."""
    profile = DatasetProfile.zero()
    rows = [{"n": i, "s": f"s{i % 7}", "b": i % 2 == 0, "m": [i] if i % 3 else i}
            for i in range(2000)]
    profile.update(rows, now=10.0)
    profile.add_invalid(3)
    return profile


def framed(payload: bytes) -> bytes:
    """Return ``payload`` behind the current version byte and its right checksum."""
    return bytes([FORMAT_VERSION]) + zlib.crc32(payload).to_bytes(4, "big") + payload


def test_format_2_bytes_without_a_checksum_are_still_read() -> None:
    profile = sample()
    unchecked = bytes([2]) + profile.to_bytes()[5:]
    assert DatasetProfile.from_bytes(unchecked).report("d") == profile.report("d")


def test_round_trip_preserves_the_report() -> None:
    profile = sample()
    data = profile.to_bytes()
    assert data[0] == FORMAT_VERSION
    copy = DatasetProfile.from_bytes(data)
    assert copy.report("d") == profile.report("d")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (bytes([99]) + b"\x80", "version 99"),
        (framed(b"\xc1"), "corrupt"),
        (framed(msgpack.packb([1, 2])), "profile document"),
        (framed(msgpack.packb({"options": {}})), "invalid layout"),
        (bytes([FORMAT_VERSION]) + b"\0\0\0\0" + msgpack.packb({}), "CRC-32 does not match"),
        (bytes([FORMAT_VERSION]) + b"\0\0", "CRC-32 does not match"),
        (b"\x80\x04\x95pickle", "version 128"),
    ],
)
def test_bad_bytes_raise_profile_format_error(data: bytes, message: str) -> None:
    with pytest.raises(ProfileFormatError, match=message):
        DatasetProfile.from_bytes(data)


def test_truncated_and_bit_flipped_bytes_never_escape_as_other_errors() -> None:
    data = sample().to_bytes()
    rng = random.Random(4)
    for cut in range(1, len(data), max(1, len(data) // 97)):
        with pytest.raises(ProfileFormatError):
            DatasetProfile.from_bytes(data[:cut])
    refused = 0
    for _ in range(200):
        flipped = bytearray(data)
        flipped[rng.randrange(1, len(data))] ^= 1 << rng.randrange(8)
        try:
            decoded = DatasetProfile.from_bytes(bytes(flipped))
        except ProfileFormatError:
            refused += 1
            continue
        # Should one decode, it must be a whole profile that reports and round-trips, not one
        # that fails later in a worker.
        again = DatasetProfile.from_bytes(decoded.to_bytes())
        assert orjson.dumps(again.report("d")) == orjson.dumps(decoded.report("d"))
    assert refused > 0


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(ProfileFormatError, match="bytes"):
        DatasetProfile.from_bytes("not bytes")  # type: ignore[arg-type]


DATA = Path(__file__).parent / "fixtures"


def test_format_1_profiles_are_still_read_and_merge_with_format_2() -> None:
    # Written by the profile core of commit da8feed (format 1), with its report beside it.
    old = DatasetProfile.from_bytes((DATA / "profile_format_1.bin").read_bytes())
    expected = orjson.loads((DATA / "profile_format_1.json").read_bytes())
    report = old.report("v1")
    assert (report["row_count"], report["invalid_count"]) == (1500, 2)
    for name, column in expected["columns"].items():
        ours = report["columns"][name]
        for field in ("type", "count", "null_count", "min", "max", "mean", "std", "memory_bytes",
                      "string_length", "quantiles"):
            assert ours.get(field) == column.get(field), (name, field)
        bounds = ours["distinct_bounds"]
        # Format 1 could say more distinct values than values (1,509 of 1,500): now clipped.
        assert bounds["lower"] <= min(column["distinct_estimate"], ours["count"]) <= bounds["upper"]
    assert report["columns"]["k"]["distinct_estimate"] == 7  # exact then: its count is the floor
    merged = old.merge(sample())
    assert merged.row_count == 3500 and merged.columns["k"].count == 1500
    assert DatasetProfile.from_bytes(merged.to_bytes()).row_count == 3500
