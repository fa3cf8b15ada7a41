"""``RunResult`` and its ``expect`` cursor, and ``mock_tools``."""

from __future__ import annotations

from typing import Any

import pytest

from voxfsm.agents import (
    Agent,
    AgentSession,
    RunContext,
    RunResult,
    ToolError,
    function_tool,
    mock_tools,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


class Support(Agent):
    """Base class of the tier-two agent, to test isinstance matching."""


class TierTwo(Support):
    def __init__(self) -> None:
        super().__init__(instructions="tier two")

    async def on_enter(self) -> None:
        self.session.say("Tier two here")


class Helpdesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="helpdesk")

    @function_tool
    async def find_ticket(self, number: int, verbose: bool = False) -> str:
        """Find a ticket."""
        return f"ticket {number} is open"

    @function_tool
    async def escalate(self) -> tuple[TierTwo, str]:
        """Escalate to tier two."""
        return TierTwo(), "escalating"

    @function_tool
    async def add_note(self, ctx: RunContext) -> None:
        """Add a note to the context by code."""
        agent = ctx.session.current_agent
        notes = agent.chat_ctx.copy()
        notes.add_message(role="assistant", content="note added by code")
        await agent.update_chat_ctx(notes)


def helpdesk_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "ticket 7": reply("Looking", calls=[call("find_ticket", number=7, verbose=True)]),
            "ticket 7 is open": reply("It is open"),
            "escalate": call("escalate"),
            "escalating": reply("Passing you on"),
            "note": call("add_note"),
        },
        default=reply("ok"),
    )


async def escalated() -> tuple[AgentSession[Any], RunResult[Any]]:
    session: AgentSession[Any] = AgentSession(llm=helpdesk_llm())
    await session.start(Helpdesk())
    await session.run(user_input="ticket 7")
    return session, await session.run(user_input="escalate")


async def test_events_hold_only_speech_calls_outputs_and_handoffs() -> None:
    session, result = await escalated()
    async with session:
        assert [ev.type for ev in result.events] == [
            "function_call",
            "function_call_output",
            "message",
            "agent_handoff",
            "message",
        ]
        assert result.done()
        assert (await result) is result


async def test_items_added_by_code_and_the_users_input_are_not_events() -> None:
    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        result = await session.run(user_input="note")
        assert [ev.type for ev in result.events] == ["function_call", "function_call_output"]
        assert "note added by code" in [m.text_content for m in session.chat_ctx.messages()]


async def test_next_event_walks_the_events_in_order() -> None:
    session, result = await escalated()
    async with session:
        ev = result.expect.next_event().is_function_call(name="escalate").event()
        assert ev.type == "function_call"
        assert ev.item.name == "escalate"
        result.expect.next_event().is_function_call_output(output="escalating", is_error=False)
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_agent_handoff(new_agent_type=Support)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


async def test_next_event_with_a_type_skips_other_events() -> None:
    session, result = await escalated()
    async with session:
        handoff = result.expect.next_event(type="agent_handoff").event()
        assert handoff.item.new_agent_id == "tier_two"
        result.expect.next_event(type="message")
        result.expect.no_more_events()


async def test_function_call_arguments_match_as_a_subset() -> None:
    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        result = await session.run(user_input="ticket 7")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call(name="find_ticket", arguments={"number": 7})
        with pytest.raises(AssertionError):
            result.expect[1].is_function_call(arguments={"number": 8})
        with pytest.raises(AssertionError):
            result.expect[1].is_function_call(name="find_ticket", arguments={"missing": 1})
        result.expect[1].is_function_call(arguments={"number": 7, "verbose": True})


async def test_output_match_is_exact() -> None:
    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        result = await session.run(user_input="ticket 7")
        result.expect.next_event(type="function_call_output").is_function_call_output(
            output="ticket 7 is open"
        )
        with pytest.raises(AssertionError):
            result.expect[2].is_function_call_output(output="ticket 7")
        with pytest.raises(AssertionError):
            result.expect[2].is_function_call_output(is_error=True)


async def test_skip_next_event_if_only_moves_on_a_match() -> None:
    session, result = await escalated()
    async with session:
        assert result.expect.skip_next_event_if(type="message") is None
        skipped = result.expect.skip_next_event_if(type="function_call", name="escalate")
        assert skipped is not None
        assert skipped.event().item.name == "escalate"
        result.expect.next_event().is_function_call_output()


