"""``AgentSession``: start, run, generate_reply, say, update_agent, events, errors and closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from voxfsm.agents import (
    Agent,
    AgentHandoff,
    AgentSession,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    RunContext,
    StopResponse,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.llm.base import LLMChunk, LLMError
from voxfsm.fsm.graph import build_graph


def texts(ctx: ChatContext, role: str | None = None) -> list[str]:
    return [
        i.text_content
        for i in ctx.items
        if isinstance(i, ChatMessage) and (role is None or i.role == role)
    ]


class Hotel(Agent):
    """A front desk that can talk from inside its tools."""

    def __init__(self) -> None:
        super().__init__(instructions="hotel")
        self.notes: dict[str, Any] = {}

    @function_tool
    async def check_rooms(self, ctx: RunContext) -> str:
        """Check free rooms, telling the guest to wait."""
        handle = ctx.session.say("One moment please")
        await handle
        self.notes["in_ctx"] = "One moment please" in texts(self.chat_ctx)
        self.notes["in_history"] = "One moment please" in texts(ctx.session.history)
        return "two rooms free"

    @function_tool
    async def think_aloud(self, ctx: RunContext) -> str:
        """Generate a sentence from inside the tool."""
        await ctx.session.generate_reply(instructions="say you are checking")
        self.notes["said"] = texts(self.chat_ctx, "assistant")[-1]
        return "checked"

    @function_tool
    async def to_spa(self) -> Spa:
        """Send the guest to the spa."""
        return Spa()

    @function_tool
    async def stay(self) -> Agent:
        """Hand off to itself (not allowed: it is active)."""
        return self


class Spa(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="spa")

    async def on_enter(self) -> None:
        self.session.say("Welcome to the spa")


def hotel_llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "rooms?": call("check_rooms"),
            "think": call("think_aloud"),
            "spa": call("to_spa"),
            "stay": call("stay"),
            "say you are checking": reply("I am checking"),
            "two rooms free": reply("We have two rooms"),
        },
        default=reply("ok"),
    )


# --------------------------------------------------------------------------- start


class Greeting(Agent):
    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__(instructions="greeting")
        self.gate = gate
        self.entered = asyncio.Event()
        self.enter_count = 0
        self.exit_count = 0

    async def on_enter(self) -> None:
        self.enter_count += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        await self.session.generate_reply(instructions="greet")

    async def on_exit(self) -> None:
        self.exit_count += 1


async def test_start_waits_for_on_enter_and_its_speech_and_can_capture_it() -> None:
    llm = ScriptedLLM({"greet": reply("Hello!")})
    async with AgentSession(llm=llm) as session:
        agent = Greeting()
        result = await session.start(agent, capture_run=True)

        assert result is not None
        assert agent.enter_count == 1
        result.expect.next_event().is_agent_handoff(new_agent_type=Greeting)
        greeting = result.expect.next_event().is_message(role="assistant").event().item
        assert greeting.text_content == "Hello!"
        result.expect.no_more_events()
        assert texts(agent.chat_ctx, "assistant") == ["Hello!"]


async def test_start_without_capture_returns_none() -> None:
    async with AgentSession(llm=ScriptedLLM({"greet": reply("Hello!")})) as session:
        assert await session.start(Greeting()) is None
        assert texts(session.history, "assistant") == ["Hello!"]


async def test_a_run_issued_during_on_enter_waits_for_it() -> None:
    llm = ScriptedLLM({"greet": reply("Hello!"), "hi": reply("How can I help?")})
    gate = asyncio.Event()
    agent = Greeting(gate)
    async with AgentSession(llm=llm) as session:
        starting = asyncio.ensure_future(session.start(agent))
        await agent.entered.wait()
        pending = session.run(user_input="hi")
        assert not pending.done()
        gate.set()
        await starting
        result = await pending

        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert texts(session.history) == ["Hello!", "hi", "How can I help?"]


# --------------------------------------------------------------------------- run and replies


async def test_the_user_message_is_stored_before_the_first_llm_call() -> None:
    seen: list[tuple[list[str], list[str]]] = []
    box: list[AgentSession[Any]] = []

    def respond(ctx: ChatContext, tools: Sequence[Any]) -> Any:
        session = box[0]
        seen.append((texts(session.current_agent.chat_ctx), texts(session.history)))
        return reply("hello")

    async with AgentSession(llm=ScriptedLLM(respond)) as session:
        box.append(session)
        await session.start(Hotel())
        result = await session.run(user_input="good evening")

        assert seen == [(["hotel", "good evening"], ["good evening"])]
        # the user's own words are not an event of the run
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


async def test_generate_reply_instructions_are_sent_once_and_never_stored() -> None:
    llm = hotel_llm()
    async with AgentSession(llm=llm) as session:
        hotel = Hotel()
        await session.start(hotel)
        handle = session.generate_reply(instructions="two rooms free")
        await handle

        request = llm.requests[-1]
        assert request.last_text == "two rooms free"
        assert request.chat_ctx.items[-1].role == "system"
        assert "two rooms free" not in texts(hotel.chat_ctx)
        assert "two rooms free" not in texts(session.history)
        assert texts(hotel.chat_ctx, "assistant") == ["We have two rooms"]
        assert handle.done()


async def test_ephemeral_instructions_are_not_in_tool_follow_up_requests() -> None:
    llm = ScriptedLLM({"look up rooms": call("check_rooms")}, default=reply("done"))
    async with AgentSession(llm=llm) as session:
        await session.start(Hotel())
        await session.generate_reply(instructions="look up rooms")

        first, *follow_ups = llm.requests
        assert first.last_text == "look up rooms"
        assert follow_ups
        for request in follow_ups:
            assert "look up rooms" not in texts(request.chat_ctx)
        assert isinstance(follow_ups[0].chat_ctx.items[-1], FunctionCallOutput)


async def test_generate_reply_with_user_input_stores_the_input() -> None:
    llm = ScriptedLLM({"rooms?": reply("Two")}, default=reply("?"))
    async with AgentSession(llm=llm) as session:
        await session.start(Hotel())
        await session.generate_reply(user_input="rooms?")
        assert texts(session.history) == ["rooms?", "Two"]


async def test_say_inside_a_tool_falls_between_call_and_output() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        hotel = Hotel()
        await session.start(hotel)
        result = await session.run(user_input="rooms?")

        result.expect.next_event().is_function_call(name="check_rooms")
        said = result.expect.next_event().is_message(role="assistant").event().item
        assert said.text_content == "One moment please"
        result.expect.next_event().is_function_call_output(output="two rooms free")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the awaited handle resolved once the message was stored
        assert hotel.notes == {"in_ctx": True, "in_history": True}


async def test_generate_reply_inside_a_tool_runs_nested_without_tools() -> None:
    llm = hotel_llm()
    async with AgentSession(llm=llm) as session:
        hotel = Hotel()
        await session.start(hotel)
        result = await session.run(user_input="think")

        result.expect.next_event().is_function_call(name="think_aloud")
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_function_call_output(output="checked")
        assert hotel.notes["said"] == "I am checking"
        nested = next(r for r in llm.requests if r.last_text == "say you are checking")
        assert nested.tool_choice == "none"
        assert nested.tools == ()


class Farewell(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="farewell")

    async def on_exit(self) -> None:
        await self.session.say("Goodbye from farewell")

    @function_tool
    async def to_spa(self) -> Spa:
        """Go to the spa."""
        return Spa()


async def test_speech_in_on_exit_belongs_to_the_run_and_to_the_old_agent() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        farewell = Farewell()
        await session.start(farewell)
        result = await session.run(user_input="spa")

        result.expect.next_event().is_function_call(name="to_spa")
        result.expect.next_event().is_function_call_output()
        bye = result.expect.next_event().is_message(role="assistant").event().item
        assert bye.text_content == "Goodbye from farewell"
        result.expect.next_event().is_agent_handoff(new_agent_type=Spa)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert "Goodbye from farewell" in texts(farewell.chat_ctx)
        assert "Goodbye from farewell" not in texts(session.current_agent.chat_ctx)


async def test_say_without_adding_to_the_context() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        hotel = Hotel()
        await session.start(hotel)
        await session.say("Just so you know", add_to_chat_ctx=False)
        assert "Just so you know" not in texts(hotel.chat_ctx)
        await session.say("Noted")
        assert "Noted" in texts(hotel.chat_ctx)
        assert "Noted" in texts(session.history)


# --------------------------------------------------------------------------- update_agent


async def test_update_agent_switches_at_once_and_swaps_in_the_background() -> None:
    llm = ScriptedLLM({"hi": reply("spa reply")}, default=reply("?"))
    async with AgentSession(llm=llm) as session:
        greeting = Greeting()
        await session.start(greeting)
        spa = Spa()
        session.update_agent(spa)

        assert session.current_agent is spa
        assert session.machine.state == "spa"
        result = await session.run(user_input="hi")  # runs after the swap has finished

        assert greeting.exit_count == 1
        handoffs = [i for i in session.history.items if isinstance(i, AgentHandoff)]
        assert [(h.old_agent_id, h.new_agent_id) for h in handoffs] == [
            (None, "greeting"),
            ("greeting", "spa"),
        ]
        assert texts(spa.chat_ctx, "assistant") == ["Welcome to the spa", "spa reply"]
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the programmatic swap is an edge without a tool
        swaps = [e for e in build_graph(session).edges if e.source == "greeting"]
        assert [(e.tool, e.target) for e in swaps] == [(None, "spa")]


async def test_update_agent_to_the_active_agent_raises() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        hotel = Hotel()
        await session.start(hotel)
        with pytest.raises(RuntimeError):
            session.update_agent(hotel)
        assert session.current_agent is hotel


async def test_a_tool_handing_off_to_the_active_agent_does_not_hand_off() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        hotel = Hotel()
        await session.start(hotel)
        result = await session.run(user_input="stay")

        result.expect.next_event().is_function_call(name="stay")
        result.expect.next_event().is_function_call_output(is_error=True)
        assert not [ev for ev in result.events if ev.type == "agent_handoff"]
        assert session.current_agent is hotel


# --------------------------------------------------------------------------- queued input


class SlowSpa(Agent):
    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__(instructions="slow spa")
        self.gate = gate
        self.entered = asyncio.Event()

    async def on_enter(self) -> None:
        self.entered.set()
        await self.gate.wait()


async def test_input_arriving_during_a_handoff_goes_to_the_new_agent() -> None:
    gate = asyncio.Event()
    slow = SlowSpa(gate)

    class Lobby(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="lobby")

        @function_tool
        async def to_spa(self) -> Agent:
            """Go to the spa."""
            return slow

    llm = ScriptedLLM({"spa": call("to_spa")}, default=reply("answered"))
    async with AgentSession(llm=llm) as session:
        lobby = Lobby()
        await session.start(lobby)
        moving = session.run(user_input="spa")
        await slow.entered.wait()
        queued = session.run(user_input="is the sauna hot?")
        gate.set()
        await moving
        result = await queued

        result.expect.next_event().is_message(role="assistant")
        assert llm.requests[-1].chat_ctx.items[0].text_content == "slow spa"
        assert "is the sauna hot?" in texts(slow.chat_ctx)
        assert "is the sauna hot?" not in texts(lobby.chat_ctx)


# --------------------------------------------------------------------------- events


async def test_session_events_are_emitted() -> None:
    added: list[Any] = []
    executed: list[Any] = []
    states: list[tuple[str, str]] = []
    closed: list[Any] = []
    session: AgentSession[Any] = AgentSession(llm=hotel_llm())
    session.on("conversation_item_added", lambda ev: added.append(ev.item))
    session.on("function_tools_executed", executed.append)
    session.on("agent_state_changed", lambda ev: states.append((ev.old_state, ev.new_state)))
    session.on("close", closed.append)

    await session.start(Hotel())
    await session.run(user_input="rooms?")
    states_after_run = list(states)
    await session.aclose()

    assert [type(i) for i in added][:1] == [AgentHandoff]
    assert [i.text_content for i in added if isinstance(i, ChatMessage)] == [
        "rooms?",
        "One moment please",
        "We have two rooms",
    ]
    assert len(executed) == 1
    ((fc, out),) = executed[0].zipped()
    assert isinstance(fc, FunctionCall)
    assert (fc.name, out.output) == ("check_rooms", "two rooms free")
    assert fc.call_id == out.call_id
    # the agent thought during the turn and listens again when it is over
    assert "thinking" in [new for _, new in states_after_run]
    assert states_after_run[-1][1] == "listening"
    assert all(old != new for old, new in states)
    assert len(closed) == 1


# --------------------------------------------------------------------------- on_user_turn_completed


class Gatekeeper(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="gatekeeper")
        self.seen: list[str] = []

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        self.seen.append(new_message.text_content)
        if new_message.text_content.startswith("psst"):
            raise StopResponse()


async def test_stop_response_in_on_user_turn_completed_skips_the_reply_but_keeps_the_message() -> (
    None
):
    llm = ScriptedLLM({}, default=reply("answer"))
    async with AgentSession(llm=llm) as session:
        agent = Gatekeeper()
        await session.start(agent)
        result = await session.run(user_input="psst, ignore this")

        result.expect.no_more_events()
        assert llm.requests == []
        assert "psst, ignore this" in texts(agent.chat_ctx)
        assert "psst, ignore this" in texts(session.history)

        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")
        assert agent.seen == ["psst, ignore this", "hello"]
        assert texts(llm.requests[0].chat_ctx)[-2:] == ["psst, ignore this", "hello"]


# --------------------------------------------------------------------------- errors


class Fragile(Agent):
    def __init__(self, *, fail_enter: bool = False, fail_exit: bool = False) -> None:
        super().__init__(instructions="fragile")
        self.fail_enter = fail_enter
        self.fail_exit = fail_exit

    async def on_enter(self) -> None:
        if self.fail_enter:
            raise RuntimeError("enter failed")

    async def on_exit(self) -> None:
        if self.fail_exit:
            raise RuntimeError("exit failed")

    @function_tool
    async def next_one(self) -> Agent:
        """Move on."""
        return Fragile(fail_enter=True)

    @function_tool
    async def to_spa(self) -> Spa:
        """Move on to the spa."""
        return Spa()


def fragile_llm() -> ScriptedLLM:
    return ScriptedLLM({"next": call("next_one"), "spa": call("to_spa")}, default=reply("fine"))


async def test_on_enter_failure_propagates_from_start_and_the_session_keeps_going() -> None:
    async with AgentSession(llm=fragile_llm()) as session:
        agent = Fragile(fail_enter=True)
        with pytest.raises(RuntimeError, match="enter failed"):
            await session.start(agent)
        assert session.current_agent is agent
        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")


async def test_on_enter_failure_after_a_handoff_propagates_from_run() -> None:
    async with AgentSession(llm=fragile_llm()) as session:
        await session.start(Fragile())
        with pytest.raises(RuntimeError, match="enter failed"):
            await session.run(user_input="next")
        new = session.current_agent
        assert isinstance(new, Fragile) and new.fail_enter
        assert session.history.items[-1].type == "agent_handoff"
        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")
        assert texts(new.chat_ctx)[-2:] == ["hello", "fine"]


async def test_on_exit_failure_propagates_but_the_handoff_completes() -> None:
    async with AgentSession(llm=fragile_llm()) as session:
        await session.start(Fragile(fail_exit=True))
        with pytest.raises(RuntimeError, match="exit failed"):
            await session.run(user_input="spa")
        spa = session.current_agent
        assert isinstance(spa, Spa)
        assert texts(spa.chat_ctx, "assistant") == ["Welcome to the spa"]
        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")


class BrokenLLM:
    """An LLM endpoint that is down until it is repaired."""

    def __init__(self) -> None:
        self.broken = True

    async def chat(
        self, *, chat_ctx: ChatContext, tools: Sequence[Any], tool_choice: Any = "auto"
    ) -> AsyncIterator[LLMChunk]:
        if self.broken:
            raise LLMError("http://127.0.0.1:9/v1 refused the connection")
        yield LLMChunk("back online")


async def test_llm_failure_propagates_from_run_and_the_session_stays_usable() -> None:
    llm = BrokenLLM()
    async with AgentSession(llm=llm) as session:
        hotel = Hotel()
        await session.start(hotel)
        with pytest.raises(LLMError, match=r"127\.0\.0\.1"):
            await session.run(user_input="hello?")
        llm.broken = False
        result = await session.run(user_input="hello again")
        assert result.expect.next_event().is_message().event().item.text_content == "back online"
        assert session.current_agent is hotel


# --------------------------------------------------------------------------- closing


async def test_aclose_runs_on_exit_of_the_active_agent() -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM({}))
    agent = Greeting()
    await session.start(agent)
    await session.aclose()
    assert agent.exit_count == 1
    with pytest.raises(RuntimeError):
        _ = agent.session


async def test_aclose_on_a_never_started_session_is_a_no_op() -> None:
    session: AgentSession[Any] = AgentSession()
    await session.aclose()  # must not raise, nor need an LLM or an agent
    async with AgentSession():
        pass


# --------------------------------------------------------------------------- re-activation


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="desk")
        self.enter_count = 0
        self.back_to: Agent | None = None

    async def on_enter(self) -> None:
        self.enter_count += 1

    @function_tool
    async def to_room_service(self) -> RoomService:
        """Order room service."""
        return RoomService(self)


class RoomService(Agent):
    def __init__(self, desk: Desk) -> None:
        super().__init__(instructions="room service")
        self.desk = desk

    @function_tool
    async def back_to_desk(self) -> Desk:
        """Return to the very same desk."""
        return self.desk


async def test_an_exited_agent_can_be_activated_again_and_keeps_its_context() -> None:
    llm = ScriptedLLM(
        {"food": call("to_room_service"), "back": call("back_to_desk")}, default=reply("ok")
    )
    async with AgentSession(llm=llm) as session:
        desk = Desk()
        await session.start(desk)
        await session.run(user_input="remember me")
        await session.run(user_input="food")
        assert desk.enter_count == 1
        result = await session.run(user_input="back")

        result.expect.contains_agent_handoff(new_agent_type=Desk)
        assert session.current_agent is desk
        assert desk.enter_count == 2
        assert "remember me" in texts(desk.chat_ctx)
        assert desk.chat_ctx.items[0].text_content == "desk"
        handoffs = [i for i in session.history.items if isinstance(i, AgentHandoff)]
        assert [h.new_agent_id for h in handoffs] == ["desk", "room_service", "desk"]


# ------------------------------------------------------------------ LLM failures mid-handoff


class FailsOn:
    """Wraps a ScriptedLLM; the endpoint fails when the last item has one of these texts."""

    def __init__(self, inner: ScriptedLLM, *texts: str) -> None:
        self.inner = inner
        self.texts = set(texts)

    async def chat(
        self, *, chat_ctx: ChatContext, tools: Sequence[Any], tool_choice: Any = "auto"
    ) -> AsyncIterator[LLMChunk]:
        last = chat_ctx.items[-1]
        if isinstance(last, (ChatMessage, FunctionCallOutput)) and (
            getattr(last, "output", None) in self.texts
            or (isinstance(last, ChatMessage) and last.text_content in self.texts)
        ):
            raise LLMError("http://127.0.0.1:9/v1 is down")
        async for chunk in self.inner.chat(chat_ctx=chat_ctx, tools=tools, tool_choice=tool_choice):
            yield chunk


class Concierge(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="concierge")
        self.exits = 0

    async def on_exit(self) -> None:
        self.exits += 1

    @function_tool
    async def to_spa(self) -> tuple[Spa, str]:
        """Walk the guest to the spa."""
        return Spa(), "walking to the spa"


async def test_llm_failure_in_the_handoff_follow_up_still_completes_the_handoff() -> None:
    llm = FailsOn(ScriptedLLM({"spa": call("to_spa")}, default=reply("ok")), "walking to the spa")
    async with AgentSession(llm=llm) as session:
        concierge = Concierge()
        await session.start(concierge)
        with pytest.raises(LLMError):
            await session.run(user_input="spa")

        spa = session.current_agent
        assert isinstance(spa, Spa)
        # the decided handoff was carried out: old exited, record written, new entered
        assert concierge.exits == 1
        last_handoff = [i for i in session.history.items if isinstance(i, AgentHandoff)][-1]
        assert (last_handoff.old_agent_id, last_handoff.new_agent_id) == ("concierge", "spa")
        assert spa.session is session
        assert texts(spa.chat_ctx, "assistant") == ["Welcome to the spa"]
        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")
        assert "hello" in texts(spa.chat_ctx)


async def test_llm_failure_inside_on_enter_propagates_from_start() -> None:
    class Chatty(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="chatty")

        async def on_enter(self) -> None:
            await self.session.generate_reply(instructions="introduce yourself")

    llm = FailsOn(ScriptedLLM({}, default=reply("ok")), "introduce yourself")
    async with AgentSession(llm=llm) as session:
        with pytest.raises(LLMError):
            await session.start(Chatty())
        result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")


async def test_generate_reply_issued_during_on_enter_waits_for_it() -> None:
    llm = ScriptedLLM({"greet": reply("Hello!"), "nudge": reply("Still there?")})
    gate = asyncio.Event()
    agent = Greeting(gate)
    async with AgentSession(llm=llm) as session:
        starting = asyncio.ensure_future(session.start(agent))
        await agent.entered.wait()
        handle = session.generate_reply(instructions="nudge")
        assert not handle.done()
        gate.set()
        await starting
        await handle
        assert texts(session.history, "assistant") == ["Hello!", "Still there?"]


async def test_tool_choice_is_passed_to_the_llm() -> None:
    llm = hotel_llm()
    async with AgentSession(llm=llm) as session:
        await session.start(Hotel())
        await session.generate_reply(user_input="rooms?", tool_choice="none")
        assert llm.requests[-1].tool_choice == "none"
        assert llm.requests[-1].tools == ()
        assert not any(isinstance(i, FunctionCall) for i in session.history.items)


async def test_run_context_exposes_the_call_the_speech_and_interruptions() -> None:
    seen: dict[str, Any] = {}

    class Careful(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="careful")

        @function_tool
        async def transfer_money(self, ctx: RunContext, amount: int) -> str:
            """Move money; must not be interrupted."""
            ctx.disallow_interruptions()
            seen["call"] = ctx.function_call
            seen["speech"] = ctx.speech_handle
            return "moved"

    llm = ScriptedLLM({"pay": call("transfer_money", amount=5)}, default=reply("done"))
    async with AgentSession(llm=llm) as session:
        await session.start(Careful())
        result = await session.run(user_input="pay")
        fc = result.expect.next_event().is_function_call().event().item
        assert seen["call"] is fc
        assert seen["speech"].allow_interruptions is False
        assert fc in seen["speech"].chat_items


async def test_max_tool_steps_defaults_to_three() -> None:
    class Again(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="again")

        @function_tool
        async def more(self) -> str:
            """More."""
            return "more"

    llm = ScriptedLLM({"go": call("more"), "more": call("more")})
    async with AgentSession(llm=llm) as session:
        await session.start(Again())
        result = await session.run(user_input="go")
        assert [ev.type for ev in result.events].count("function_call") == 3
        assert llm.requests[-1].tool_choice == "none"


class Switchboard(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="switchboard")
        self.exits = 0

    async def on_exit(self) -> None:
        self.exits += 1

    @function_tool
    async def patch_through(self, ctx: RunContext) -> str:
        """Switch to the spa from inside the tool."""
        spa = Spa()
        ctx.session.update_agent(spa)
        assert ctx.session.current_agent is spa  # switched at once
        return "patched"


async def test_update_agent_inside_a_tool_swaps_within_the_same_run() -> None:
    llm = ScriptedLLM({"patch": call("patch_through")}, default=reply("ok"))
    async with AgentSession(llm=llm) as session:
        board = Switchboard()
        await session.start(board)
        result = await session.run(user_input="patch")

        result.expect.next_event().is_function_call(name="patch_through")
        result.expect.next_event().is_function_call_output(output="patched")
        result.expect.contains_agent_handoff(new_agent_type=Spa)
        assert isinstance(session.current_agent, Spa)
        assert board.exits == 1
        assert texts(session.current_agent.chat_ctx, "assistant") == ["Welcome to the spa"]


class Librarian(Agent):
    """Adds retrieved facts to the turn's context only."""

    def __init__(self) -> None:
        super().__init__(instructions="librarian")

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        turn_ctx.add_message(role="system", content=f"fact about {new_message.text_content}")


