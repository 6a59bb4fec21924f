"""Send a sealed command to an agent and wait for its reply: the one way every write asks.

A command or its reply can be skipped by the worker's consumer: a message read while a
rebalance suspends the flow is dropped unprocessed, and when it is the last message of its
partition nothing reads it again until another message comes (faust_compat). Waiting alone
then waits forever: in CI a ``PUT /rbac/users/{id}/roles`` right after the worker joined its
group got no reply in 30 s. So the command is sent again while no reply has come (after 2 s,
then 4 s, 8 s, ...): the new message is read and answered, and the acks after the skipped one
have it read again too. Every command is safe to send twice: registry commands carry an id
the registry runs once, user changes and catalog commands set a value (a user's creation sent
twice finds the same user and is taken as done), snapshots are keyed by their run id.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from atlas_streams import topics
from atlas_streams.agents.sealing import seal_command
from atlas_streams.runtime import Atlas
from atlas_streams.web.errors import HttpError

__all__ = ["ASK_TIMEOUT", "RESEND_AFTER", "CommandTimeout", "ask", "send"]

ASK_TIMEOUT = 25.0  # s to wait for an agent's reply in all (a client's 30 s timeout sees a 503)
RESEND_AFTER = 2.0  # s without a reply before the command is sent again (doubling each time)


class Askable(Protocol):
    """A Faust agent that answers ``ask`` (it yields one reply per command)."""

    async def ask(self, value: Any = None, key: Any = None) -> Any:
        """Send ``value`` to the agent's topic and return the reply it yields for it."""


class CommandTimeout(HttpError):
    """No reply came within the timeout, however often the command was sent (a 503)."""

    def __init__(self, who: str, sent: int, waited: float) -> None:
        super().__init__(503, f"{who} did not answer in {waited:.0f} s ({sent} sends); check the "
                         "workers and read the resource before retrying")
        self.sent = sent
        self.waited = waited


async def send(
    atlas: Atlas, agent: Askable, topic: str, command: Any, key: bytes | None = None, *,
    who: str,
) -> dict[str, Any]:
    """Seal ``command`` for the internal ``topic`` (a name in ``topics``) and ``ask`` ``agent``."""
    sealed = seal_command(atlas.secrets.signing,
                          topics.internal(atlas.settings.app_id, topic), command)
    return await ask(agent, sealed, key, who=who)


async def ask(
    agent: Askable, value: bytes, key: bytes | None = None, *, who: str = "the agent",
    timeout: float = ASK_TIMEOUT, resend_after: float = RESEND_AFTER,
) -> dict[str, Any]:
    """Return the first reply ``agent`` gives to ``value``, sending it again while none comes.

    Raises:
        CommandTimeout: no reply to any send within ``timeout`` seconds (``who`` names the
            agent in its message).
        Exception: what the last failed send raised, when every send failed.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout
    pending: set[asyncio.Future[Any]] = set()
    failed: BaseException | None = None
    wait = resend_after
    sent = 0
    try:
        while True:
            pending.add(asyncio.ensure_future(agent.ask(value=value, key=key)))
            sent += 1
            resend_at = min(loop.time() + wait, deadline)
            wait *= 2
            while (left := resend_at - loop.time()) > 0:
                if not pending:  # every send so far failed: wait before the next one
                    await asyncio.sleep(left)
                    break
                done, pending = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    if future.exception() is None:
                        return dict(future.result())
                    failed = future.exception()
            if loop.time() >= deadline:
                if failed is not None and not pending:
                    raise failed
                raise CommandTimeout(who, sent, loop.time() - started)
    finally:
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
