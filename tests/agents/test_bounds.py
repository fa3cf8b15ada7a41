"""Every bound of the session: a documented option, a default, and one clear error when hit.

When a bound is hit, the session emits one ``error`` event whose error is a
``LimitExceeded`` naming the option, the call it stopped gets an error output (every call
keeps exactly one output), and the next turn works.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.agents._engine_support import (
    BOUND,
    assert_every_call_has_one_output,
    error_events,
    limits,
    output_of,
)
from voxfsm.agents import Agent, AgentHandoff, AgentSession, ChatMessage, function_tool
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.llm import LLMChunk, ScriptedLLM, call, reply
from voxfsm.agents.llm.scripted import ScriptedCall


def test_defaults_bound_everything() -> None:
    s: AgentSession[Any] = AgentSession()
    assert s.max_handoffs_per_turn == 8
    assert s.tool_timeout == 60.0
    assert s.max_reply_chars == 16_000
    assert s.max_reply_seconds == 300.0
    assert s.max_tool_argument_depth == 32
    with pytest.raises(ValueError, match="tool_timeout"):
        AgentSession(tool_timeout=0)


# ---------------------------------------------------------------- handoffs per user turn


class Ping(Agent):
    """The issue's loop: each agent's greeting transfers straight back to the other."""

    def __init__(self) -> None:
        super().__init__(instructions="ping")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="bounce")

    @function_tool
    async def transfer(self) -> Agent:
        """Transfer the caller."""
        return Pong()


class Pong(Ping):
    @function_tool
    async def transfer(self) -> Agent:
        """Transfer the caller."""
        return Ping()


def bouncing_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            ("bounce", call("transfer")),
            (re.compile("refused"), reply("Sorry, I could not transfer you.")),
            ("hello", reply("Hello again")),
        ]
    )


async def test_agents_handing_off_back_and_forth_stop_at_max_handoffs_per_turn() -> None:
    async with AgentSession(llm=bouncing_llm(), max_handoffs_per_turn=4) as session:
        errors = error_events(session)
        await asyncio.wait_for(session.start(Ping()), BOUND)
        handoffs = [it for it in session.history.items if isinstance(it, AgentHandoff)]
        assert len(handoffs) == 1 + 4  # the start, then four transfers
        assert limits(errors) == ["max_handoffs_per_turn"]
        refused = [o for o in session.history.items if getattr(o, "is_error", False)]
        assert len(refused) == 1 and "max_handoffs_per_turn=4" in refused[0].output
        assert_every_call_has_one_output(session)
        # the next user turn starts a fresh count and works
        result = await asyncio.wait_for(session.run(user_input="hello"), BOUND)
        assert [e.item.text_content for e in result.events] == ["Hello again"]


async def test_the_default_bound_ends_the_ping_pong_from_the_issue() -> None:
    async with AgentSession(llm=bouncing_llm()) as session:
        errors = error_events(session)
        await asyncio.wait_for(session.start(Ping()), BOUND)
        assert limits(errors) == ["max_handoffs_per_turn"]
        assert isinstance(errors[0].error, LimitExceeded)
        assert "max_handoffs_per_turn=8" in str(errors[0].error)


async def test_update_agent_in_on_enter_loops_are_bounded_too() -> None:
    class Lobby(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="lobby")

        async def on_enter(self) -> None:
            self.session.update_agent(Hall())

    class Hall(Lobby):
        async def on_enter(self) -> None:
            self.session.update_agent(Lobby())

    async with AgentSession(llm=ScriptedLLM({}), max_handoffs_per_turn=3) as session:
        errors = error_events(session)
        with pytest.raises(LimitExceeded, match="max_handoffs_per_turn=3"):
            await asyncio.wait_for(session.start(Lobby()), BOUND)
        assert limits(errors) == ["max_handoffs_per_turn"]


# ---------------------------------------------------------------- tool timeouts


class Slowpoke(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="slow")

    @function_tool(timeout=0.05)
    async def own_timeout(self) -> str:
        """Has its own timeout."""
        await asyncio.sleep(30)
        return "never"

    @function_tool
    async def hangs(self) -> str:
        """Bounded by the session's tool_timeout."""
        await asyncio.sleep(30)
        return "never"

    @function_tool
    async def raises_timeout(self) -> str:
        """Its own client timed out: not the session's bound."""
        raise TimeoutError("upstream timed out")

    @function_tool
    def blocks(self, seconds: float) -> str:
        """A plain def that blocks."""
        time.sleep(seconds)
        return "woke up"


def slow_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "own": call("own_timeout"),
            "hang": call("hangs"),
            "raise": call("raises_timeout"),
            "block": call("blocks", seconds=1.0),
            "hello": reply("hi"),
        },
        default=reply("moving on"),
    )


