"""A tool that never waits runs without a task of its own, and behaves exactly as one that
does: its result, its error, or an early ``ctx.update()`` answer followed by its final result."""

from __future__ import annotations

import asyncio
import re

from voxfsm.agents import (
    Agent,
    AgentSession,
    FunctionCallOutput,
    RunContext,
    ToolError,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="desk")
        self.tasks_seen: list[bool] = []

    @function_tool
    async def quick(self, ctx: RunContext) -> str:
        """Answer at once."""
        return "quick answer"

    @function_tool
    async def refuse(self, ctx: RunContext) -> str:
        """Fail at once."""
        raise ToolError("not today")

    @function_tool
    async def early(self, ctx: RunContext) -> str:
        """Answer early, then finish without waiting."""
        await ctx.update("halfway")
        return "all done"

    @function_tool
    async def slow(self, ctx: RunContext) -> str:
        """Wait, then answer."""
        await asyncio.sleep(0.01)
        return "slow answer"


def llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            ("q", call("quick")),
            ("r", call("refuse")),
            ("e", call("early")),
            ("s", call("slow")),
            (re.compile("."), reply("ok")),
        ]
    )


async def test_tools_that_do_not_wait_give_their_result_or_error() -> None:
    async with AgentSession(llm=llm()) as session:
        await session.start(Desk())
        result = await session.run(user_input="q")
        result.expect[1].is_function_call_output(output="quick answer", is_error=False)
        result = await session.run(user_input="r")
        result.expect[1].is_function_call_output(output="not today", is_error=True)
        result = await session.run(user_input="s")
        result.expect[1].is_function_call_output(output="slow answer", is_error=False)


async def test_an_early_answer_then_an_immediate_return_is_reported_later() -> None:
    async with AgentSession(llm=llm()) as session:
        await session.start(Desk())
        result = await session.run(user_input="e")
        out = result.expect[1].event().item
        assert "halfway" in out.output
        await asyncio.wait_for(session.wait_for_idle(), 5)
        finals = [
            it
            for it in session.history.items
            if isinstance(it, FunctionCallOutput) and it.call_id == f"{out.call_id}_final"
        ]
        assert [f.output for f in finals] == ["all done"]
