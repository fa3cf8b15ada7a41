"""Regression tests for the defects listed in issue 11 ("One engine path"), one each."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from tests.agents._engine_support import (
    BOUND,
    assert_every_call_has_one_output,
    output_of,
)
from voxfsm.agents import Agent, AgentSession, function_tool
from voxfsm.agents.llm import LLMChunk, ScriptedLLM, ToolCallRequest, call, reply
from voxfsm.agents.llm.openai import OpenAILLM


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="desk")

    @function_tool
    async def transfer(self) -> Agent:
        """Transfer to billing."""
        return Billing()

    @function_tool
    async def switch(self) -> None:
        """Switch to support right away."""
        self.session.update_agent(Support())

    @function_tool
    async def switch_and_transfer(self) -> Agent:
        """Both at once."""
        self.session.update_agent(Support())
        return Billing()

    @function_tool
    async def agent_class(self) -> Any:
        """Returns the class by mistake."""
        return Billing

    @function_tool
    async def coroutine(self) -> Any:
        """Forgets an await."""
        return asyncio.sleep(0, "late")

    @function_tool
    async def raw_bytes(self) -> Any:
        """Returns bytes."""
        return b"\x00\x01"

    @function_tool
    async def exits(self) -> str:
        """Calls sys.exit()."""
        sys.exit(3)

    @function_tool
    async def echo(self, text: str) -> str:
        """Echo."""
        return f"echo {text}"


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="billing")


class Support(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="support")


def desk_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "both": [call("switch"), call("transfer")],
            "one tool": call("switch_and_transfer"),
            "class": call("agent_class"),
            "coroutine": call("coroutine"),
            "bytes": call("raw_bytes"),
            "exit": call("exits"),
            "hello": reply("hi"),
        },
        default=reply("noted"),
    )


@pytest.mark.parametrize("say", ["both", "one tool"])
async def test_update_agent_during_a_step_wins_and_the_refused_handoff_says_so(say: str) -> None:
    async with AgentSession(llm=desk_llm()) as session:
        await session.start(Desk())
        await asyncio.wait_for(session.run(user_input=say), BOUND)
        assert session.current_agent.id == "support"
        name = "transfer" if say == "both" else "switch_and_transfer"
        out = output_of(session, name)
        assert out.is_error
        assert "update_agent() switched the session to 'support'" in out.output
        assert "the handoff was not made" in out.output
        assert_every_call_has_one_output(session)


@pytest.mark.parametrize(
    ("say", "tool", "says"),
    [
        ("class", "agent_class", "returned the class Billing, not an agent"),
        ("coroutine", "coroutine", "an `await` is missing"),
        ("bytes", "raw_bytes", "returned bytes"),
    ],
)
async def test_results_no_model_can_use_become_clear_error_outputs(
    say: str, tool: str, says: str
) -> None:
    async with AgentSession(llm=desk_llm()) as session:
        await session.start(Desk())
        await asyncio.wait_for(session.run(user_input=say), BOUND)
        out = output_of(session, tool)
        assert out.is_error and says in out.output
        assert session.current_agent.id == "desk"


async def test_system_exit_in_a_tool_becomes_an_error_output() -> None:
    async with AgentSession(llm=desk_llm()) as session:
        await session.start(Desk())
        await asyncio.wait_for(session.run(user_input="exit"), BOUND)
        assert output_of(session, "exits").output == "An internal error occurred"
        assert_every_call_has_one_output(session)
        await asyncio.wait_for(session.run(user_input="hello"), BOUND)


class ObjectArgsLLM:
    """An adapter that hands over tool arguments already parsed (a dict, not JSON text)."""

    async def chat(self, *, chat_ctx: Any, **_: Any) -> Any:
        if chat_ctx.items[-1].type == "function_call_output":
            yield LLMChunk("done")
        else:
            args: Any = {"text": "hi"}
            yield LLMChunk(calls=(ToolCallRequest("c1", "echo", args),))


async def test_arguments_sent_as_a_json_object_are_accepted() -> None:
    async with AgentSession(llm=ObjectArgsLLM()) as session:
        await session.start(Desk())
        await asyncio.wait_for(session.run(user_input="go"), BOUND)
        assert output_of(session, "echo").output == "echo hi"
        # stored as JSON text, as the OpenAI wire format and every other call has it
        fc = next(it for it in session.history.items if it.type == "function_call")
        assert fc.arguments == '{"text": "hi"}'


async def test_arguments_of_another_type_get_an_error_output() -> None:
    class NumberArgsLLM:
        async def chat(self, *, chat_ctx: Any, **_: Any) -> Any:
            if chat_ctx.items[-1].type == "function_call_output":
                yield LLMChunk("sorry")
            else:
                args: Any = 42
                yield LLMChunk(calls=(ToolCallRequest("c1", "echo", args),))

    async with AgentSession(llm=NumberArgsLLM()) as session:
        await session.start(Desk())
        await asyncio.wait_for(session.run(user_input="go"), BOUND)
        out = output_of(session, "echo")
        assert out.is_error and "must be a JSON object, got 42" in out.output
        assert_every_call_has_one_output(session)


async def test_two_overlapping_aclose_calls_both_return() -> None:
    class Busy(Desk):
        @function_tool
        async def work(self) -> str:
            """Takes a moment."""
            await asyncio.sleep(0.2)
            return "worked"

    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({"work": call("work")}))
    await session.start(Busy())
    turn = session.run(user_input="work")  # still running when both aclose() calls come
    await asyncio.sleep(0.05)
    results = await asyncio.wait_for(
        asyncio.gather(session.aclose(), session.aclose(), return_exceptions=True), BOUND
    )
    assert results == [None, None]
    await session.aclose()  # and a third, after the fact
    await turn
    assert output_of(session, "work").output == "worked"


def test_openai_llm_default_leaves_no_turn_silent_for_minutes() -> None:
    llm = OpenAILLM()
    # a server that accepts and never answers is reported after every attempt timed out
    assert llm.timeout * (llm.max_retries + 1) <= 60
    assert llm.max_reply_seconds is not None and llm.max_reply_chars is not None