async def test_contains_searches_the_whole_run() -> None:
    session, result = await escalated()
    async with session:
        result.expect.next_event()
        result.expect.next_event()
        # contains_* ignores the cursor
        result.expect.contains_function_call(name="escalate")
        result.expect.contains_function_call_output(output="escalating", is_error=False)
        result.expect.contains_message(role="assistant")
        result.expect.contains_agent_handoff(new_agent_type=TierTwo)
        with pytest.raises(AssertionError):
            result.expect.contains_function_call(name="find_ticket")
        with pytest.raises(AssertionError):
            result.expect.contains_agent_handoff(new_agent_type=Helpdesk)
        with pytest.raises(AssertionError):
            result.expect.contains_message(role="user")


async def test_failures_show_the_events_of_the_run() -> None:
    session, result = await escalated()
    async with session:
        with pytest.raises(AssertionError) as failure:
            result.expect.next_event().is_message(role="assistant")
        text = str(failure.value)
        for expected in ("escalate", "escalating", "tier_two", "Passing you on"):
            assert expected in text

        with pytest.raises(AssertionError) as failure:
            result.expect.no_more_events()
        assert "agent_handoff" in str(failure.value) or "tier_two" in str(failure.value)

        for _ in range(4):
            result.expect.next_event()
        with pytest.raises(AssertionError) as failure:
            result.expect.next_event()
        assert "escalate" in str(failure.value)


async def test_wrong_handoff_type_fails() -> None:
    session, result = await escalated()
    async with session:
        with pytest.raises(AssertionError):
            result.expect.next_event(type="agent_handoff").is_agent_handoff(new_agent_type=Helpdesk)


# --------------------------------------------------------------------------- mock_tools


async def test_mock_tools_replaces_what_a_tool_does_but_not_what_the_llm_sees() -> None:
    llm = helpdesk_llm()
    async with AgentSession(llm=llm) as session:
        await session.start(Helpdesk())
        with mock_tools(Helpdesk, {"find_ticket": lambda number: f"mocked {number}"}):
            mocked = await session.run(user_input="ticket 7")
        real = await session.run(user_input="ticket 7")

        mocked.expect.next_event(type="function_call_output").is_function_call_output(
            output="mocked 7"
        )
        real.expect.next_event(type="function_call_output").is_function_call_output(
            output="ticket 7 is open"
        )
        assert "find_ticket" in llm.requests[0].tools


async def test_async_mocks_and_returned_exceptions() -> None:
    async def slow_lookup(number: int, verbose: bool) -> str:
        return f"async {number} {verbose}"

    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        with mock_tools(Helpdesk, {"find_ticket": slow_lookup}):
            result = await session.run(user_input="ticket 7")
        result.expect.contains_function_call_output(output="async 7 True")

        with mock_tools(Helpdesk, {"find_ticket": lambda: ToolError("ticket system down")}):
            result = await session.run(user_input="ticket 7")
        result.expect.contains_function_call_output(output="ticket system down", is_error=True)


async def test_mocks_only_apply_to_their_agent_class() -> None:
    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        with mock_tools(TierTwo, {"find_ticket": lambda: "wrong agent"}):
            result = await session.run(user_input="ticket 7")
        result.expect.contains_function_call_output(output="ticket 7 is open")


async def test_a_mocked_handoff_follows_the_outcome_rules() -> None:
    async with AgentSession(llm=helpdesk_llm()) as session:
        await session.start(Helpdesk())
        with mock_tools(Helpdesk, {"escalate": lambda: "no tier two today"}):
            result = await session.run(user_input="escalate")
        result.expect.next_event().is_function_call(name="escalate")
        result.expect.next_event().is_function_call_output(output="no tier two today")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert isinstance(session.current_agent, Helpdesk)


async def test_indexing_and_skipping() -> None:
    session, result = await escalated()
    async with session:
        result.expect[0].is_function_call(name="escalate")
        result.expect[-1].is_message(role="assistant")
        result.expect[3].is_agent_handoff(new_agent_type=TierTwo)
        with pytest.raises(AssertionError):
            result.expect[5].is_message()
        result.expect.skip_next(2)
        result.expect.next_event().is_message(role="assistant")