async def test_a_tool_timeout_given_to_the_decorator_is_enforced() -> None:
    assert Slowpoke.own_timeout.timeout == 0.05
    async with AgentSession(llm=slow_llm(), tool_timeout=None) as session:
        errors = error_events(session)
        await session.start(Slowpoke())
        await asyncio.wait_for(session.run(user_input="own"), BOUND)
        out = output_of(session, "own_timeout")
        assert out.is_error and "did not finish within 0.05 s" in out.output
        assert limits(errors) == ["timeout"]
        assert "@function_tool(timeout=0.05)" in str(errors[0].error)
        assert_every_call_has_one_output(session)
        await asyncio.wait_for(session.run(user_input="hello"), BOUND)


async def test_the_session_tool_timeout_bounds_every_other_tool() -> None:
    async with AgentSession(llm=slow_llm(), tool_timeout=0.05) as session:
        errors = error_events(session)
        await session.start(Slowpoke())
        await asyncio.wait_for(session.run(user_input="hang"), BOUND)
        assert output_of(session, "hangs").is_error
        assert limits(errors) == ["tool_timeout"]
        assert "AgentSession(tool_timeout=...)" in str(errors[0].error)


async def test_a_timeout_error_raised_by_the_tool_itself_is_not_the_session_bound() -> None:
    async with AgentSession(llm=slow_llm(), tool_timeout=5) as session:
        errors = error_events(session)
        await session.start(Slowpoke())
        await asyncio.wait_for(session.run(user_input="raise"), BOUND)
        assert output_of(session, "raises_timeout").output == "An internal error occurred"
        assert limits(errors) == []


async def test_a_blocking_def_tool_is_stopped_by_the_timeout() -> None:
    async with AgentSession(llm=slow_llm(), tool_timeout=0.1) as session:
        await session.start(Slowpoke())
        started = time.monotonic()
        await asyncio.wait_for(session.run(user_input="block"), BOUND)
        assert time.monotonic() - started < 0.9  # the 1 s sleep went on in its thread
        assert output_of(session, "blocks").is_error


async def test_a_blocking_def_tool_does_not_stop_other_sessions() -> None:
    released = threading.Event()

    class Waiter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="waits")

        @function_tool
        def wait_for_release(self) -> str:
            """Blocks its thread until another session releases it (or 5 s pass)."""
            return "released" if released.wait(BOUND) else "never released"

    class Releaser(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="releases")

        @function_tool
        async def release(self) -> str:
            """Runs on the event loop, which must not be blocked."""
            released.set()
            return "done"

    llm = ScriptedLLM(
        {"wait": call("wait_for_release"), "go": call("release")}, default=reply("ok")
    )
    async with AgentSession(llm=llm) as blocked, AgentSession(llm=llm) as other:
        await blocked.start(Waiter())
        await other.start(Releaser())
        waiting = blocked.run(user_input="wait")
        await asyncio.wait_for(other.run(user_input="go"), BOUND)
        await asyncio.wait_for(waiting, BOUND * 2)
        assert output_of(blocked, "wait_for_release").output == "released"


# ---------------------------------------------------------------- reply length and duration


class Talker(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="talks")


class EndlessLLM:
    """Streams words forever (``pause`` seconds apart), like a model stuck in a loop."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause

    async def chat(self, **_: Any) -> AsyncIterator[LLMChunk]:
        while True:
            await asyncio.sleep(self.pause)
            yield LLMChunk("la ")


async def test_a_reply_longer_than_max_reply_chars_is_cut_off() -> None:
    async with AgentSession(llm=EndlessLLM(), max_reply_chars=30) as session:
        errors = error_events(session)
        await session.start(Talker())
        result = await asyncio.wait_for(session.run(user_input="sing"), BOUND)
        msg = result.events[-1].item
        assert isinstance(msg, ChatMessage) and msg.interrupted
        assert 30 < len(msg.text_content or "") <= 33
        assert limits(errors) == ["max_reply_chars"]


async def test_a_reply_streaming_past_max_reply_seconds_is_cut_off() -> None:
    async with AgentSession(
        llm=EndlessLLM(pause=0.01), max_reply_seconds=0.2, max_reply_chars=None
    ) as session:
        errors = error_events(session)
        await session.start(Talker())
        await asyncio.wait_for(session.run(user_input="sing"), BOUND)
        assert limits(errors) == ["max_reply_seconds"]
        assert "max_reply_seconds" in str(errors[0].error)


# ---------------------------------------------------------------- nesting depth of arguments


class Form(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="form")

    @function_tool
    async def submit(self, data: Any) -> str:
        """Submit anything."""
        return "submitted"


def nested(depth: int) -> str:
    return json.dumps({"data": 0}).replace("0", "[" * depth + "]" * depth)


@pytest.mark.parametrize("depth", [40, 100_000])
async def test_arguments_nested_deeper_than_the_limit_get_an_error_output(depth: int) -> None:
    llm = ScriptedLLM({"go": ScriptedCall("submit", nested(depth))}, default=reply("fine"))
    async with AgentSession(llm=llm) as session:
        errors = error_events(session)
        await session.start(Form())
        await asyncio.wait_for(session.run(user_input="go"), BOUND)
        out = output_of(session, "submit")
        assert out.is_error and "max_tool_argument_depth=32" in out.output
        assert limits(errors) == ["max_tool_argument_depth"]
        assert_every_call_has_one_output(session)
