"""The outbox keeps records in order across restarts until they are acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_streams.tables.outbox import DataDirInUse, Outbox


def test_records_come_back_in_order_until_acknowledged(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o")
    seqs = [outbox.append(b"r%d" % i) for i in range(5)]

    assert seqs == [0, 1, 2, 3, 4] and len(outbox) == 5
    assert outbox.pending(2) == [(0, b"r0"), (1, b"r1")]
    outbox.ack(2)
    assert outbox.pending(10) == [(3, b"r3"), (4, b"r4")] and len(outbox) == 2


def test_a_record_can_carry_its_own_sequence_number(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o")
    outbox.append(b"first")

    seq = outbox.append(lambda n: b"I am %d" % n)

    assert outbox.pending(5)[-1] == (seq, b"I am 1")


def test_a_reopened_outbox_keeps_its_origin_its_records_and_never_reuses_a_number(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "o")
    origin = outbox.origin
    for i in range(3):
        outbox.append(b"r%d" % i)
    outbox.ack(2)  # everything sent
    outbox.close()

    again = Outbox(tmp_path / "o")

    assert again.origin == origin and again.pending(5) == []
    assert again.append(b"next") == 3  # a restart must not reuse 0..2: the chain drops re-sends
    assert Outbox(tmp_path / "other").origin != origin


def test_a_second_process_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    held = Outbox(tmp_path / "o")

    with pytest.raises(DataDirInUse, match="data dir of its own"):
        Outbox(tmp_path / "o")
    held.close()
