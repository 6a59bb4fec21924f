"""Sealed values open only under the right key and purpose; rotation keeps old seals readable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_streams.rbac.errors import Forged
from atlas_streams.rbac.signing import Keyring, is_sealed, key_id, seal, unseal

KEY = b"k" * 32
OTHER = b"o" * 32


def test_a_sealed_payload_opens_to_itself() -> None:
    ring = Keyring.of(KEY)

    sealed = seal(ring, "topic:users", b'{"op": "create"}')

    assert is_sealed(sealed) and sealed.endswith(b'{"op": "create"}')
    assert unseal(ring, "topic:users", sealed) == b'{"op": "create"}'


@given(st.binary(max_size=200), st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_any_flipped_byte_is_refused(payload: bytes, where: int, xor: int) -> None:
    ring = Keyring.of(KEY)
    sealed = bytearray(seal(ring, "p", payload))
    index = where % len(sealed)
    sealed[index] ^= xor or 1

    with pytest.raises(Forged):
        unseal(ring, "p", bytes(sealed))


@pytest.mark.parametrize("data", [b"", b"plain", b'{"op": "set_roles", "roles": ["admin"]}',
                                  b"\xa7\x01" + b"\x00" * 36])
def test_unsealed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(Forged):
        unseal(Keyring.of(KEY), "p", data)


def test_a_seal_for_one_purpose_is_refused_for_another() -> None:
    ring = Keyring.of(KEY)

    with pytest.raises(Forged, match="another purpose"):
        unseal(ring, "table:rbac_users:mallory", seal(ring, "table:rbac_users:admin-001", b"x"))


def test_a_seal_under_another_key_is_refused() -> None:
    with pytest.raises(Forged, match="unknown key"):
        unseal(Keyring.of(KEY), "p", seal(Keyring.of(OTHER), "p", b"x"))


def test_rotation_seals_with_the_new_key_and_opens_the_old_seals() -> None:
    old = seal(Keyring.of(KEY), "p", b"old")
    rotated = Keyring.of(OTHER, KEY)

    new = seal(rotated, "p", b"new")

    assert unseal(rotated, "p", old) == b"old"
    assert new[2:6] == key_id(OTHER) and rotated.current_id == key_id(OTHER).hex()
    with pytest.raises(Forged):
        unseal(Keyring.of(KEY), "p", new)  # a worker without the new key


def test_short_or_missing_keys_are_refused_and_never_shown() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Keyring.of(b"short")
    with pytest.raises(ValueError, match="at least one key"):
        Keyring(())
    assert "kkkk" not in repr(Keyring.of(KEY))
