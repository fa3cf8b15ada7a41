"""Planted bug: the greeting's reply calls a tool that waits for a reply that never comes.

``on_enter`` awaits ``generate_reply``; when the model calls ``lookup`` in that reply, the
tool awaits a future nothing ever resolves (an app bug: a callback that was never wired), so
``start()`` can never return.
"""

import asyncio

from voxfsm.agents import Agent, AgentSession, function_tool

_never: list[asyncio.Future[str]] = []


class Desk(Agent):
    """Front desk."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet the caller")

    @function_tool
    async def lookup(self) -> str:
        """Look up the caller's account."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        _never.append(answer)  # the CRM callback that should resolve it was never registered
        return await answer


entry = Desk


def make_session() -> AgentSession:
    return AgentSession()
