"""Planted bug: a tool awaits an AgentTask whose greeting calls a tool that never returns.

``Verify`` greets by asking for the PIN; when the model answers that greeting with ``check``,
the tool waits for an SMS confirmation whose callback was never registered, so the task never
completes and the ``run()`` that called ``verify`` never returns.
"""

import asyncio

from voxfsm.agents import Agent, AgentSession, AgentTask, function_tool


class Verify(AgentTask[bool]):
    """Checks the caller's PIN."""

    def __init__(self) -> None:
        super().__init__(instructions="ask for the PIN")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="ask for the PIN")

    @function_tool
    async def check(self) -> None:
        """The caller gave a PIN."""
        sms: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.complete(await sms)  # bug: nothing ever resolves the confirmation


class Desk(Agent):
    """Front desk."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool(handoff=Verify)
    async def verify(self) -> str:
        """Verify the caller before anything else."""
        ok = await Verify()
        return "verified" if ok else "not verified"


entry = Desk


def make_session() -> AgentSession:
    return AgentSession()
