"""Unit tests of the file sources: typed CSV cells, CSV, JSON Lines and Parquet rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas_streams.sources import SourceError, count_rows, guess_format, read_rows, typed_cell


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("+7", 7),
        ("12345678901234567890", 12345678901234567890),  # Python ints do not overflow
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("true", True),
        ("FALSE", False),
        ("True", True),
        ("tRuE", True),
        (" true ", True),  # bools are matched stripped
        ("yes", "yes"),  # only true/false are bools
        ("1", 1),  # not a bool
        ("hello", "hello"),
        (" ", " "),  # only the empty cell is None
        ("nan", "nan"),  # nan and inf stay text: JSON cannot carry them
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("-Infinity", "-Infinity"),
        ("1e999", "1e999"),  # overflows to inf, so stays text
        # Today's behaviour, kept on purpose: leading zeros parse as numbers, so codes such as
        # ZIP "02134" lose their zero. Give such columns as JSON Lines to keep them text.
        ("007", 7),
        ("02134", 2134),
        ("00.50", 0.5),
        (" 42 ", 42),  # surrounding spaces are ignored by int()
        # Python literal syntax is not CSV: digit separators and non-ASCII digits stay text.
        ("1_000", "1_000"),
        ("1_000.5", "1_000.5"),
        ("\u0663", "\u0663"),  # ARABIC-INDIC DIGIT THREE
        ("0x1F", "0x1F"),
    ],
)
def test_typed_cell(text: str, value: Any) -> None:
    result = typed_cell(text)

    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("A.CSV", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("dir.v2/a.Parquet", "parquet"),
    ],
)
def test_guess_format_reads_the_extension(name: str, fmt: str) -> None:
    assert guess_format(Path(name)) == fmt


@pytest.mark.parametrize("name", ["a.txt", "a", "a.csv.gz"])
def test_guess_format_asks_for_format_when_unknown(name: str) -> None:
    with pytest.raises(SourceError, match="--format"):
        guess_format(Path(name))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_are_typed_and_blank_lines_skipped(tmp_path: Path) -> None:
    text = '\ufeffid,name,ok,score\n1,ann,true,\n\n2,"b, c",False,2.5\n'  # BOM, quoted comma
    path = _write(tmp_path, "d.csv", text)

    assert list(read_rows(path, "csv")) == [
        {"id": 1, "name": "ann", "ok": True, "score": None},
        {"id": 2, "name": "b, c", "ok": False, "score": 2.5},
    ]
    assert count_rows(path, "csv") == 2


@pytest.mark.parametrize(
    ("text", "line"), [("a,b\n1,2\n3\n", 3), ("a,b\n1,2\n\n1,2,3\n", 4)]
)
def test_csv_row_that_does_not_match_the_header_names_the_line(
    tmp_path: Path, text: str, line: int
) -> None:
    path = _write(tmp_path, "d.csv", text)

    with pytest.raises(SourceError, match=rf"^d\.csv line {line}: \d cells, the header has 2$"):
        list(read_rows(path, "csv"))


def test_empty_csv_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", "")

    with pytest.raises(SourceError, match="empty CSV"):
        list(read_rows(path, "csv"))
    assert count_rows(path, "csv") == 0


def test_jsonl_rows_skip_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.jsonl", '{"a": 1}\n\n  \n{"a": null, "b": [1]}\r\n')

    assert list(read_rows(path, "jsonl")) == [{"a": 1}, {"a": None, "b": [1]}]
    assert count_rows(path, "jsonl") == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"a": 1}\n{"a": \n', r"^d\.jsonl line 2: not JSON \("),
        ('{"a": 1}\n\n[1, 2]\n', r"^d\.jsonl line 3: expected a JSON object per line$"),
        ("42\n", r"^d\.jsonl line 1: expected a JSON object"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, "d.jsonl", text)

    with pytest.raises(SourceError, match=match):
        list(read_rows(path, "jsonl"))


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unknown format 'xml'"):
        list(read_rows(tmp_path / "d.xml", "xml"))


def test_parquet_round_trip(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": i, "name": f"n{i}", "score": i / 4, "ok": i % 2 == 0} for i in range(25_001)]
    rows[3]["name"] = None
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)

    assert count_rows(path, "parquet") == len(rows)
    assert list(read_rows(path, "parquet")) == rows  # over several 10,000-row batches
