"""Cancellation: closing a session, or cancelling a caller, at awkward moments.

After each: the session is closed cleanly (or still usable), hooks ran as they should, and
every function call in history has exactly one output.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.robustness._support import unpaired_calls
from voxfsm.agents import (
    Agent,
    AgentSession,
    AgentTask,
    RunContext,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


async def hang() -> None:
    """Stands for a hook or tool that never finishes."""
    await asyncio.sleep(3600)


class Stuck(Agent):
    """Hands off to an agent whose greeting never finishes."""

    def __init__(self) -> None:
        super().__init__(instructions="stuck")
        self.exits = 0

    async def on_exit(self) -> None:
        self.exits += 1

    @function_tool
    async def go(self) -> Hanging:
        """Go to the hanging agent."""
        return Hanging()

    @function_tool
    async def wait_forever(self) -> str:
        """A tool that never returns."""
        await hang()
        return "never"


class Hanging(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="hanging")
        self.exits = 0

    async def on_enter(self) -> None:
        await hang()

    async def on_exit(self) -> None:
        self.exits += 1


def script() -> ScriptedLLM:
    return ScriptedLLM({"go": call("go"), "wait": call("wait_forever")}, default=reply("ok"))


async def test_close_during_a_hanging_on_enter_ends_cleanly() -> None:
    session = AgentSession(llm=script())
    first = Stuck()
    await session.start(first)
    turn = session.run(user_input="go")
    await asyncio.sleep(0.05)  # the handoff is decided and Hanging.on_enter is stuck
    assert isinstance(session.current_agent, Hanging)
    await session.aclose(drain_timeout=0.1)
    with pytest.raises(RuntimeError, match="closed"):
        await turn
    assert first.exits == 1
    assert session.current_agent.exits == 1  # type: ignore[attr-defined]
    assert unpaired_calls(session.history) == []
    with pytest.raises(RuntimeError, match="closed"):
        session.run(user_input="hello")


async def test_close_during_a_hanging_tool_answers_its_call() -> None:
    session = AgentSession(llm=script())
    await session.start(Stuck())
    turn = session.run(user_input="wait")
    await asyncio.sleep(0.05)
    await session.aclose(drain_timeout=0.1)
    with pytest.raises(RuntimeError, match="closed"):
        await turn
    outputs = [it for it in session.history.items if it.type == "function_call_output"]
    assert len(outputs) == 1 and outputs[0].is_error and "cancelled" in outputs[0].output
    assert unpaired_calls(session.history) == []


async def test_queued_work_is_drained_before_closing() -> None:
    session = AgentSession(llm=ScriptedLLM({}, default=reply("fine")))
    await session.start(Stuck())
    turns = [session.run(user_input=f"question {n}") for n in range(3)]
    await session.aclose()
    for turn in turns:  # every turn queued before aclose() was answered
        result = await turn
        result.expect.next_event().is_message(role="assistant")


async def test_cancelling_the_awaiter_does_not_cancel_the_turn() -> None:
    gate = asyncio.Event()

    class Slow(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="slow")

        @function_tool
        async def slow(self) -> str:
            """Slow lookup."""
            await gate.wait()
            return "looked up"

    llm = ScriptedLLM({"look": call("slow"), "looked up": reply("here")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        await session.start(Slow())
        result = session.run(user_input="look")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.ensure_future(_wait(result)), 0.05)
        gate.set()
        await result  # the turn itself went on and finished
        assert [e.type for e in result.events][-1] == "message"
        assert unpaired_calls(session.history) == []
        later = await session.run(user_input="hi")
        later.expect.next_event().is_message(role="assistant")


async def _wait(result: object) -> object:
    return await result  # type: ignore[misc]


class AskCode(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="ask for the code")
        self.exits = 0

    async def on_exit(self) -> None:
        self.exits += 1

    @function_tool
    async def give_code(self, code: str) -> None:
        """The caller gave the code."""
        self.complete(code)


class Door(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="door")
        self.exits = 0
        self.task: AskCode | None = None

    async def on_exit(self) -> None:
        self.exits += 1

    @function_tool
    async def open_door(self, ctx: RunContext) -> str:
        """Open the door once the caller gives the code."""
        self.task = AskCode()
        code = await self.task
        return f"opened with {code}"


async def test_close_while_an_agent_task_waits_for_the_user_unwinds_it() -> None:
    llm = ScriptedLLM({"open": call("open_door")}, default=reply("ok"))
    session = AgentSession(llm=llm)
    door = Door()
    await session.start(door)
    await session.run(user_input="open")
    assert isinstance(session.current_agent, AskCode)
    await asyncio.wait_for(session.aclose(), 5)
    assert door.task is not None and door.task.exits == 1
    assert door.exits == 1
    outputs = [it for it in session.history.items if it.type == "function_call_output"]
    assert outputs[-1].name == "open_door" and outputs[-1].is_error
    assert "closed" in outputs[-1].output
    assert unpaired_calls(session.history) == []
    handoffs = [
        (h.old_agent_id, h.new_agent_id) for h in session.history.items if h.type == "agent_handoff"
    ]
    assert handoffs[-2:] == [("door", "ask_code"), ("ask_code", "door")]
