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
from atlas_streams.tables.monitors import verdict_key
from atlas_streams.tables.step import profile_messages
from atlas_streams.tables.windows import WindowIndex
from atlas_streams.windowing import WindowingConfig, WindowProfile, format_instant

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
    windowing = {"d": orjson.dumps(CONFIG.to_json())}
    return CatalogTables(Owned(), {}, {}, Owned(), Owned(), {}, windowing, {}, {})  # type: ignore[arg-type]


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


def test_closed_windows_are_judged_against_the_monitor_reference() -> None:
    catalog = tables()
    catalog.monitors["d"] = orjson.dumps(
        {"reference": f"range:{format_instant(BASE)}/{format_instant(BASE + MINUTE)}"})
    writer = WindowWriter(catalog)
    calm = [Msg(o, b'{"at": %d, "v": %d}' % (BASE + o * 100, o % 10), BASE / 1000 + 60)
            for o in range(200)]
    moved = [Msg(200 + o, b'{"at": %d, "v": %d}' % (BASE + MINUTE + o * 100, 500 + o % 10),
                 BASE / 1000 + 120) for o in range(200)]
    closer = [Msg(400, b'{"at": %d, "v": 1}' % (BASE + 3 * MINUTE), BASE / 1000 + 200)]
    value = None
    for batch in (calm, moved, closer):
        value = profile_messages(value, batch, options=ProfileOptions(),
                                 max_message_bytes=1 << 20, windowing=CONFIG).partial
        assert value is not None
        catalog.state["d/0"] = value
        writer.absorb_stored([("d/0", value)])
    assert set(writer.due) == {("d", BASE), ("d", BASE + MINUTE)}

    events = writer.monitor_due()

    assert events and {e["window"] for e in events} == {format_instant(BASE + MINUTE)}
    assert all(e["column"] == "v" and e["reference"].startswith("range:") for e in events)
    calm_verdict = orjson.loads(catalog.verdicts[verdict_key("d", BASE)])
    moved_verdict = orjson.loads(catalog.verdicts[verdict_key("d", BASE + MINUTE)])
    assert calm_verdict["drift"] is False and moved_verdict["drift"] is True
    assert moved_verdict["inputs"]["window_rows"] == 200 and not writer.due
