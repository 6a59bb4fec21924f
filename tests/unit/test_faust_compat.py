"""The commit rule of faust_compat: nothing is committed past an offset that was not acked."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from intervaltree import IntervalTree

from atlas_streams import faust_compat
from atlas_streams.faust_compat import committable_offset

PARTITION = TP("datasets.orders", 0)


def consumer(committed: int | None, *acked: int, rebalancing: bool = False) -> Any:
    """Return the parts of Faust's consumer that committable_offset reads and writes."""
    sought: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        sought.append((tp, offset))

    made = SimpleNamespace(
        _acked=defaultdict(list), _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None), app=SimpleNamespace(rebalancing=rebalancing),
        seek=seek, sought=sought,
    )
    made._committed_offset[PARTITION] = committed
    made._acked[PARTITION].extend(acked)
    made._acked_index[PARTITION].update(acked)
    return made


@pytest.mark.parametrize(("committed", "acked", "expected"), [
    (0, (0, 1, 2), 3),  # the run starts at the head: commit its end
    (5, (5, 6, 8, 9), 7),  # up to the first hole
    (0, (1, 2, 3), None),  # offset 0 never acked: Faust would commit 4 (committed 0 is falsy)
    (5, (6, 7), None),  # one missing head offset: Faust's "> 1" would commit 8
    (None, (3, 4), 5),  # start unknown (no seek yet): Faust's own rule
])
def test_commits_only_the_acked_run_from_the_head(
    committed: int | None, acked: tuple[int, ...], expected: int | None
) -> None:
    made = consumer(committed, *acked)
    assert committable_offset(made, PARTITION) == expected
    if expected is not None:
        assert made._acked[PARTITION] == [o for o in acked if o >= expected]


def test_an_offset_acked_twice_does_not_cut_the_run() -> None:
    # Every offset twice made each commit advance one offset (test_scaleout, CI).
    made = consumer(2000, *sorted([*range(2000, 2010), *range(2000, 2010)]))
    assert committable_offset(made, PARTITION) == 2010
    assert made._acked[PARTITION] == [] and made._acked_index[PARTITION] == set()


def test_a_gap_that_includes_an_acked_offset_commits_past_both() -> None:
    made = consumer(0, 0, 3, 4)
    made._gap[PARTITION].addi(1, 4)  # Faust's gap ends at (includes) the message that showed it
    assert committable_offset(made, PARTITION) == 5


def test_offsets_already_committed_never_move_the_commit_back() -> None:
    made = consumer(10, 3, 4, 10, 11)
    assert committable_offset(made, PARTITION) == 12
    assert committable_offset(consumer(10, 3, 4), PARTITION) is None


def test_offsets_known_to_be_missing_from_the_log_count_as_acked() -> None:
    made = consumer(0, 2, 3)
    made._gap[PARTITION].addi(0, 2)  # Faust saw offsets jump from -1 to 2
    assert committable_offset(made, PARTITION) == 4


def test_a_head_left_unacked_is_read_again_then_recorded_as_a_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(faust_compat.time, "monotonic", lambda: clock[0])

    async def run() -> Any:
        made = consumer(10, 11, 12)
        assert committable_offset(made, PARTITION) is None  # first seen: wait
        clock[0] += faust_compat.STUCK_SECONDS - 1
        assert committable_offset(made, PARTITION) is None
        await asyncio.sleep(0)
        assert made.sought == []  # not yet stuck long enough
        clock[0] += 1
        assert committable_offset(made, PARTITION) is None
        await asyncio.sleep(0)
        assert made.sought == [(PARTITION, 10)]  # read again from the head
        clock[0] += faust_compat.STUCK_SECONDS
        assert committable_offset(made, PARTITION) is None  # still missing: the log has no offset 10
        await asyncio.sleep(0)
        assert made.sought == [(PARTITION, 10)]  # read again once only
        return made

    made = asyncio.run(run())
    assert committable_offset(made, PARTITION) == 13  # the gap is committed past


def test_nothing_is_read_again_during_a_rebalance(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(faust_compat.time, "monotonic", lambda: clock[0])

    async def run() -> list[Any]:
        made = consumer(10, 11, rebalancing=True)
        committable_offset(made, PARTITION)
        clock[0] += 10 * faust_compat.STUCK_SECONDS
        assert committable_offset(made, PARTITION) is None
        await asyncio.sleep(0)
        return list(made.sought)

    assert asyncio.run(run()) == []  # the rebalance's own seek to the committed offset reads it


def test_revoking_a_tables_partitions_makes_no_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from faust.stores.rocksdb import Store

    faust_compat.apply_workarounds()
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(1) or 0)
    changelog = "app-partials-changelog"
    closed = object()
    store = SimpleNamespace(_dbs={0: closed, 3: object()}, logger=SimpleNamespace(info=print))
    table = SimpleNamespace(changelog_topic=SimpleNamespace(topics={changelog}))

    Store.revoke_partitions(store, table, {TP(changelog, 0), TP("another-changelog", 3)})

    assert set(store._dbs) == {3} and collections == []  # it held the loop ~1 s a rebalance


