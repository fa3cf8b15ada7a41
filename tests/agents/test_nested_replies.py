"""Replies nested in hooks and tools never wait for themselves (issue 11's deadlock).

A reply started inside ``on_enter`` (or inside a tool, or inside an ``AgentTask``'s
``on_enter``) runs while the code that started it waits; the tools that reply calls must not
wait for that same reply to finish.  Every test bounds its waits, so a regression fails
instead of hanging.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from voxfsm.agents import Agent, AgentSession, AgentTask, FunctionCallOutput, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.examples.front_desk import GREET, FrontDesk, FrontDeskData

BOUND = 5.0  # seconds; far above what any of these takes


def outputs(session: AgentSession[Any]) -> dict[str, str]:
    return {
        item.name: item.output
        for item in session.history.items
        if isinstance(item, FunctionCallOutput)
    }


def texts(session: AgentSession[Any]) -> list[str]:
    return [
        item.text_content or ""
        for item in session.history.items
        if getattr(item, "role", None) == "assistant"
    ]


class Greeter(Agent):
    """The issue's minimal reproduction: on_enter awaits a reply that calls a tool."""

    def __init__(self) -> None:
        super().__init__(instructions="greet people")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet")

    @function_tool
    async def lookup(self) -> str:
        """Look something up."""
        return "ok"


async def test_start_returns_when_the_on_enter_reply_calls_a_tool() -> None:
    llm = ScriptedLLM({"greet": call("lookup"), "ok": reply("hi")})
    async with AgentSession(llm=llm) as session:
        await asyncio.wait_for(session.start(Greeter()), BOUND)
        assert outputs(session) == {"lookup": "ok"}
        assert texts(session) == ["hi"]


async def test_a_run_that_hands_off_to_such_an_agent_returns() -> None:
    class Door(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="door")

        @function_tool
        async def enter(self) -> Greeter:
            """Go in."""
            return Greeter()

    llm = ScriptedLLM({"in": call("enter"), "greet": call("lookup"), "ok": reply("hi")})
    async with AgentSession(llm=llm) as session:
        await session.start(Door())
        await asyncio.wait_for(session.run(user_input="in"), BOUND)
        assert session.current_agent.id == "greeter"
        assert texts(session) == ["hi"]


async def test_an_unawaited_on_enter_reply_that_calls_a_tool_also_finishes() -> None:
    class Hasty(Greeter):
        async def on_enter(self) -> None:
            self.session.generate_reply(instructions="greet")

    llm = ScriptedLLM({"greet": call("lookup"), "ok": reply("hi")})
    async with AgentSession(llm=llm) as session:
        await asyncio.wait_for(session.start(Hasty()), BOUND)
        assert texts(session) == ["hi"]


async def test_front_desk_greeting_may_look_up_slots() -> None:
    llm = ScriptedLLM(
        {
            GREET: call("list_available_slots", day="tuesday"),
            re.compile("tue-"): reply("Welcome! On Tuesday I have 10 or 2."),
        }
    )
    async with AgentSession(llm=llm, userdata=FrontDeskData()) as session:
        await asyncio.wait_for(session.start(FrontDesk()), BOUND)
        assert "list_available_slots" in outputs(session)
        assert texts(session) == ["Welcome! On Tuesday I have 10 or 2."]


class AskZip(AgentTask[str]):
    def __init__(self, *, greet_with_tool: bool = False) -> None:
        super().__init__(instructions="get the zip code")
        self.greet_with_tool = greet_with_tool

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="ask zip")

    @function_tool
    async def zip_given(self, zip: str) -> None:
        """The caller's zip code."""
        self.complete(zip)

    @function_tool
    async def known_zip(self) -> None:
        """Use the zip code on file."""
        self.complete("00000")


class Shipping(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="ship things")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet")

    @function_tool
    async def need_zip(self) -> str:
        """Get the caller's zip code."""
        return f"zip is {await AskZip()}"


async def test_a_tool_of_the_on_enter_reply_may_await_an_agent_task() -> None:
    llm = ScriptedLLM(
        {
            "greet": call("need_zip"),
            "ask zip": reply("What is your zip?"),
            "12345": call("zip_given", zip="12345"),
            "zip is 12345": reply("Thanks, shipping to 12345"),
        }
    )
    async with AgentSession(llm=llm) as session:
        # start() returns once the task is active: the user now talks to the task
        await asyncio.wait_for(session.start(Shipping()), BOUND)
        assert session.current_agent.id == "ask_zip"
        await asyncio.wait_for(session.run(user_input="12345"), BOUND)
        assert session.current_agent.id == "shipping"
        assert outputs(session)["need_zip"] == "zip is 12345"
        assert texts(session)[-1] == "Thanks, shipping to 12345"


async def test_a_task_awaited_from_a_tool_may_use_its_own_tools_in_on_enter() -> None:
    class Shop(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="shop")

        @function_tool
        async def need_zip(self) -> str:
            """Get the caller's zip code."""
            return f"zip is {await AskZip()}"

    # the task's greeting completes it at once through its own tool (LiveKit does the same)
    llm = ScriptedLLM(
        {
            "buy": call("need_zip"),
            "ask zip": call("known_zip"),
            "zip is 00000": reply("Shipping to 00000"),
        }
    )
    async with AgentSession(llm=llm) as session:
        await session.start(Shop())
        await asyncio.wait_for(session.run(user_input="buy"), BOUND)
        assert llm.requests[1].tools == ("zip_given", "known_zip")
        assert llm.requests[1].tool_choice == "auto"
        assert session.current_agent.id == "shop"
        assert outputs(session)["need_zip"] == "zip is 00000"
        assert texts(session)[-1] == "Shipping to 00000"


async def test_a_reply_spoken_from_inside_a_tool_still_defaults_to_no_tools() -> None:
    class Chatty(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="chatty")

        @function_tool
        async def work(self) -> str:
            """Do the work, announcing it."""
            await self.session.generate_reply(instructions="announce")
            return "done"

    llm = ScriptedLLM({"go": call("work"), "announce": reply("One moment"), "done": reply("Done")})
    async with AgentSession(llm=llm) as session:
        await session.start(Chatty())
        await asyncio.wait_for(session.run(user_input="go"), BOUND)
        announce = next(r for r in llm.requests if r.last_text == "announce")
        assert announce.tool_choice == "none"
        assert texts(session) == ["One moment", "Done"]
