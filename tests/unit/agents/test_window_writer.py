"""The window writer over in-memory tables: open windows written late, restored on restart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from atlas_streams.agents import windows as writer_module
from atlas_streams.agents.windows import WindowWriter
from atlas_streams.profiling import ProfileOptions
from atlas_streams.tables.catalog import CatalogTables
from atlas_streams.tables.step import profile_messages
from atlas_streams.tables.windows import WindowIndex
from atlas_streams.windowing import WindowingConfig, WindowProfile

MINUTE = 60_000
BASE = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE
CONFIG = WindowingConfig(event_time="at", size=MINUTE, grace=1_000, retention=60 * MINUTE)


class Owned:
    """An OwnedTable in memory: one dict is both the owner's table and the copies."""

    def __init__(self) -> None:
        self.own: dict[str, bytes] = {}

    def owned(self, key: str) -> bytes | None:
        return self.own.get(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self.own.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.own[key] = value

    def pop(self, key: str, default: Any = None) -> Any:
        return self.own.pop(key, default)

    def keys(self) -> Iterator[str]:
        return iter(list(self.own))


@dataclass(frozen=True)
class Msg:
    offset: int
    value: bytes
    timestamp: float


def tables() -> CatalogTables:
    return CatalogTables(Owned(), {}, {}, Owned(), Owned(), {}, {}, {}, {})  # type: ignore[arg-type]


def store(catalog: CatalogTables, key: str, offsets: range, stored: bytes | None,
          config: WindowingConfig = CONFIG, at: int = BASE) -> bytes:
    messages = [Msg(o, b'{"at": %d, "v": %d}' % (at + o, o), (at + MINUTE) / 1000)
                for o in offsets]
    value = profile_messages(stored, messages, options=ProfileOptions(),
                             max_message_bytes=1 << 20, windowing=config).partial
    assert value is not None
    catalog.state[key] = value
    return value


def stored_rows(catalog: CatalogTables) -> int:
    value = catalog.windows.owned(f"d/{BASE}")  # type: ignore[union-attr]
    return WindowProfile.from_bytes(value).row_count if value else 0


def listed_rows(catalog: CatalogTables) -> int:
    index = WindowIndex.from_bytes(catalog.window_index.owned("d"))  # type: ignore[union-attr]
    return index.summaries[BASE].row_count


def test_open_windows_are_written_late_and_restored_by_the_next_writer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tables()
    writer = WindowWriter(catalog)
    first = store(catalog, "d/0", range(0, 5), None)
    writer.absorb_stored([("d/0", first)])
    assert stored_rows(catalog) == listed_rows(catalog) == 5  # a new window: written at once
    second = store(catalog, "d/0", range(5, 9), first)
    writer.absorb_stored([("d/0", second)])
    assert listed_rows(catalog) == 9 and stored_rows(catalog) == 5  # a newer open copy: later

    restarted = WindowWriter(catalog)  # the lazy copy died with the first writer
    monkeypatch.setattr(writer_module, "LAZY_WRITE_SECONDS", 0.0)
    restarted.tick_all()  # absorbs every stored partial again, then writes what is due
    assert stored_rows(catalog) == listed_rows(catalog) == 9


def test_windows_past_the_retention_are_deleted_in_event_time() -> None:
    catalog = tables()
    short = WindowingConfig(event_time="at", size=MINUTE, grace=1_000, retention=MINUTE + 1_000)
    catalog.windowing["d"] = orjson.dumps(short.to_json())
    writer = WindowWriter(catalog)
    first = store(catalog, "d/0", range(0, 3), None, short)
    writer.absorb_stored([("d/0", first)])
    assert catalog.windows.owned(f"d/{BASE}") is not None  # type: ignore[union-attr]
    # Five minutes of event time later: the first window ended before watermark - retention.
    later = store(catalog, "d/0", range(3, 4), first, short, at=BASE + 5 * MINUTE)
    writer.absorb_stored([("d/0", later)])
    index = WindowIndex.from_bytes(catalog.window_index.owned("d"))  # type: ignore[union-attr]
    assert BASE not in index.summaries and BASE + 5 * MINUTE in index.summaries
    assert catalog.windows.owned(f"d/{BASE}") is None  # type: ignore[union-attr]
