"""Every table opens its RocksDB databases with the bounded options of tables/store.py."""

from __future__ import annotations

from pathlib import Path

from faust.stores.rocksdb import RocksDBOptions

from atlas_streams.app import create_app
from atlas_streams.settings import Settings
from atlas_streams.tables.store import WRITE_BUFFER_BYTES, WRITE_BUFFERS, store_options


def test_every_table_of_the_app_has_the_bounded_store_options(tmp_path: Path) -> None:
    atlas = create_app(Settings(data_dir=tmp_path, demo_keys=True), broker_kind="embedded")
    tables = list(atlas.app.tables.values())
    assert len(tables) >= 9  # catalog, access and registry tables are all registered
    for table in tables:
        assert table.options == store_options(), table.name


def test_each_call_returns_a_new_dict() -> None:
    first = store_options()
    first.pop("write_buffer_size")  # what Faust's store does to the dict it is given
    assert store_options()["write_buffer_size"] == WRITE_BUFFER_BYTES


def test_a_real_database_is_opened_with_them(tmp_path: Path) -> None:
    # RocksDB records its write buffer options in the OPTIONS file it writes (not the cache).
    path = tmp_path / "partials-0.db"
    db = RocksDBOptions(**store_options(), use_rocksdict=True).open(path)
    try:
        db[b"dataset/0"] = b"x" * 120_000
        assert db[b"dataset/0"] == b"x" * 120_000
    finally:
        db.close()
    options = next(path.glob("OPTIONS-*")).read_text()
    assert f"write_buffer_size={WRITE_BUFFER_BYTES}\n" in options
    assert f"max_write_buffer_number={WRITE_BUFFERS}\n" in options
