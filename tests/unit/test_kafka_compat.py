"""aiokafka leaves a group of generation 0 on stop (the embedded broker numbers from 0).

The request's fields have no public reader: `_group` and `_member_id` are read directly.
"""

from __future__ import annotations

from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator

from atlas_streams.kafka_compat import leave_groups_of_generation_zero


class Coordinator:
    """The fields ``_maybe_leave_group`` reads, and a recorder for the requests it sends."""

    def __init__(self, generation: int, member_id: str) -> None:
        self.generation, self.member_id, self.group_id = generation, member_id, "g"
        self._group_instance_id = None
        self.sent: list[Any] = []

    async def _send_req(self, request: Any) -> None:
        self.sent.append(request)

    def reset_generation(self) -> None:
        self.generation, self.member_id = -1, ""


async def test_a_member_of_generation_zero_leaves_and_forgets_its_generation() -> None:
    leave_groups_of_generation_zero()
    member = Coordinator(0, "m-1")
    await GroupCoordinator._maybe_leave_group(member)  # type: ignore[arg-type]
    assert [(r._group, r._member_id) for r in member.sent] == [("g", "m-1")]
    assert (member.generation, member.member_id) == (-1, "")


async def test_a_consumer_that_never_joined_sends_nothing() -> None:
    leave_groups_of_generation_zero()
    member = Coordinator(-1, "")
    await GroupCoordinator._maybe_leave_group(member)  # type: ignore[arg-type]
    assert member.sent == []


async def test_later_generations_leave_as_aiokafka_does() -> None:
    leave_groups_of_generation_zero()
    member = Coordinator(3, "m-2")
    await GroupCoordinator._maybe_leave_group(member)  # type: ignore[arg-type]
    assert [(r._group, r._member_id) for r in member.sent] == [("g", "m-2")]
