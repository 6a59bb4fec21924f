"""Unit tests of web.commands.ask: a command is sent again while no reply comes (no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from atlas_streams.web.commands import CommandTimeout, ask


class Agent:
    """Answers the sends whose numbers (from 1) are in ``answers``; the others never."""

    def __init__(self, answers: dict[int, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.sent: list[tuple[Any, Any]] = []
        self.cancelled = 0

    async def ask(self, value: Any = None, key: Any = None) -> Any:
        self.sent.append((value, key))
        answer = self.answers.get(len(self.sent))
        try:
            if answer is None:
                await asyncio.Event().wait()  # a skipped command: no reply, ever
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_a_reply_to_the_first_send_is_returned_without_a_second() -> None:
    agent = Agent({1: {"ok": True, "n": 1}})

    assert await ask(agent, b"cmd", b"k", resend_after=0.05) == {"ok": True, "n": 1}
    assert agent.sent == [(b"cmd", b"k")]


async def test_a_command_with_no_reply_is_sent_again_and_the_first_reply_wins() -> None:
    agent = Agent({2: {"ok": True, "n": 2}})

    reply = await ask(agent, b"cmd", None, resend_after=0.02, timeout=5)

    assert reply == {"ok": True, "n": 2}
    assert agent.sent == [(b"cmd", None), (b"cmd", None)]  # the same bytes, the same key
    assert agent.cancelled == 1  # the unanswered first wait is dropped


async def test_a_slow_first_reply_still_counts_after_a_resend() -> None:
    # The first send's reply comes after the second send (a rebalance, say): it is taken.
    agent = Agent({1: {"ok": True, "n": 1}, 3: {"ok": True, "n": 3}}, delay=0.05)

    reply = await ask(agent, b"cmd", resend_after=0.02, timeout=5)

    assert reply["n"] == 1 and len(agent.sent) == 2


async def test_the_sends_double_their_spacing_until_the_timeout_answers_503() -> None:
    agent = Agent({})

    with pytest.raises(CommandTimeout) as raised:
        await ask(agent, b"cmd", who="the registry", resend_after=0.02, timeout=0.25)

    # Sent at 0, 0.02, 0.06, 0.14 (later on a loaded machine, never sooner): not twelve.
    assert 2 <= len(agent.sent) <= 4 and raised.value.sent == len(agent.sent)
    assert raised.value.status == 503 and raised.value.message.startswith("the registry did not")
    assert agent.cancelled == len(agent.sent)  # no wait is left behind


async def test_a_failed_send_is_retried_and_a_later_reply_returned() -> None:
    agent = Agent({1: RuntimeError("producer buffer full"), 2: {"ok": True}})

    assert await ask(agent, b"cmd", resend_after=0.02, timeout=5) == {"ok": True}


async def test_when_every_send_fails_the_last_failure_is_raised() -> None:
    agent = Agent({n: RuntimeError(f"send {n} failed") for n in range(1, 10)})

    with pytest.raises(RuntimeError, match="failed"):
        await ask(agent, b"cmd", resend_after=0.02, timeout=0.1)
    assert 2 <= len(agent.sent) <= 4  # waits between failed sends, never a busy loop
