"""How every table's RocksDB databases are opened: a small, fixed memory budget each.

Faust opens one RocksDB database per table partition with up to three 64 MiB write buffers and
a 2 GiB block cache. Our tables hold few keys (a partial profile per dataset partition, a model
per name) that are rewritten all the time, so the write buffers fill with superseded versions
before they flush: measured, 12,000 rewrites of 120 KB values across six databases took a
process to 441 MiB with Faust's options and kept it at 67 MiB with these. A worker fed small batches
rewrites a partial per batch and would grow towards a gigabyte. With these options a database
holds at most two 2 MiB write buffers, and reads go through an 8 MiB cache.
"""

from __future__ import annotations

from typing import Any

__all__ = ["store_options"]

MIB = 1 << 20
WRITE_BUFFER_BYTES = 2 * MIB
WRITE_BUFFERS = 2
BLOCK_CACHE_BYTES = 8 * MIB


def store_options() -> dict[str, Any]:
    """Return the options of a table's ``rocksdb://`` store, as a new dict.

    A new dict each call: Faust's store pops keys from the one it is given.
    """
    return {
        "write_buffer_size": WRITE_BUFFER_BYTES,
        "max_write_buffer_number": WRITE_BUFFERS,
        "block_cache_size": BLOCK_CACHE_BYTES,
    }
