"""Nested AgentTasks behave as LiveKit's tests expect: no deadlock, and a task started by
speech from on_enter is active when the next run begins."""

from __future__ import annotations

import asyncio

from voxfsm.agents import Agent, AgentSession, AgentTask, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply


class InnerTask(AgentTask[None]):
    def __init__(self) -> None:
        super().__init__(instructions="inner task")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="inner_greeting")

    @function_tool
    async def finish(self, ctx: RunContext) -> str:
        """Complete the inner task."""
        self.complete(None)
        return "done"


class OuterTask(AgentTask[None]):
    def __init__(self) -> None:
        super().__init__(instructions="outer task")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="outer_greeting")

    @function_tool
    async def start_inner(self, ctx: RunContext) -> str:
        """Go into the inner task."""
        await InnerTask()
        self.complete(None)
        return "inner completed"


class RootAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="root agent")

    @function_tool
    async def start_outer(self, ctx: RunContext) -> str:
        """Go into the outer task."""
        await OuterTask()
        return "outer completed"


async def test_a_task_whose_on_enter_starts_another_task_does_not_deadlock() -> None:
    llm = ScriptedLLM(
        {
            "go": call("start_outer"),
            "outer_greeting": call("start_inner"),
            "inner_greeting": reply("inner here"),
            "done": call("finish"),
            "inner completed": reply("back in outer"),
            "outer completed": reply("back at root"),
        }
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(RootAgent())
        first = await asyncio.wait_for(sess.run(user_input="go"), timeout=5)
        assert first is not None
        assert isinstance(sess.current_agent, InnerTask)
        second = await asyncio.wait_for(sess.run(user_input="done"), timeout=5)
        second.expect.contains_function_call_output(output="outer completed")
        assert isinstance(sess.current_agent, RootAgent)


class SimpleTask(AgentTask[None]):
    def __init__(self) -> None:
        super().__init__(instructions="simple task")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="task_greeting")

    @function_tool
    async def finish(self, ctx: RunContext) -> str:
        """Complete the task."""
        self.complete(None)
        return "done"


class EnterHandoffAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="root agent")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="enter_greeting")

    @function_tool
    async def start_task(self, ctx: RunContext) -> str:
        """Go into the simple task."""
        await SimpleTask()
        return "task completed"


async def test_a_task_started_from_on_enter_speech_is_active_for_the_next_run() -> None:
    llm = ScriptedLLM(
        {
            "enter_greeting": call("start_task"),
            "task_greeting": reply("hello from task"),
            "hi": reply("hello!"),
            "bye": call("finish"),
            "task completed": reply("all done"),
        }
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(EnterHandoffAgent())
        await asyncio.wait_for(sess.run(user_input="hi"), timeout=5)
        assert isinstance(sess.current_agent, SimpleTask)
        await asyncio.wait_for(sess.run(user_input="bye"), timeout=5)
        assert isinstance(sess.current_agent, EnterHandoffAgent)
