"""Seal bytes with HMAC-SHA256 under a secret only the workers hold, and open them again.

Every internal command, raw access decision and stored access record travels through Kafka,
where any client with write access to a topic (on the embedded broker: anyone who reaches its
port) could append a message or a changelog record. A sealed value is::

    MAGIC (2 bytes) | key id (4 bytes) | HMAC-SHA256(key, purpose NUL payload) (32) | payload

``purpose`` names what the bytes are for (a topic, or a table and key), so a value sealed for
one place cannot be replayed in another. A :class:`Keyring` seals with its first key and opens
with any of its keys, found by key id: rotate by putting the new key first and keeping the old
one until nothing sealed with it is read any more.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from .errors import Forged

__all__ = ["MIN_KEY_BYTES", "Keyring", "is_sealed", "key_id", "seal", "unseal"]

MAGIC = b"\xa7\x01"
KID_BYTES = 4
MAC_BYTES = 32
MIN_KEY_BYTES = 16
_HEADER = len(MAGIC) + KID_BYTES + MAC_BYTES


def key_id(key: bytes) -> bytes:
    """Return the 4-byte id of a key: it tells which key sealed a value, and reveals nothing."""
    return hashlib.sha256(b"atlas-key-id\x00" + key).digest()[:KID_BYTES]


@dataclass(frozen=True)
class Keyring:
    """Secret keys: the first seals, every one opens (rotation keeps the old ones for a while)."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")
        for key in self.keys:
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(
                    f"a secret key must have at least {MIN_KEY_BYTES} bytes; "
                    "make one with `openssl rand -hex 32`"
                )

    @classmethod
    def of(cls, current: bytes, *previous: bytes) -> Keyring:
        """Return a keyring sealing with ``current`` and opening with it and ``previous``."""
        return cls((current, *previous))

    @property
    def current(self) -> bytes:
        """Return the key that seals."""
        return self.keys[0]

    @property
    def current_id(self) -> str:
        """Return the id (hex) of the key that seals."""
        return key_id(self.current).hex()

    def key_for(self, kid: bytes) -> bytes | None:
        """Return the key whose id is ``kid``, or None when this keyring does not hold it."""
        return next((key for key in self.keys if hmac.compare_digest(key_id(key), kid)), None)

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(<{len(self.keys)} keys, sealing with {self.current_id}>)"


def _mac(key: bytes, purpose: str, payload: bytes) -> bytes:
    return hmac.new(key, purpose.encode("utf-8") + b"\x00" + payload, hashlib.sha256).digest()


def seal(keyring: Keyring, purpose: str, payload: bytes) -> bytes:
    """Return ``payload`` sealed for ``purpose`` with the keyring's current key."""
    key = keyring.current
    return MAGIC + key_id(key) + _mac(key, purpose, payload) + payload


def is_sealed(data: bytes) -> bool:
    """Return whether ``data`` has the shape of a sealed value (not whether its seal holds)."""
    return len(data) >= _HEADER and data[: len(MAGIC)] == MAGIC


def unseal(keyring: Keyring, purpose: str, sealed: bytes) -> bytes:
    """Return the payload of a value sealed for ``purpose``.

    Raises:
        Forged: the value is not sealed, was sealed by a key this keyring lacks, or its seal
            does not match its bytes and purpose (edited, or moved from another place).
    """
    if not isinstance(sealed, bytes | bytearray) or not is_sealed(bytes(sealed)):
        raise Forged("not sealed by a worker")
    data = bytes(sealed)
    kid = data[len(MAGIC): len(MAGIC) + KID_BYTES]
    mac = data[len(MAGIC) + KID_BYTES: _HEADER]
    payload = data[_HEADER:]
    key = keyring.key_for(kid)
    if key is None:
        raise Forged(f"sealed with an unknown key {kid.hex()}")
    if not hmac.compare_digest(mac, _mac(key, purpose, payload)):
        raise Forged("the seal does not match: edited, or sealed for another purpose")
    return payload
