"""Every row of the "Tool outcomes" table: what a tool's result does to the turn.

Each test builds a small agent, scripts the LLM so the user's words trigger one tool call,
runs one turn and checks the recorded output, whether the old agent spoke again, and which
agent is active afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from voxfsm.agents import (
    Agent,
    AgentSession,
    FunctionCallOutput,
    RunContext,
    StopResponse,
    ToolError,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.llm.base import LLMChunk, ToolCallRequest

# --------------------------------------------------------------------------- the workflow


@dataclasses.dataclass
class Slot:
    day: str
    hour: int


@attrs.define
class Invoice:
    number: str
    paid: bool


class Greeter(Agent):
    """Where a transfer lands; says hello on arrival."""

    def __init__(self) -> None:
        super().__init__(instructions="greeter")
        self.entered = 0

    async def on_enter(self) -> None:
        self.entered += 1
        self.session.say("Greeter here")


class Other(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="other")

    @function_tool
    async def secret_tool(self) -> str:
        """Only the other agent has this."""
        ran.append("secret_tool")
        return "secret"


ran: list[str] = []
"""Names of the tools whose bodies really executed (reset by every test)."""

RETURNS: dict[str, Any] = {}
"""What ``Clerk.give`` returns, keyed by its ``what`` argument."""


class Clerk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="clerk")

    @function_tool
    async def give(self, what: str) -> Any:
        """Return a canned value.

        Args:
            what: which value to return
        """
        ran.append(f"give:{what}")
        return RETURNS[what]

    @function_tool
    async def nothing(self) -> None:
        """Do something silently."""
        ran.append("nothing")

    @function_tool
    async def transfer(self) -> Greeter:
        """Hand the caller to the greeter."""
        ran.append("transfer")
        return Greeter()

    @function_tool
    async def transfer_with(self, note: str | None = None) -> tuple[Greeter, str | None]:
        """Hand off and leave a note for the follow-up."""
        ran.append("transfer_with")
        return Greeter(), note

    @function_tool
    async def refuse(self) -> str:
        """Fails the way a tool should."""
        ran.append("refuse")
        raise ToolError("the account is locked")

    @function_tool
    async def hush(self) -> str:
        """Ends the turn without a reply."""
        ran.append("hush")
        raise StopResponse()

    @function_tool
    async def crash(self) -> str:
        """A bug in the tool."""
        ran.append("crash")
        raise KeyError("oops")

    @function_tool
    async def book(self, day: str, hour: int) -> str:
        """Book a slot."""
        ran.append(f"book:{day}:{hour}")
        return f"booked {day} {hour}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    ran.clear()
    RETURNS.clear()


async def started(llm: ScriptedLLM, agent: Agent | None = None) -> AgentSession[Any]:
    session: AgentSession[Any] = AgentSession(llm=llm)
    await session.start(agent or Clerk())
    return session


def outputs(session: AgentSession[Any]) -> list[FunctionCallOutput]:
    return [it for it in session.history.items if isinstance(it, FunctionCallOutput)]


# --------------------------------------------------------------------------- None / Agent


async def test_returning_none_records_empty_output_and_ends_the_turn_silently() -> None:
    llm = ScriptedLLM({"do it": call("nothing")}, default=reply("SHOULD NOT BE SAID"))
    async with await started(llm) as session:
        clerk = session.current_agent
        result = await session.run(user_input="do it")

        result.expect.next_event().is_function_call(name="nothing")
        result.expect.next_event().is_function_call_output(output="", is_error=False)
        result.expect.no_more_events()
        assert ran == ["nothing"]
        assert len(llm.requests) == 1  # no follow-up generation
        assert session.current_agent is clerk


async def test_returning_an_agent_hands_off_and_the_new_agent_speaks_from_on_enter() -> None:
    llm = ScriptedLLM({"transfer me": call("transfer")}, default=reply("SHOULD NOT BE SAID"))
    async with await started(llm) as session:
        result = await session.run(user_input="transfer me")

        result.expect.next_event().is_function_call(name="transfer")
        result.expect.next_event().is_function_call_output(output="", is_error=False)
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
        msg = result.expect.next_event().is_message(role="assistant").event().item
        assert msg.text_content == "Greeter here"
        result.expect.no_more_events()
        assert len(llm.requests) == 1  # the clerk did not speak again
        assert isinstance(session.current_agent, Greeter)
        assert session.machine.state == "greeter"


# --------------------------------------------------------------------------- (Agent, value)


async def test_tuple_handoff_records_the_value_and_the_old_agent_follows_up_without_tools() -> None:
    llm = ScriptedLLM(
        {"move": call("transfer_with", note="caller is angry"), "caller is angry": reply("Bye")}
    )
    async with await started(llm) as session:
        result = await session.run(user_input="move")

        result.expect.next_event().is_function_call(name="transfer_with")
        result.expect.next_event().is_function_call_output(output="caller is angry")
        follow = result.expect.next_event().is_message(role="assistant").event().item
        assert follow.text_content == "Bye"
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()

        follow_up_request = llm.requests[-1]
        assert follow_up_request.tools == ()
        assert follow_up_request.tool_choice == "none"
        # the follow-up ran on the clerk's own context: its instructions come first
        assert follow_up_request.chat_ctx.items[0].text_content == "clerk"
        assert follow_up_request.last_text == "caller is angry"
        assert isinstance(session.current_agent, Greeter)


async def test_tuple_handoff_with_none_value_records_empty_output_but_still_follows_up() -> None:
    llm = ScriptedLLM({"move": call("transfer_with")}, default=reply("One moment"))
    async with await started(llm) as session:
        result = await session.run(user_input="move")

        result.expect.next_event().is_function_call(name="transfer_with")
        result.expect.next_event().is_function_call_output(output="", is_error=False)
        assert result.expect.next_event().is_message().event().item.text_content == "One moment"
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
        assert len(llm.requests) == 2
        assert llm.requests[-1].tool_choice == "none"


# --------------------------------------------------------------------------- plain values


@pytest.mark.parametrize(
    ("value", "recorded"),
    [
        ("sunny", "sunny"),
        (42, "42"),
        (2.5, "2.5"),
        (True, "True"),
        # falsy values are kept as their text (LiveKit would turn these into "")
        (0, "0"),
        (False, "False"),
        ("", ""),
    ],
)
async def test_plain_values_are_recorded_as_their_text_and_get_a_follow_up(
    value: object, recorded: str
) -> None:
    RETURNS["x"] = value
    llm = ScriptedLLM({"ask": call("give", what="x")}, default=reply("Here you go"))
    async with await started(llm) as session:
        clerk = session.current_agent
        result = await session.run(user_input="ask")

        result.expect.next_event().is_function_call(name="give", arguments={"what": "x"})
        result.expect.next_event().is_function_call_output(output=recorded, is_error=False)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert len(llm.requests) == 2
        assert llm.requests[1].last_text == recorded
        assert session.current_agent is clerk


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ({"balance": 12, "currency": "EUR"}, {"balance": 12, "currency": "EUR"}),
        ([1, "two", None], [1, "two", None]),
        (Slot("monday", 9), {"day": "monday", "hour": 9}),
        (Invoice("A-1", paid=False), {"number": "A-1", "paid": False}),
    ],
    ids=["dict", "list", "dataclass", "attrs"],
)
async def test_structured_values_are_recorded_as_json(value: object, decoded: object) -> None:
    RETURNS["x"] = value
    llm = ScriptedLLM({"ask": call("give", what="x")}, default=reply("Done"))
    async with await started(llm) as session:
        result = await session.run(user_input="ask")

        out = result.expect.next_event(type="function_call_output").event().item
        assert json.loads(out.output) == decoded
        assert not out.is_error
        result.expect.next_event().is_message(role="assistant")


# --------------------------------------------------------------------------- exceptions


async def test_tool_error_message_goes_to_the_llm_as_an_error_output() -> None:
    llm = ScriptedLLM(
        {"unlock": call("refuse"), "the account is locked": reply("Sorry, it is locked")}
    )
    async with await started(llm) as session:
        clerk = session.current_agent
        result = await session.run(user_input="unlock")

        result.expect.next_event().is_function_call(name="refuse")
        result.expect.next_event().is_function_call_output(
            output="the account is locked", is_error=True
        )
        msg = result.expect.next_event().is_message(role="assistant").event().item
        assert msg.text_content == "Sorry, it is locked"
        result.expect.no_more_events()
        assert session.current_agent is clerk


async def test_stop_response_records_empty_output_and_no_reply() -> None:
    llm = ScriptedLLM({"quiet": call("hush")}, default=reply("SHOULD NOT BE SAID"))
    async with await started(llm) as session:
        clerk = session.current_agent
        result = await session.run(user_input="quiet")

        result.expect.next_event().is_function_call(name="hush")
        result.expect.next_event().is_function_call_output(output="", is_error=False)
        result.expect.no_more_events()
        assert len(llm.requests) == 1
        assert session.current_agent is clerk


async def test_unexpected_exception_is_hidden_from_the_llm_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm = ScriptedLLM({"boom": call("crash")}, default=reply("Something went wrong"))
    async with await started(llm) as session:
        with caplog.at_level(logging.ERROR):
            result = await session.run(user_input="boom")

        out = result.expect.next_event(type="function_call_output").event().item
        assert out.output == "An internal error occurred"
        assert out.is_error
        assert "oops" not in out.output
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)


# --------------------------------------------------------------------------- bad calls


async def test_unknown_tool_is_answered_with_the_list_of_available_tools() -> None:
    llm = ScriptedLLM({"hack": call("format_disk")}, default=reply("I can't do that"))
    async with await started(llm) as session:
        result = await session.run(user_input="hack")

        result.expect.next_event().is_function_call(name="format_disk")
        out = result.expect.next_event().is_function_call_output(is_error=True).event().item
        assert "format_disk" in out.output
        for name in ("give", "nothing", "transfer", "refuse", "book"):
            assert name in out.output
        result.expect.next_event().is_message(role="assistant")
        assert ran == []


async def test_a_tool_of_another_agent_is_not_executed() -> None:
    llm = ScriptedLLM({"peek": call("secret_tool")}, default=reply("I can't"))
    other = Other()  # exists, owns the tool, but is not active
    async with await started(llm) as session:
        result = await session.run(user_input="peek")

        out = result.expect.next_event(type="function_call_output").event().item
        assert out.is_error
        assert "book" in out.output  # lists what the clerk *can* call
        assert ran == []
        assert other.tools[0].name == "secret_tool"
        assert session.current_agent.id == "clerk"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"day": "monday", "hour": "very"}, "hour"),
        ({"day": "monday"}, "hour"),
        ({"day": "monday", "hour": 9, "room": 3}, "room"),
    ],
    ids=["wrong-type", "missing", "unknown-name"],
)
async def test_arguments_failing_the_schema_are_reported_and_the_tool_does_not_run(
    arguments: dict[str, Any], problem: str
) -> None:
    llm = ScriptedLLM({"book it": call("book", **arguments)}, default=reply("Let me retry"))
    async with await started(llm) as session:
        result = await session.run(user_input="book it")

        out = result.expect.next_event(type="function_call_output").event().item
        assert out.is_error
        assert problem in out.output
        result.expect.next_event().is_message(role="assistant")
        assert ran == []


# --------------------------------------------------------------------------- several calls


async def test_two_handoffs_in_one_step_are_both_errors_and_nobody_moves() -> None:
    llm = ScriptedLLM(
        {"both": [call("transfer"), call("transfer_with", note="x")]},
        default=reply("Pick one"),
    )
    async with await started(llm) as session:
        clerk = session.current_agent
        result = await session.run(user_input="both")

        result.expect.next_event().is_function_call(name="transfer")
        result.expect.next_event().is_function_call(name="transfer_with")
        result.expect.next_event().is_function_call_output(is_error=True)
        result.expect.next_event().is_function_call_output(is_error=True)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert session.current_agent is clerk
        assert session.machine.state == "clerk"
        assert sorted(ran) == ["transfer", "transfer_with"]  # both ran, neither took effect


async def test_one_handoff_with_a_value_sibling_records_both_and_follows_up() -> None:
    RETURNS["x"] = "balance is 3"
    llm = ScriptedLLM(
        {"go": [call("give", what="x"), call("transfer")]},
        default=reply("Transferring with your balance"),
    )
    async with await started(llm) as session:
        result = await session.run(user_input="go")

        result.expect.next_event().is_function_call(name="give")
        result.expect.next_event().is_function_call(name="transfer")
        result.expect.next_event().is_function_call_output(output="balance is 3")
        result.expect.next_event().is_function_call_output(output="")
        result.expect.next_event().is_message(role="assistant")  # the clerk's follow-up
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert llm.requests[-1].tool_choice == "none"
        assert isinstance(session.current_agent, Greeter)


async def test_one_bare_handoff_with_a_silent_sibling_has_no_follow_up() -> None:
    llm = ScriptedLLM({"go": [call("nothing"), call("transfer")]}, default=reply("NOT SAID"))
    async with await started(llm) as session:
        result = await session.run(user_input="go")

        result.expect.next_event().is_function_call(name="nothing")
        result.expect.next_event().is_function_call(name="transfer")
        result.expect.next_event().is_function_call_output(output="")
        result.expect.next_event().is_function_call_output(output="")
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)
        msg = result.expect.next_event().is_message().event().item
        assert msg.text_content == "Greeter here"
        result.expect.no_more_events()
        assert len(llm.requests) == 1


class Racer(Agent):
    """Two tools that overlap in time when run concurrently."""

    def __init__(self) -> None:
        super().__init__(instructions="racer")
        self.running = 0
        self.overlap = 0
        self.finished: list[str] = []

    async def _work(self, name: str, yields: int) -> str:
        self.running += 1
        for _ in range(yields):
            await asyncio.sleep(0)
            self.overlap = max(self.overlap, self.running)
        self.running -= 1
        self.finished.append(name)
        return f"{name} done"

    @function_tool
    async def slow(self) -> str:
        """Takes a few loop iterations."""
        return await self._work("slow", 5)

    @function_tool
    async def fast(self) -> str:
        """Takes one loop iteration."""
        return await self._work("fast", 1)

    @function_tool
    async def leave(self) -> Greeter:
        """Hand off after a few loop iterations."""
        await self._work("leave", 3)
        return Greeter()


async def test_parallel_calls_overlap_but_outputs_follow_call_order() -> None:
    llm = ScriptedLLM({"race": [call("slow"), call("fast")]}, default=reply("both done"))
    racer = Racer()
    async with await started(llm, racer) as session:
        result = await session.run(user_input="race")

        assert racer.overlap == 2  # both tools were in flight at the same time
        assert racer.finished == ["fast", "slow"]  # completion order ...
        result.expect.next_event().is_function_call(name="slow")
        result.expect.next_event().is_function_call(name="fast")
        result.expect.next_event().is_function_call_output(output="slow done")  # ... not this
        result.expect.next_event().is_function_call_output(output="fast done")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


async def test_parallel_outputs_are_all_recorded_before_the_handoff() -> None:
    llm = ScriptedLLM({"race": [call("leave"), call("slow")]}, default=reply("see you"))
    async with await started(llm, Racer()) as session:
        result = await session.run(user_input="race")

        kinds = [ev.type for ev in result.events]
        assert kinds == [
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
            "message",
            "agent_handoff",
            "message",
        ]
        assert [ev.item.name for ev in result.events[2:4]] == ["leave", "slow"]


# --------------------------------------------------------------------------- the reply loop


async def test_text_emitted_with_calls_is_recorded_before_them() -> None:
    llm = ScriptedLLM(
        {"book": reply("Let me book that", calls=[call("book", day="fri", hour=10)])},
        default=reply("Booked"),
    )
    async with await started(llm) as session:
        result = await session.run(user_input="book")

        first = result.expect.next_event().is_message(role="assistant").event().item
        assert first.text_content == "Let me book that"
        result.expect.next_event().is_function_call(name="book", arguments={"hour": 10})
        result.expect.next_event().is_function_call_output(output="booked fri 10")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        history = session.history.items
        assert history.index(first) < [i.id for i in history].index(result.events[1].item.id)


class Looper(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="looper")
        self.calls = 0

    @function_tool
    async def again(self) -> str:
        """Always wants another round."""
        self.calls += 1
        return "call again"


async def test_max_tool_steps_bounds_tool_rounds_then_forces_a_text_reply() -> None:
    llm = ScriptedLLM(
        {"start": call("again"), "call again": reply("giving up", calls=[call("again")])}
    )
    looper = Looper()
    async with AgentSession(llm=llm, max_tool_steps=2) as session:
        await session.start(looper)
        result = await session.run(user_input="start")

        assert looper.calls == 2
        kinds = [ev.type for ev in result.events]
        assert kinds.count("function_call") == 2
        assert kinds.count("function_call_output") == 2
        last = result.events[-1].item
        assert last.text_content == "giving up"
        assert llm.requests[-1].tools == ()
        assert llm.requests[-1].tool_choice == "none"
        assert [r.tool_choice for r in llm.requests[:2]] == ["auto", "auto"]


async def test_run_context_is_injected_into_a_tool() -> None:
    seen: list[object] = []

    class Probe(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="probe")

        @function_tool
        async def look(self, context: RunContext) -> str:
            """Look at the call."""
            seen.append(context.function_call.name)
            seen.append(context.session)
            return "seen"

    llm = ScriptedLLM({"look": call("look")}, default=reply("ok"))
    async with await started(llm, Probe()) as session:
        await session.run(user_input="look")
        assert seen == ["look", session]


class Packer(Agent):
    """Hands off with structured or falsy values."""

    def __init__(self) -> None:
        super().__init__(instructions="packer")

    @function_tool
    async def ship(self, what: str) -> tuple[Greeter, Any]:
        """Ship a value along with the caller."""
        return Greeter(), RETURNS[what]


@pytest.mark.parametrize(
    ("value", "check"),
    [
        ({"order": 7}, lambda out: json.loads(out) == {"order": 7}),
        (0, lambda out: out == "0"),
        (False, lambda out: out == "False"),
        (Slot("friday", 17), lambda out: json.loads(out) == {"day": "friday", "hour": 17}),
    ],
    ids=["dict", "zero", "false", "dataclass"],
)
async def test_the_value_of_a_tuple_handoff_follows_the_same_rules(
    value: object, check: Any
) -> None:
    RETURNS["x"] = value
    llm = ScriptedLLM({"ship": call("ship", what="x")}, default=reply("Shipping you"))
    async with await started(llm, Packer()) as session:
        result = await session.run(user_input="ship")
        out = result.expect.next_event(type="function_call_output").event().item
        assert check(out.output), out.output
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeter)


class Watcher(Agent):
    """Tools that look at the context while they run."""

    def __init__(self) -> None:
        super().__init__(instructions="watcher")
        self.seen: dict[str, list[str]] = {}

    def _look(self, name: str) -> None:
        session = self.session
        self.seen[name] = [
            f"{it.type}:{getattr(it, 'name', '')}"
            for it in session.history.items
            if it.type in ("function_call", "function_call_output")
        ]

    @function_tool
    async def first(self) -> str:
        """Look first."""
        self._look("first")
        await asyncio.sleep(0)
        return "1"

    @function_tool
    async def second(self, ctx: RunContext) -> str:
        """Look second, and talk."""
        await ctx.session.say("working on it")
        self._look("second")
        return "2"


async def test_calls_are_recorded_when_emitted_and_outputs_when_the_step_ends() -> None:
    llm = ScriptedLLM({"look": [call("first"), call("second")]}, default=reply("done"))
    watcher = Watcher()
    async with await started(llm, watcher) as session:
        result = await session.run(user_input="look")

        both_calls = ["function_call:first", "function_call:second"]
        assert watcher.seen["first"] == both_calls
        assert watcher.seen["second"] == both_calls
        assert [ev.type for ev in result.events] == [
            "function_call",
            "function_call",
            "message",
            "function_call_output",
            "function_call_output",
            "message",
        ]


async def test_function_tools_executed_pairs_calls_with_outputs_in_call_order() -> None:
    executed: list[Any] = []
    llm = ScriptedLLM({"race": [call("slow"), call("fast")]}, default=reply("ok"))
    async with await started(llm, Racer()) as session:
        session.on("function_tools_executed", executed.append)
        await session.run(user_input="race")
    assert len(executed) == 1
    pairs = executed[0].zipped()
    assert [(c.name, o.output) for c, o in pairs] == [("slow", "slow done"), ("fast", "fast done")]
    assert all(c.call_id == o.call_id for c, o in pairs)


class RogueLLM:
    """Ignores tool_choice: asks for `give` on every request."""

    def __init__(self) -> None:
        self.choices: list[Any] = []

    async def chat(
        self, *, chat_ctx: Any, tools: Any, tool_choice: Any = "auto"
    ) -> AsyncIterator[LLMChunk]:
        self.choices.append(tool_choice)
        yield LLMChunk(
            "talking",
            (
                ToolCallRequest(
                    call_id=f"rogue_{len(self.choices)}", name="give", arguments='{"what": "x"}'
                ),
            ),
        )


async def test_calls_emitted_while_tools_are_disabled_are_never_run() -> None:
    RETURNS["x"] = "a value that needs a reply"
    llm = RogueLLM()
    async with AgentSession(llm=llm, max_tool_steps=1) as session:
        await session.start(Clerk())
        result = await session.run(user_input="anything")

        assert ran == ["give:x"]  # the one allowed step ran, the forced text reply did not
        assert llm.choices == ["auto", "none"]
        kinds = [ev.type for ev in result.events]
        assert kinds.count("function_call") == 1
        assert kinds.count("function_call_output") == 1
        assert result.events[-1].item.text_content == "talking"