@pytest.mark.parametrize(("answer", "expected"), [(None, None), (7, 7)])
def test_an_unknown_highwater_stays_unknown(answer: int | None, expected: int | None) -> None:
    # aiokafka answers None before a partition's first fetch; int(None) stopped a worker.
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    faust_compat.apply_workarounds()
    inner = SimpleNamespace(highwater=lambda tp: answer)
    thread = SimpleNamespace(consumer=SimpleNamespace(in_transaction=False),
                             _ensure_consumer=lambda: inner)

    assert AIOKafkaConsumerThread.highwater(thread, TP("t", 0)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("subscription", [None, SimpleNamespace(assignment=None)])
def test_a_commit_between_a_subscription_change_and_its_assignment_is_not_a_crash(
    subscription: Any,
) -> None:
    # aiokafka raised IllegalStateError there and Faust crashed the worker (CI, test_scaleout).
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    faust_compat.apply_workarounds()
    commits: list[Any] = []

    async def commit(offsets: Any) -> None:
        commits.append(offsets)

    inner = SimpleNamespace(_subscription=SimpleNamespace(subscription=subscription),
                            commit=commit)
    thread = SimpleNamespace(_ensure_consumer=lambda: inner)

    assert asyncio.run(AIOKafkaConsumerThread._commit(thread, {TP("t", 0): 5})) is False
    assert commits == []


def test_a_commit_with_an_assignment_goes_through() -> None:
    from aiokafka import TopicPartition
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    faust_compat.apply_workarounds()
    commits: list[Any] = []

    async def commit(offsets: Any) -> None:
        commits.append(offsets)

    inner = SimpleNamespace(_subscription=SimpleNamespace(
        subscription=SimpleNamespace(assignment=object())), commit=commit)
    thread = SimpleNamespace(_ensure_consumer=lambda: inner, assignment=lambda: {TP("t", 0)},
                             tp_last_committed_at={})

    assert asyncio.run(AIOKafkaConsumerThread._commit(thread, {TP("t", 0): 5})) is True
    assert [{tp: meta.offset for tp, meta in c.items()} for c in commits] == [
        {TopicPartition("t", 0): 5}]


class IdleHeadApp:
    """The parts of a Faust app the idle-head timer reads: one internal partition at ``end``."""

    def __init__(self, committed: int, end: int, dataset_end: int = 9) -> None:
        self.rebalancing = False
        self.timers: list[Any] = []
        self.tables = SimpleNamespace(changelog_topics={"app-table-changelog"})
        self.topics = SimpleNamespace(acks_enabled_for=lambda topic: True)
        self.decisions, self.dataset = TP("app-audit-decisions", 0), TP("datasets.orders", 0)
        self.changelog = TP("app-table-changelog", 0)
        self.sought: list[tuple[TP, int]] = []
        ends = {self.decisions: end, self.dataset: dataset_end, self.changelog: 5}

        async def seek(tp: TP, offset: int) -> None:
            self.sought.append((tp, offset))

        self.consumer = SimpleNamespace(
            _unacked_messages=set(), _acked=defaultdict(list), seek=seek,
            _read_offset={tp: end - 1 for tp, end in ends.items()},  # all handed to streams
            _committed_offset={self.decisions: committed, self.dataset: 0, self.changelog: 0},
            assignment=lambda: set(ends), highwater=ends.get,
        )

    def timer(self, interval: float, name: str) -> Any:
        def register(function: Any) -> Any:
            self.timers.append(function)
            return function
        return register

    def check(self, times: int) -> None:
        for _ in range(times):
            asyncio.run(self.timers[0]())


def internal_only(tp: TP) -> int | None:
    """Three quiet checks for internal topics; dataset topics are left to the profiler."""
    return None if tp.topic.startswith("datasets.") else 3


def test_an_idle_head_of_an_internal_topic_is_read_again_after_three_quiet_checks() -> None:
    app = IdleHeadApp(committed=3, end=7)
    faust_compat.read_idle_heads_again(app, internal_only)
    app.check(2)
    assert app.sought == []
    app.check(1)  # the dataset topic is the profiler's, the changelog Faust's
    assert app.sought == [(app.decisions, 3)]


def test_each_partition_gets_the_quiet_checks_its_owner_asks_for() -> None:
    app = IdleHeadApp(committed=3, end=7)
    faust_compat.read_idle_heads_again(app, lambda tp: 5 if tp.topic.startswith("datasets.") else 2)
    app.check(4)
    assert app.sought == [(app.decisions, 3), (app.decisions, 3)]  # read again every 2 checks
    app.check(1)
    assert app.sought[-1] == (app.dataset, 0)


def test_a_partition_with_messages_in_flight_or_at_its_end_is_left_alone() -> None:
    busy = IdleHeadApp(committed=3, end=7)
    busy.consumer._unacked_messages = [SimpleNamespace(tp=busy.decisions)]
    faust_compat.read_idle_heads_again(busy, internal_only)
    busy.check(6)
    done = IdleHeadApp(committed=7, end=7)
    faust_compat.read_idle_heads_again(done, internal_only)
    done.check(6)
    queued = IdleHeadApp(committed=3, end=7)  # not yet handed to the stream (a busy consumer)
    queued.consumer._read_offset[queued.decisions] = 4
    faust_compat.read_idle_heads_again(queued, internal_only)
    queued.check(6)
    assert queued.sought == []
    acked = IdleHeadApp(committed=3, end=7)  # processed; the commit is on its way
    faust_compat.acked_up_to(acked.consumer)[acked.decisions] = 6
    faust_compat.read_idle_heads_again(acked, internal_only)
    acked.check(6)
    assert acked.sought == []
    rebalancing = IdleHeadApp(committed=3, end=7)
    rebalancing.rebalancing = True
    faust_compat.read_idle_heads_again(rebalancing, lambda tp: 3)
    rebalancing.check(6)
    assert busy.sought == done.sought == rebalancing.sought == []
