"""Table values sealed by the writer and checked by every reader.

Faust restores a table from its changelog topic as it finds it, and anyone who can write to that
topic can add a record: a user with the admin role, a key that maps to the admin, a chain head.
Values of the access tables are therefore sealed (:func:`~atlas_streams.rbac.seal`, bound to the
table's name and the record's key) when written, and a value whose seal does not hold is treated
as absent when read: the forged record changes nothing, and its first sighting is reported once
to ``on_forged`` (which audits it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from atlas_streams.rbac import Forged, Keyring, seal, unseal

__all__ = ["OnForged", "SealedTable"]

log = logging.getLogger(__name__)

OnForged = Callable[[str, str, str], None]  # (table, key, why)


class SealedTable:
    """A table (or :class:`~atlas_streams.tables.owned.OwnedTable`) whose values are sealed."""

    def __init__(self, table: Any, name: str, keyring: Keyring, on_forged: OnForged) -> None:
        self.table = table
        self.name = name
        self.keyring = keyring
        self.on_forged = on_forged
        self._reported: set[bytes] = set()

    def _purpose(self, key: str) -> str:
        return f"table:{self.name}:{key}"

    def _open(self, key: str, raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        try:
            return unseal(self.keyring, self._purpose(key), raw)
        except Forged as exc:
            digest = hashlib.sha256(key.encode() + b"\x00" + raw).digest()
            if digest not in self._reported:  # once per forged value, not once per read
                self._reported.add(digest)
                log.error("table %s: the value of %r is not sealed by a worker (%s); ignored",
                          self.name, key, exc)
                self.on_forged(self.name, key, str(exc))
            return None

    def get(self, key: str, default: Any = None) -> Any:
        """Return this worker's value for ``key``, or ``default`` when absent or forged."""
        value = self._open(key, self.table.get(key))
        return default if value is None else value

    def owned(self, key: str) -> bytes | None:
        """Return the owning agent's value for ``key`` (an OwnedTable's own copy)."""
        return self._open(key, self.table.owned(key))

    def owned_items(self) -> Iterator[tuple[str, bytes]]:
        """Yield the owning agent's genuine (key, value) pairs."""
        for key, raw in list(self.table.own.items()):
            value = self._open(key, raw)
            if value is not None:
                yield key, value

    def items(self) -> Iterator[tuple[str, bytes]]:
        """Yield this worker's genuine (key, value) pairs."""
        for key, raw in list(self.table.items()):
            value = self._open(key, raw)
            if value is not None:
                yield key, value

    def values(self) -> Iterator[bytes]:
        """Yield this worker's genuine values."""
        for _, value in self.items():
            yield value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[key] = seal(self.keyring, self._purpose(key), value)

    def pop(self, key: str, default: Any = None) -> Any:
        """Remove ``key``; return its genuine value (or ``default``)."""
        value = self._open(key, self.table.pop(key, None))
        return default if value is None else value
