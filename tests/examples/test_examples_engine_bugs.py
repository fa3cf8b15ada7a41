"""Engine behaviour the example workflows ran into, reduced to a few lines each (now fixed)."""

from __future__ import annotations

import asyncio
import contextlib

from voxfsm.agents import Agent, AgentSession, AgentTask, function_tool
from voxfsm.agents.llm import ScriptedLLM, call


class AskTask(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="ask the caller")

    @function_tool
    async def answer(self) -> None:
        """The caller answered."""
        self.complete("ok")


class Desk(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool(handoff=AskTask)
    async def ask(self) -> str:
        """Ask the caller something."""
        return await AskTask()


async def test_two_calls_in_one_step_cannot_both_start_a_task() -> None:
    session: AgentSession[None] = AgentSession(
        llm=ScriptedLLM([("twice", [call("ask"), call("ask")])]), userdata=None
    )
    try:
        await session.start(Desk())
        result = await asyncio.wait_for(session.run(user_input="twice"), 5)
        handoffs = [e.item for e in result.events if e.type == "agent_handoff"]
        # as with two handoffs in one step (API.md, tool outcomes): at most one task starts,
        # the other call gets an error output
        assert len(handoffs) <= 1, handoffs
        await asyncio.wait_for(session.aclose(), 2)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.aclose(), 2)
