"""A worker's durable queue of records waiting for Kafka: written before a response, sent later.

An HTTP response must not wait on Kafka (a rebalance held every request for seconds while the
audit send waited on Faust's producer), yet no access decision may be lost. So a decision is
appended here, in a RocksDB database in the worker's data dir, before its response is sent:
RocksDB writes its log before it returns, and a process killed with SIGKILL loses nothing the
operating system already holds. A shipper (``agents/trail.py``) sends records in order and
acknowledges them here only after Kafka did; what was sent but not yet acknowledged when the
worker died is sent again, and the chain writer drops the copy by ``(origin, seq)``.

``origin`` names this data dir (made once, kept with the records) and ``seq`` only grows, even
across restarts, so the pair identifies a record for good.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from rocksdict import AccessType, Options, Rdict, WriteBatch

__all__ = ["DataDirInUse", "Outbox", "open_local_db"]

_RECORD = b"r"
_NEXT = b"m/next"
_ORIGIN = b"m/origin"


class DataDirInUse(RuntimeError):
    """Another process holds a worker database: two workers were given the same data dir."""


def open_local_db(path: Path) -> Rdict:
    """Open (creating) a RocksDB database of this worker's own, keys and values as bytes."""
    path.mkdir(parents=True, exist_ok=True)
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    try:
        return Rdict(str(path), options, access_type=AccessType.read_write())
    except Exception as exc:  # rocksdict raises a bare Exception for a held lock
        raise DataDirInUse(
            f"cannot open {path}: {exc}. Each worker needs a data dir of its own."
        ) from None


def _record_key(seq: int) -> bytes:
    return _RECORD + seq.to_bytes(8, "big")


class Outbox:
    """Records in append order, each with a sequence number, until :meth:`ack` removes them."""

    def __init__(self, path: Path) -> None:
        self._db = open_local_db(path)
        origin = self._db.get(_ORIGIN)
        if origin is None:
            origin = secrets.token_hex(8).encode()
            self._db.put(_ORIGIN, origin)
        self.origin: str = origin.decode()
        stored = self._db.get(_NEXT)
        self._next = int.from_bytes(stored, "big") if stored else 0
        self._first = 0  # no record below this one is pending: reads start here, not at the
        # range tombstones that acknowledgements leave behind

    def append(self, make: bytes | Callable[[int], bytes]) -> int:
        """Store one record and return its sequence number.

        ``make`` is the record's bytes, or a callable that takes the sequence number and
        returns them (so a record can carry its own number).
        """
        seq = self._next
        value = make(seq) if callable(make) else make
        if not isinstance(value, bytes):
            raise TypeError("an outbox record is bytes")
        batch = WriteBatch(raw_mode=True)
        batch.put(_record_key(seq), value)
        batch.put(_NEXT, (seq + 1).to_bytes(8, "big"))
        self._db.write(batch)
        self._next = seq + 1
        return seq

    def pending(self, limit: int) -> list[tuple[int, bytes]]:
        """Return up to ``limit`` unacknowledged records, oldest first."""
        found: list[tuple[int, bytes]] = []
        for key, value in self._db.items(from_key=_record_key(self._first)):
            if not key.startswith(_RECORD) or len(found) >= limit:
                break
            found.append((int.from_bytes(key[1:], "big"), value))
        return found

    def ack(self, through: int) -> None:
        """Forget every record up to and including sequence number ``through``."""
        self._db.delete_range(_record_key(self._first), _record_key(through + 1))
        self._first = max(self._first, through + 1)

    def __len__(self) -> int:
        count = 0
        for key in self._db.keys(from_key=_record_key(self._first)):
            if not key.startswith(_RECORD):
                break
            count += 1
        return count

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._db is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]