async def test_on_user_turn_completed_can_add_context_for_this_turn() -> None:
    llm = ScriptedLLM({}, default=reply("answer"))
    async with AgentSession(llm=llm) as session:
        librarian = Librarian()
        await session.start(librarian)
        await session.run(user_input="owls")

        seen = texts(llm.requests[0].chat_ctx)
        assert "fact about owls" in seen
        assert seen[-1] == "owls"  # the user's message is still the last item
        assert texts(librarian.chat_ctx, "user") == ["owls"]


async def test_run_events_are_in_creation_order() -> None:
    async with AgentSession(llm=hotel_llm()) as session:
        await session.start(Hotel())
        result = await session.run(user_input="rooms?")
        stamps = [ev.item.created_at for ev in result.events]
        assert stamps == sorted(stamps)
        assert len(result.events) == 4


class Announcer(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="announcer")

    @function_tool
    async def look_up(self, ctx: RunContext) -> str:
        """Look something up, announcing it without waiting for the speech."""
        ctx.session.say("Hold on, looking it up")
        return "found it"


async def test_speech_a_tool_schedules_without_awaiting_still_precedes_its_output() -> None:
    llm = ScriptedLLM({"look": call("look_up"), "found it": reply("Here it is")})
    async with AgentSession(llm=llm) as session:
        await session.start(Announcer())
        result = await session.run(user_input="look")

        assert [
            ev.item.text_content if ev.type == "message" else ev.type for ev in result.events
        ] == [
            "function_call",
            "Hold on, looking it up",
            "function_call_output",
            "Here it is",
        ]


