"""Each worker's queryable copy of the audit chain: indexed for O(answer) reads, checked as read.

The audit topic keeps every event; scanning it (or a table holding all of it) for each query cost
O(log): ``access-logs?limit=1`` took 170 ms at 16,000 events. Here the events of this
deployment's chain live in a RocksDB database in the worker's data dir, keyed by time, with one
index per filter (user, decision, both), so a query walks back from the newest matching key and
stops after ``limit`` events or at ``since``: it reads about as many keys as it returns.

Events are checked as they are stored (:class:`~atlas_streams.rbac.ChainCheck`): the check's
state is written in the same batch as the events and the topic position, so re-checking after N
new events reads N events, and a restart goes on where it stopped. Retention
(``ATLAS_AUDIT_RETENTION_DAYS``) applies to this copy only; the topic keeps everything.

Keys (``ts`` = microseconds since the epoch, ``seq`` = chain position, both 8 bytes big-endian)::

    t ts seq               -> event JSON          (every event, by time)
    u user NUL ts seq      -> t key               (by user)
    d 0|1 ts seq           -> t key               (by decision: 1 = allowed)
    x 0|1 user NUL ts seq  -> t key               (by decision and user)
    s seq                  -> hash, t key         (to tell a writer's re-send from a forgery)
    p partition            -> next offset to read
    c                      -> the chain check's state
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rocksdict import WriteBatch

from atlas_streams.rbac import ChainBreak, ChainCheck, Keyring, LogQuery, link_problem
from atlas_streams.tables.outbox import open_local_db

__all__ = ["AuditIndex"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX8 = b"\xff" * 8


def _u64(value: int) -> bytes:
    return max(0, min(value, (1 << 64) - 1)).to_bytes(8, "big")


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _ts_of(event: Mapping[str, Any]) -> int:
    try:
        moment = datetime.fromisoformat(str(event.get("ts")))
    except ValueError:
        return 0
    return _micros(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


class AuditIndex:
    """The chain of one deployment (``chain_id``), stored, indexed and checked."""

    def __init__(self, path: Path, keyring: Keyring, chain_id: str, retention: timedelta) -> None:
        self._db = open_local_db(path)
        self.keyring = keyring
        self.chain_id = chain_id
        self.retention = retention
        stored = self._db.get(b"c")
        self.check = _check_from(orjson.loads(stored)) if stored else ChainCheck()

    # ---- writing -------------------------------------------------------------------------

    def positions(self) -> dict[int, int]:
        """Return the next offset to read of each partition of the audit topic."""
        return {int.from_bytes(k[1:], "big"): int.from_bytes(v, "big")
                for k, v in self._prefixed(b"p")}

    def ingest(self, partition: int, records: Sequence[tuple[int, bytes]]) -> int:
        """Store and check one partition's records (offset, value) in order; return events kept.

        Records of other chains (deployments sharing the topic) only move the position.
        """
        if not records:
            return 0
        batch = WriteBatch(raw_mode=True)
        fresh: dict[int, str] = {}  # seq -> hash stored by this batch, not yet written
        kept = 0
        for offset, value in records:
            try:
                event = orjson.loads(value)
            except orjson.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.check = self.check.next(self.keyring, {"reason": "not JSON"}, offset)
                continue
            if event.get("chain") != self.chain_id:
                continue
            kept += self._store(batch, fresh, offset, event)
        batch.put(b"p" + _u64(partition), _u64(records[-1][0] + 1))
        batch.put(b"c", orjson.dumps(_check_json(self.check)))
        self._db.write(batch)
        return kept

    def _store(
        self, batch: WriteBatch, fresh: dict[int, str], offset: int, event: dict[str, Any]
    ) -> int:
        seq = event.get("seq")
        if not isinstance(seq, int) or seq < 0:
            self.check = self.check.next(self.keyring, event, offset)
            return 0
        seen = self._db.get(b"s" + _u64(seq))
        seen_hash = fresh.get(seq) or (seen[:64].decode() if seen else None)
        self.check = self.check.next(self.keyring, event, offset, seen_hash=seen_hash)
        if seen_hash is not None and seen_hash == event.get("hash"):
            return 0  # the writer sent it twice: stored already
        if link_problem(self.keyring, str(event.get("prev_hash")), event) is not None:
            return 0  # not written by a worker: never shown as an access decision
        # Genuine events are kept even after a break, so one forged event cannot hide the
        # decisions that follow it; the break stays reported.
        ts = _ts_of(event)
        tkey = b"t" + _u64(ts) + _u64(seq)
        batch.put(tkey, orjson.dumps(event))
        batch.put(b"s" + _u64(seq), str(event["hash"]).encode() + tkey)
        fresh[seq] = str(event["hash"])
        for key in _index_keys(event, ts, seq):
            batch.put(key, tkey)
        return 1

    def expire(self, now: datetime) -> int:
        """Drop events older than the retention from this copy; return how many."""
        cutoff = b"t" + _u64(_micros(now - self.retention))
        batch = WriteBatch(raw_mode=True)
        dropped = 0
        for tkey, value in self._prefixed(b"t"):
            if tkey >= cutoff or dropped >= 10_000:
                break
            event = orjson.loads(value)
            ts, seq = int.from_bytes(tkey[1:9], "big"), int.from_bytes(tkey[9:], "big")
            for key in (tkey, b"s" + _u64(seq), *_index_keys(event, ts, seq)):
                batch.delete(key)
            dropped += 1
        if dropped:
            self._db.write(batch)
        return dropped

    # ---- reading -------------------------------------------------------------------------

    def query(self, query: LogQuery) -> list[dict[str, Any]]:
        """Return the events matching ``query``, newest first, reading about as many keys."""
        allowed = None if query.decision is None else query.decision == "allowed"
        flag = b"" if allowed is None else (b"1" if allowed else b"0")
        user = None if query.user is None else query.user.encode() + b"\x00"
        if user is not None:
            prefix = (b"x" + flag + user) if flag else (b"u" + user)
        else:
            prefix = (b"d" + flag) if flag else b"t"
        floor = prefix + (_u64(_micros(query.since)) if query.since is not None else b"")
        found: list[dict[str, Any]] = []
        for key, value in self._db.items(backwards=True, from_key=prefix + _MAX8 + _MAX8):
            if not key.startswith(prefix) or key < floor or len(found) >= query.limit:
                break
            raw = value if prefix == b"t" else self._db.get(value)
            if raw is not None:
                found.append(orjson.loads(raw))
        return found

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Return the newest ``limit`` events, newest first."""
        return self.query(LogQuery(limit=limit))

    def _prefixed(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._db.items(from_key=prefix):
            if not key.startswith(prefix):
                return
            yield key, value

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._db is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]


def _index_keys(event: Mapping[str, Any], ts: int, seq: int) -> list[bytes]:
    suffix = _u64(ts) + _u64(seq)
    flag = b"1" if event.get("allowed") is True else b"0"
    keys = [b"d" + flag + suffix]
    user = event.get("user_id")
    if isinstance(user, str) and "\x00" not in user:
        encoded = user.encode() + b"\x00"
        keys += [b"u" + encoded + suffix, b"x" + flag + encoded + suffix]
    return keys


def _check_json(check: ChainCheck) -> dict[str, Any]:
    return {"seq": check.seq, "hash": check.hash, "checked": check.checked,
            "broken": None if check.broken is None else check.broken.to_json(),
            "origins": dict(check.origins)}


def _check_from(body: Mapping[str, Any]) -> ChainCheck:
    broken = body.get("broken")
    found = None if broken is None else ChainBreak(
        broken["offset"], broken["seq"], broken["event_id"], broken["reason"])
    origins = {str(k): int(v) for k, v in dict(body.get("origins") or {}).items()}
    return ChainCheck(int(body["seq"]), str(body["hash"]), int(body["checked"]), found, origins)
