"""API keys: generation, hashing, constant-time verification, parsing garbage safely."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.rbac.keys import (
    KEY_PREFIX,
    MAX_KEY_LENGTH,
    generate_key,
    hash_key,
    key_id_for,
    minted,
    parse_key,
    verify_key,
)

PEPPER = b"pepper-for-keys"


def test_generated_keys_are_unique_and_carry_their_id() -> None:
    pairs = [generate_key(PEPPER) for _ in range(50)]
    assert len({plaintext for _, plaintext in pairs}) == 50
    for key_id, plaintext in pairs:
        assert plaintext.startswith(f"{KEY_PREFIX}{key_id}_")
        assert len(key_id) == 16
        assert parse_key(plaintext) == key_id
        assert key_id_for(plaintext, PEPPER) == key_id


def test_a_minted_key_is_told_from_a_well_formed_guess() -> None:
    key_id, plaintext = generate_key(PEPPER)
    guess = f"{KEY_PREFIX}{'0' * 16}_{plaintext[21:]}"  # well formed, id not minted
    other_id = f"{KEY_PREFIX}{key_id}_{'A' * 43}"  # a real id with another secret

    assert minted(plaintext, PEPPER)
    assert parse_key(guess) is not None and not minted(guess, PEPPER)
    assert not minted(other_id, PEPPER)
    assert not minted(plaintext, b"another-pepper!!")
    assert not minted("atlas-admin-key", PEPPER) and not minted(None, PEPPER)


def test_hash_verifies_only_the_same_key_under_the_same_pepper() -> None:
    _, plaintext = generate_key(PEPPER)
    stored = hash_key(plaintext, PEPPER)
    assert len(stored) == 64 and plaintext not in stored
    assert verify_key(plaintext, stored, PEPPER)
    assert not verify_key(plaintext + "x", stored, PEPPER)
    assert not verify_key(plaintext, stored, b"another-pepper")
    assert hash_key(plaintext, PEPPER) == stored


def test_empty_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="ATLAS_KEY_PEPPER"):
        hash_key("atlas-admin-key", b"")


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        42,
        b"atl_0123456789abcdef_x",
        "atl_",
        "atl_0123456789abcdef",
        "atl_0123456789ABCDEF_" + "a" * 43,
        "atl_0123456789abcdef_" + "a" * 42,
        "atl_0123456789abcdef_" + "a" * 44,
        "xatl_0123456789abcdef_" + "a" * 43,
        "atl_0123456789abcdef_" + "a" * 43 + "\n",
        "atlas-admin-key",
        "x" * 10_000,
    ],
)
def test_parse_key_returns_none_for_garbage(garbage: object) -> None:
    assert parse_key(garbage) is None


@pytest.mark.parametrize("garbage", [None, "", 42, "x" * (MAX_KEY_LENGTH + 1)])
def test_garbage_never_verifies_or_gets_an_id(garbage: object) -> None:
    stored = hash_key("atlas-admin-key", PEPPER)
    assert not verify_key(garbage, stored, PEPPER)
    assert key_id_for(garbage, PEPPER) is None


def test_verify_tolerates_a_damaged_stored_hash() -> None:
    assert not verify_key("atlas-admin-key", "é" * 64, PEPPER)
    assert not verify_key("atlas-admin-key", "", PEPPER)


def test_free_form_keys_get_a_stable_peppered_id() -> None:
    first = key_id_for("atlas-admin-key", PEPPER)
    assert first == key_id_for("atlas-admin-key", PEPPER)
    assert first is not None and len(first) == 16
    assert first != key_id_for("atlas-viewer-key", PEPPER)
    assert first != key_id_for("atlas-admin-key", b"other-pepper")
    assert first not in hash_key("atlas-admin-key", PEPPER)  # the id never reveals the hash


STORED_K = hash_key("k", PEPPER)


@given(st.one_of(st.text(max_size=300), st.just("k")))
def test_parse_id_and_verify_never_raise_and_verify_only_the_key(text: str) -> None:
    key_id = parse_key(text)
    assert key_id is None or text.startswith(f"{KEY_PREFIX}{key_id}_")
    looked_up = key_id_for(text, PEPPER)
    assert (looked_up is None) == (not text or len(text) > MAX_KEY_LENGTH)
    assert looked_up is None or len(looked_up) == 16
    assert verify_key(text, STORED_K, PEPPER) is (text == "k")
