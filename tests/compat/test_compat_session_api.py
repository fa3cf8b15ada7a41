"""Session, run-result and chat-context behaviour that LiveKit's tests rely on."""

from __future__ import annotations

import asyncio

import pytest

from voxfsm.agents import Agent, AgentSession, RunContext, ToolFlag, function_tool, mock_tools
from voxfsm.agents.llm import ChatContext, ScriptedLLM, call, reply


class Weather(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You report the weather.")

    @function_tool(flags=ToolFlag.IGNORE_ON_ENTER)
    async def lookup_weather(self, ctx: RunContext, location: str) -> str:
        """Weather for a place.

        Args:
            location: The city.
        """
        async with ctx.foreground():  # the tool holds the floor already: the block just runs
            return "sunny"


def weather_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "weather in Paris?": call("lookup_weather", location="Paris"),
            "sunny": reply("It is sunny in Paris."),
            "rainy": reply("Bring an umbrella."),
        }
    )


async def test_expect_slices_search_a_range_of_events() -> None:
    async with weather_llm() as llm, AgentSession(llm=llm) as sess:
        await sess.start(Weather())
        result = await sess.run(user_input="weather in Paris?")
        result.expect[0:2].contains_function_call(name="lookup_weather")
        result.expect[1:].contains_function_call_output(output="sunny")
        with pytest.raises(AssertionError):
            result.expect[2:].contains_function_call(name="lookup_weather")
        result.expect[-1].is_message(role="assistant")


async def test_session_wide_mocks_last_until_replaced() -> None:
    async with weather_llm() as llm, AgentSession(llm=llm) as sess:
        await sess.start(Weather())
        mock_tools(Weather, {"lookup_weather": lambda location: "rainy"}, session=sess)
        result = await sess.run(user_input="weather in Paris?")
        result.expect.contains_function_call_output(output="rainy")
        # a scoped mock wins over the session's
        with mock_tools(Weather, {"lookup_weather": lambda: "sunny"}):
            again = await sess.run(user_input="weather in Paris?")
        again.expect.contains_function_call_output(output="sunny")
        mock_tools(Weather, {}, session=sess)
        third = await sess.run(user_input="weather in Paris?")
        third.expect.contains_function_call_output(output="sunny")


def test_tool_flags_are_kept() -> None:
    assert Weather.lookup_weather.flags & ToolFlag.IGNORE_ON_ENTER


async def test_shutdown_closes_the_session_in_the_background() -> None:
    exited: list[str] = []

    class Leaving(Weather):
        async def on_exit(self) -> None:
            exited.append("bye")

    sess = AgentSession(llm=weather_llm())
    closed = asyncio.Event()
    sess.on("close", lambda ev: closed.set())
    await sess.start(Leaving())
    sess.shutdown()
    await asyncio.wait_for(closed.wait(), 5)
    assert exited == ["bye"]
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(user_input="weather in Paris?")


def test_chat_context_copy_remove_and_equivalence() -> None:
    ctx = ChatContext()
    ctx.add_message(role="system", content="be brief")
    hello = ctx.add_message(role="user", content="hello")
    copy = ctx.copy(exclude_config_update=True)
    assert copy.is_equivalent(ctx) and copy is not ctx
    copy.remove(hello)
    assert not copy.is_equivalent(ctx)
    assert [m.text_content for m in copy.items] == ["be brief"]
    same_text = ChatContext()
    same_text.add_message(role="system", content="be brief")
    same_text.add_message(role="user", content="hello")
    assert not same_text.is_equivalent(ctx)  # other ids: not the same items


async def test_a_listener_can_cancel_the_reply_after_tools() -> None:
    async with weather_llm() as llm, AgentSession(llm=llm) as sess:
        await sess.start(Weather())
        sess.on("function_tools_executed", lambda ev: ev.cancel_tool_reply())
        result = await sess.run(user_input="weather in Paris?")
        result.expect.next_event().is_function_call(name="lookup_weather")
        result.expect.next_event().is_function_call_output(output="sunny")
        result.expect.no_more_events()


async def test_tools_flagged_ignore_on_enter_are_hidden_from_on_enter_replies() -> None:
    class Greeting(Weather):
        async def on_enter(self) -> None:
            self.session.generate_reply(instructions="greet")

    llm = weather_llm()
    async with AgentSession(llm=llm) as sess:
        await sess.start(Greeting())
        await sess.run(user_input="weather in Paris?")
    on_enter, turn = llm.requests[0], llm.requests[1]
    assert on_enter.last_text == "greet" and on_enter.tools == ()
    assert turn.tools == ("lookup_weather",)