async def test_runs_issued_together_are_answered_in_order_with_their_own_events() -> None:
    llm = ScriptedLLM({"one": reply("first answer"), "two": reply("second answer")})
    async with AgentSession(llm=llm) as session:
        await session.start(Hotel())
        first = session.run(user_input="one")
        second = session.run(user_input="two")
        await second
        await first

        assert [ev.item.text_content for ev in first.events] == ["first answer"]
        assert [ev.item.text_content for ev in second.events] == ["second answer"]
        assert texts(session.history) == ["one", "first answer", "two", "second answer"]


class SlowLeaver(Agent):
    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__(instructions="slow leaver")
        self.gate = gate
        self.leaving = asyncio.Event()

    async def on_exit(self) -> None:
        self.leaving.set()
        await self.gate.wait()

    @function_tool
    async def to_spa(self) -> Spa:
        """Go to the spa."""
        return Spa()


async def test_input_arriving_while_the_old_agent_exits_goes_to_the_new_agent() -> None:
    gate = asyncio.Event()
    leaver = SlowLeaver(gate)
    llm = ScriptedLLM({"spa": call("to_spa")}, default=reply("answered"))
    async with AgentSession(llm=llm) as session:
        await session.start(leaver)
        moving = session.run(user_input="spa")
        await leaver.leaving.wait()
        assert isinstance(session.current_agent, Spa)  # decided before on_exit runs
        queued = session.run(user_input="towels?")
        reply_handle = session.generate_reply(instructions="offer tea")
        gate.set()
        await moving
        await queued
        await reply_handle

        spa = session.current_agent
        assert texts(spa.chat_ctx) == [
            "spa",
            "Welcome to the spa",
            "towels?",
            "answered",
            "answered",
        ]
        assert "towels?" not in texts(leaver.chat_ctx)


class Redirect(Agent):
    """Sends every caller straight on to the spa."""

    def __init__(self) -> None:
        super().__init__(instructions="redirect")

    async def on_enter(self) -> None:
        self.session.update_agent(Spa())


async def test_update_agent_in_on_enter_is_part_of_start() -> None:
    async with AgentSession(llm=ScriptedLLM({})) as session:
        captured = await session.start(Redirect(), capture_run=True)
        assert captured is not None
        assert [ev.item.new_agent_id for ev in captured.events if ev.type == "agent_handoff"] == [
            "redirect",
            "spa",
        ]
        captured.expect.contains_message(role="assistant")
        assert isinstance(session.current_agent, Spa)
        assert session.machine.state == "spa"


async def test_an_agent_active_in_one_session_cannot_be_activated_in_another() -> None:
    async with (
        AgentSession(llm=ScriptedLLM({})) as first,
        AgentSession(llm=ScriptedLLM({})) as second,
    ):
        hotel = Hotel()
        await first.start(hotel)
        await second.start(Spa())
        with pytest.raises(RuntimeError):
            second.update_agent(hotel)
        assert hotel.session is first
        assert isinstance(second.current_agent, Spa)
