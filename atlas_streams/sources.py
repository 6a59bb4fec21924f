"""Read rows from files for ``atlas-streams produce``: CSV with typed cells, JSON Lines, Parquet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["FORMATS", "SourceError", "count_rows", "guess_format", "read_rows", "typed_cell"]

FORMATS = ("csv", "jsonl", "parquet")


class SourceError(ValueError):
    """A file cannot be read as rows; the message says which line and why."""


def guess_format(path: Path) -> str:
    """Return the format named by the file's extension."""
    suffix = path.suffix.lower().lstrip(".")
    aliases = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl",
               "parquet": "parquet", "pq": "parquet"}
    if suffix not in aliases:
        raise SourceError(f"cannot tell the format of {path.name}: pass --format csv|jsonl|parquet")
    return aliases[suffix]


def typed_cell(text: str) -> Any:
    """Return a CSV cell as the value a user expects: int, float, bool, None or the text.

    Leading zeros do not keep a cell text (``"007"`` is 7): give codes as JSON Lines instead.
    """
    if text == "":
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if "_" in text or not text.isascii():
        return text  # int() and float() also take Python's "1_000" and non-ASCII digits
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    # "nan"/"inf" are words in a CSV more often than numbers, and JSON cannot carry them.
    return value if value == value and value not in (float("inf"), float("-inf")) else text


def read_rows(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Yield the rows of ``path`` as dicts."""
    if fmt == "csv":
        yield from _csv_rows(path)
    elif fmt == "jsonl":
        yield from _jsonl_rows(path)
    elif fmt == "parquet":
        yield from _parquet_rows(path)
    else:
        raise SourceError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def count_rows(path: Path, fmt: str) -> int | None:
    """Return the number of rows cheaply when the format allows it (for the progress bar)."""
    if fmt == "parquet":
        return int(_parquet_file(path).metadata.num_rows)
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise SourceError(f"{path.name}: empty CSV, expected a header line")
        for number, cells in enumerate(reader, start=2):
            if not cells:
                continue
            if len(cells) != len(header):
                raise SourceError(
                    f"{path.name} line {number}: {len(cells)} cells, the header has {len(header)}"
                )
            yield {name: typed_cell(cell) for name, cell in zip(header, cells, strict=True)}


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise SourceError(f"{path.name} line {number}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise SourceError(f"{path.name} line {number}: expected a JSON object per line")
            yield row


def _parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SourceError(
            "reading Parquet needs pyarrow: pip install 'atlas-streams[parquet]'"
        ) from None
    return pq.ParquetFile(path)


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    for batch in _parquet_file(path).iter_batches(batch_size=10_000):
        yield from batch.to_pylist()
