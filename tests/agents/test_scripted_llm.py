"""``ScriptedLLM``: how a script picks a response, and what the model records."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from voxfsm.agents import (
    Agent,
    AgentSession,
    ChatContext,
    FunctionCall,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


async def ask(llm: ScriptedLLM, ctx: ChatContext, tool_choice: Any = "auto") -> tuple[str, list]:
    """Stream one response; return its text and its calls."""
    text, calls = "", []
    async for chunk in llm.chat(chat_ctx=ctx, tools=[], tool_choice=tool_choice):
        text += chunk.text
        calls.extend(chunk.calls)
    return text, calls


def ctx_ending_with(text: str) -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="system", content="instructions")
    ctx.add_message(role="user", content=text)
    return ctx


async def test_exact_keys_match_the_last_items_text() -> None:
    llm = ScriptedLLM({"hi": reply("hello"), "bye": reply("goodbye")})
    assert (await ask(llm, ctx_ending_with("bye")))[0] == "goodbye"
    assert (await ask(llm, ctx_ending_with("hi")))[0] == "hello"
    assert (await ask(llm, ctx_ending_with("hi there")))[0] == ""  # exact, not a prefix


async def test_patterns_search_and_the_first_matching_key_wins() -> None:
    llm = ScriptedLLM(
        {
            re.compile(r"\border\b"): reply("ordering"),
            re.compile(r"pizza"): reply("pizza!"),
            "order pizza": reply("never reached"),
        }
    )
    assert (await ask(llm, ctx_ending_with("I want to order pizza")))[0] == "ordering"
    assert (await ask(llm, ctx_ending_with("order pizza")))[0] == "ordering"
    assert (await ask(llm, ctx_ending_with("pizza please")))[0] == "pizza!"


async def test_no_match_gives_the_default_or_an_empty_reply() -> None:
    with_default = ScriptedLLM({"hi": reply("hello")}, default=reply("what?"))
    without = ScriptedLLM({"hi": reply("hello")})
    assert await ask(with_default, ctx_ending_with("???")) == ("what?", [])
    assert await ask(without, ctx_ending_with("???")) == ("", [])


async def test_an_empty_reply_adds_no_message() -> None:
    async with AgentSession(llm=ScriptedLLM({})) as session:
        await session.start(Agent(instructions="quiet"))
        result = await session.run(user_input="anyone?")
        result.expect.no_more_events()
        assert [m.role for m in session.history.messages()] == ["user"]


async def test_call_is_positional_only_so_an_argument_may_be_called_name() -> None:
    llm = ScriptedLLM({"register": call("register", name="Ada", age=36)})
    _, calls = await ask(llm, ctx_ending_with("register"))
    assert [(c.name, c.arguments) for c in calls] == [("register", '{"name": "Ada", "age": 36}')]


async def test_a_list_of_calls_is_a_parallel_step_and_text_can_come_with_calls() -> None:
    llm = ScriptedLLM(
        {
            "both": [call("a"), call("b")],
            "talk": reply("first this", calls=[call("c")]),
        }
    )
    assert [c.name for c in (await ask(llm, ctx_ending_with("both")))[1]] == ["a", "b"]
    text, calls = await ask(llm, ctx_ending_with("talk"))
    assert text == "first this"
    assert [c.name for c in calls] == ["c"]


async def test_calls_are_dropped_when_tools_are_disabled() -> None:
    llm = ScriptedLLM({"talk": reply("just words", calls=[call("c")])})
    assert await ask(llm, ctx_ending_with("talk"), tool_choice="none") == ("just words", [])


async def test_call_ids_are_unique_across_instances() -> None:
    one = ScriptedLLM({"x": [call("a"), call("a")]})
    two = ScriptedLLM({"x": call("a")})
    ids = [c.call_id for c in (await ask(one, ctx_ending_with("x")))[1]]
    ids += [c.call_id for c in (await ask(two, ctx_ending_with("x")))[1]]
    ids += [c.call_id for c in (await ask(one, ctx_ending_with("x")))[1]]
    assert len(ids) == 5
    assert len(set(ids)) == 5


async def test_a_function_call_matches_by_its_tool_name() -> None:
    ctx = ctx_ending_with("hi")
    ctx.insert(FunctionCall(call_id="z", name="lookup", arguments="{}"))
    llm = ScriptedLLM({"lookup": reply("matched the call")})
    assert (await ask(llm, ctx))[0] == "matched the call"


async def test_a_callable_script_sees_the_context_and_the_tools() -> None:
    seen: list[tuple[str, list[str]]] = []

    def script(chat_ctx: ChatContext, tools: Sequence[Any]) -> Any:
        seen.append((chat_ctx.items[-1].text_content, [t.name for t in tools]))
        return reply("from a function")

    class Tooled(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="tooled")

        @function_tool
        async def ping(self) -> str:
            """Ping."""
            return "pong"

    async with AgentSession(llm=ScriptedLLM(script)) as session:
        await session.start(Tooled())
        result = await session.run(user_input="hey")
        assert result.expect.next_event().is_message().event().item.text_content == (
            "from a function"
        )
    assert seen == [("hey", ["ping"])]


async def test_every_request_is_recorded_with_what_the_model_saw() -> None:
    class Tooled(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="tooled")

        @function_tool
        async def ping(self) -> str:
            """Ping."""
            return "pong"

    llm = ScriptedLLM({"ping it": call("ping"), "pong": reply("it said pong")})
    async with AgentSession(llm=llm) as session:
        await session.start(Tooled())
        await session.run(user_input="ping it")
    assert [r.last_text for r in llm.requests] == ["ping it", "pong"]
    assert [r.tools for r in llm.requests] == [("ping",), ("ping",)]
    assert llm.requests[0].chat_ctx.items[0].text_content == "tooled"


async def test_a_message_added_by_code_is_matched_too() -> None:
    llm = ScriptedLLM({"seeded by code": reply("I see the seed")})
    agent = Agent(instructions="x")
    seeded = ChatContext()
    seeded.add_message(role="user", content="seeded by code")
    await agent.update_chat_ctx(seeded)
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        await session.generate_reply()
        assert session.history.messages()[-1].text_content == "I see the seed"
