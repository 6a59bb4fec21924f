"""API keys: generation, peppered hashing, constant-time verification and key-id lookup.

A generated key reads ``atl_<key_id>_<secret>``: the 16-hex key id is not secret and lets the
caller find the one stored hash to check without scanning every user. The key id is minted from
the secret with the pepper (:func:`minted`), so a worker can tell a key that some worker made
(one created a moment ago on another worker, worth waiting for) from a guess (refused at once).
Keys in any other shape (the demo keys, an operator-chosen ``ATLAS_ADMIN_KEY``) get a key id
derived from the key with the pepper, so an id seen in the audit log cannot be used to guess
such a key offline. Only
the HMAC of a key is ever stored; the plaintext is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = [
    "KEY_PREFIX",
    "MAX_KEY_LENGTH",
    "generate_key",
    "hash_key",
    "key_id_for",
    "minted",
    "parse_key",
    "verify_key",
]

KEY_PREFIX = "atl_"
MAX_KEY_LENGTH = 256  # longer header values are refused before any hashing
_KEY_ID_HEX = 16
_SECRET_BYTES = 32
_FORMAT = re.compile(r"atl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def generate_key(pepper: bytes) -> tuple[str, str]:
    """Return a new ``(key_id, plaintext)`` pair: a secret from :mod:`secrets`, its id minted."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    key_id = _mint(pepper, secret)
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}"


def _mint(pepper: bytes, secret: str) -> str:
    return _hmac(pepper, b"atlas-key-mint\x00", secret)[:_KEY_ID_HEX]


def minted(plaintext: object, pepper: bytes) -> bool:
    """Return whether a well-formed generated key was made by a worker holding ``pepper``."""
    key_id = parse_key(plaintext)
    if key_id is None or not isinstance(plaintext, str):
        return False
    secret = plaintext[len(KEY_PREFIX) + _KEY_ID_HEX + 1:]  # the secret may hold "_" too
    return hmac.compare_digest(key_id, _mint(pepper, secret))


def parse_key(plaintext: object) -> str | None:
    """Return the key id of a well-formed generated key, or None for anything else."""
    if not isinstance(plaintext, str) or len(plaintext) > MAX_KEY_LENGTH:
        return None
    match = _FORMAT.fullmatch(plaintext)
    return match.group(1) if match else None


def key_id_for(plaintext: object, pepper: bytes) -> str | None:
    """Return the key id to look a presented key up by, or None if it cannot be a key.

    Generated keys carry their id; any other non-empty string (a demo key, an operator's
    admin key) gets the first 16 hex of its HMAC under ``pepper`` with a separate label.
    """
    key_id = parse_key(plaintext)
    if key_id is not None:
        return key_id
    if not isinstance(plaintext, str) or not plaintext or len(plaintext) > MAX_KEY_LENGTH:
        return None
    return _hmac(pepper, b"atlas-key-id\x00", plaintext)[:_KEY_ID_HEX]


def hash_key(plaintext: str, pepper: bytes) -> str:
    """Return the HMAC-SHA256 (hex) of ``plaintext`` under ``pepper``: what is stored."""
    if not pepper:
        raise ValueError("the key pepper is empty: set ATLAS_KEY_PEPPER to a long random secret")
    return _hmac(pepper, b"atlas-key-hash\x00", plaintext)


def verify_key(plaintext: object, stored_hash: str, pepper: bytes) -> bool:
    """Return whether ``plaintext`` hashes to ``stored_hash``, comparing in constant time."""
    if not isinstance(plaintext, str) or not plaintext or len(plaintext) > MAX_KEY_LENGTH:
        return False
    if not isinstance(stored_hash, str) or not stored_hash.isascii():
        return False
    return hmac.compare_digest(hash_key(plaintext, pepper), stored_hash)


def _hmac(pepper: bytes, label: bytes, plaintext: str) -> str:
    message = label + plaintext.encode("utf-8", "surrogatepass")
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()
