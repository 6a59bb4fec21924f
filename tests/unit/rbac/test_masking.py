"""Masking of single values per Ranger type, and of whole column profiles without leaks."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.profiling import DatasetProfile
from atlas_streams.rbac.masking import (
    HASH_HEX_CHARS,
    MaskType,
    mask_column_report,
    mask_key,
    mask_profile,
    mask_value,
)

KEY = b"mask-key"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("alice@example.com", "null", None),
        (42, "null", None),
        (None, "hash", None),
        (None, "redact", None),
        ("Alice-42 Road", "redact", "Xxxxx-00 Xxxx"),
        ("ÄÖü9", "redact", "XXx0"),
        (1234, "redact", 0),
        (-3.5, "redact", 0.0),
        (True, "redact", None),
        ({"a": 1}, "redact", None),
        ("4111111111111111", "show_last_4", "xxxxxxxxxxxx1111"),
        ("1234", "show_last_4", "xxxx"),
        ("ab", "show_last_4", "xx"),
        (5551234567, "show_last_4", "xxxxxx4567"),
        (False, "show_last_4", None),
    ],
)
def test_mask_value_by_type(value: object, kind: str, expected: object) -> None:
    assert mask_value(value, kind, KEY) == expected


def test_hash_is_hmac_sha256_truncated_and_keyed() -> None:
    expected = hmac.new(KEY, b'"alice"', hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]
    assert mask_value("alice", MaskType.HASH, KEY) == expected
    assert mask_value("alice", MaskType.HASH, b"other-key") != expected


def test_hash_keeps_equal_values_equal_and_types_apart() -> None:
    hashes = {repr(v): mask_value(v, "hash", KEY) for v in (1, 1.5, "1", True, [1], {"a": 1})}
    assert len(set(hashes.values())) == len(hashes)
    assert all(isinstance(h, str) and len(h) == HASH_HEX_CHARS for h in hashes.values())
    assert mask_value("x", "hash", KEY) == mask_value("x", "hash", KEY)


def test_unknown_mask_type_is_refused() -> None:
    with pytest.raises(ValueError, match="MaskType"):
        mask_value("x", "scramble", KEY)


@given(st.text(max_size=40))
def test_redact_keeps_length_and_hides_letters_and_digits(text: str) -> None:
    masked = mask_value(text, "redact", KEY)
    assert isinstance(masked, str) and len(masked) == len(text)
    assert not any(c.isalnum() and c not in "xX0" for c in masked)


@given(st.text(min_size=5, max_size=40))
def test_show_last_4_shows_only_the_last_four(text: str) -> None:
    masked = mask_value(text, "show_last_4", KEY)
    assert masked == "x" * (len(text) - 4) + text[-4:]


SALARIES = [-9041.125, 4417.75, 4417.75, 9873.5, 1234.0625, 2718.28125, None, None]
EMAILS = ["carol@zoo.org", "aardvark@zoo.org", "carol@zoo.org", "zebra@zoo.org", "carol@zoo.org",
          None, None, None]


def real_profile() -> dict[str, Any]:
    """Return a dataset profile as the profiler reports it, not a hand-made imitation."""
    profile = DatasetProfile.zero()
    profile.update([{"salary": s, "email": e} for s, e in zip(SALARIES, EMAILS, strict=True)],
                   now=1.0)
    report: dict[str, Any] = profile.report("people")
    return report


def numeric_column() -> dict[str, Any]:
    column: dict[str, Any] = real_profile()["columns"]["salary"]
    return column


def string_column() -> dict[str, Any]:
    column: dict[str, Any] = real_profile()["columns"]["email"]
    return column


def values_in(column: dict[str, Any]) -> list[str]:
    """Return, as JSON text, every value of the column its unmasked report shows."""
    found = [column.get(name) for name in ("min", "max", "mean", "std", "median")]
    found += list(column.get("quantiles", {}).values())
    found += column.get("histogram", {}).get("edges", [])
    found += [entry["value"] for entry in column["top_values"]]
    texts = [orjson.dumps(value).decode().strip('"') for value in found if value is not None]
    return [text for text in texts if len(text) >= 5]  # counts cannot collide with these


@pytest.mark.parametrize("kind", list(MaskType))
@pytest.mark.parametrize("column", [numeric_column, string_column])
def test_masked_report_never_leaks_a_value(kind: MaskType, column: Any) -> None:
    original = column()
    secrets = values_in(original)
    assert len(secrets) >= 3 and all(s in orjson.dumps(original).decode() for s in secrets)

    report = mask_column_report(original, kind, KEY)

    text = orjson.dumps(report).decode()
    for secret in secrets:
        assert secret not in text, (kind, secret)
    for name in ("min", "max", "mean", "std", "median", "quantiles", "quantile_rank_error"):
        assert name not in report
    assert report["masked"] is True
    assert report["mask_type"] == kind.value


@pytest.mark.parametrize("kind", list(MaskType))
def test_masked_report_keeps_the_counts(kind: MaskType) -> None:
    numeric = numeric_column()
    report = mask_column_report(numeric, kind, KEY)
    for name in ("type", "count", "null_count", "null_percent", "distinct_estimate",
                 "distinct_bounds", "memory_bytes"):
        assert report[name] == numeric[name], name
    assert (report["count"], report["null_count"], report["distinct_estimate"]) == (6, 2, 5)
    assert report["histogram"] == {"counts": numeric["histogram"]["counts"]}
    strings = mask_column_report(string_column(), kind, KEY)
    assert strings["string_length"] == string_column()["string_length"] == {
        "min": 13, "max": 16, "mean": 13.6,
    }


def test_an_unknown_field_is_dropped_since_it_may_carry_values() -> None:
    column = {**numeric_column(), "secret_extra": "9873.5", "count_note": "9873.5"}

    report = mask_column_report(column, "hash", KEY)

    assert "secret_extra" not in report and "count_note" not in report


def test_null_mask_drops_top_values_and_other_masks_mask_them() -> None:
    assert "top_values" not in mask_column_report(string_column(), "null", KEY)
    hashed = mask_column_report(string_column(), "hash", KEY)["top_values"]
    assert hashed[0] == {
        "value": mask_value("carol@zoo.org", "hash", KEY),
        "count": 3,
        "count_bounds": {"lower": 3, "upper": 3},
    }
    redacted = mask_column_report(string_column(), "redact", KEY)["top_values"]
    assert sorted(t["value"] for t in redacted) == [
        "xxxxx@xxx.xxx", "xxxxx@xxx.xxx", "xxxxxxxx@xxx.xxx"
    ]
    assert sorted(t["count"] for t in redacted) == [1, 1, 3]


@pytest.mark.parametrize("kind", list(MaskType))
def test_mask_column_report_never_mutates_its_input(kind: MaskType) -> None:
    for make in (numeric_column, string_column):
        original = make()
        before = copy.deepcopy(original)
        report = mask_column_report(original, kind, KEY)
        assert original == before
        report.get("histogram", {}).get("counts", []).append(99)
        for entry in report.get("top_values", []):
            entry.get("count_bounds", {})["lower"] = -1
        assert original == before


def test_mask_profile_masks_only_the_named_columns() -> None:
    profile = real_profile()
    before = copy.deepcopy(profile)
    masked = mask_profile(profile, {"email": MaskType.HASH, "absent": "null"}, KEY)
    assert profile == before
    assert masked["row_count"] == 8
    assert masked["columns"]["email"]["masked"] is True
    assert masked["columns"]["salary"] == profile["columns"]["salary"]
    assert "aardvark" not in orjson.dumps(masked["columns"]["email"]).decode()


def test_mask_key_is_derived_not_the_pepper() -> None:
    key = mask_key(b"pepper")
    assert key != b"pepper" and len(key) == 32
    assert key == mask_key(b"pepper") != mask_key(b"other")


def test_columns_flattened_out_of_a_masked_column_are_masked_like_it() -> None:
    report = {"columns": {
        name: {"type": "string", "count": 1, "top_values": [{"value": "secret", "count": 1}]}
        for name in ("user", "user.email", "user.address.city", "users.email", "tags[]",
                     "tags.length", "id")
    }}
    masked = mask_profile(report, {"user": "null", "tags": "redact"}, b"k")["columns"]
    assert {name for name, column in masked.items() if column.get("masked")} == {
        "user", "user.email", "user.address.city", "tags[]", "tags.length"}
    assert masked["user.address.city"]["mask_type"] == "null"
    assert masked["tags[]"]["top_values"] == [{"value": "xxxxxx", "count": 1}]
    assert masked["users.email"]["top_values"][0]["value"] == "secret"
