"""``await ctx.update(...)``: a tool that answers early and keeps working (LiveKit semantics)."""

from __future__ import annotations

import asyncio

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.voice.tool_executor import UPDATE_TEMPLATE


def progress(name: str, call_id: str, message: str) -> str:
    return UPDATE_TEMPLATE.format(function_name=name, call_id=call_id, message=message)


class Shipping(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You track parcels.")
        self.release = asyncio.Event()
        self.cancelled = False

    @function_tool
    async def track(self, ctx: RunContext) -> str:
        """Track the caller's parcel."""
        await ctx.update("asking the carrier")
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        await ctx.update("the carrier answered")
        return "delivered today"


def shipping_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            ("where is my parcel?", call("track")),
            (
                __import__("re").compile("asking the carrier"),
                reply("Let me check with the carrier."),
            ),
            (__import__("re").compile("background"), reply("Good news: it arrives today.")),
        ]
    )


async def test_first_update_is_the_output_the_llm_replies_to_at_once() -> None:
    async with AgentSession(llm=shipping_llm()) as sess:
        agent = Shipping()
        await sess.start(agent)
        result = await asyncio.wait_for(sess.run(user_input="where is my parcel?"), 5)
        fc = result.expect.next_event().is_function_call(name="track").event().item
        result.expect.next_event().is_function_call_output(
            output=progress("track", fc.call_id, "asking the carrier")
        )
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert not agent.cancelled  # still working after the run came back


async def test_later_updates_and_the_result_are_reported_with_one_reply() -> None:
    async with AgentSession(llm=shipping_llm()) as sess:
        agent = Shipping()
        await sess.start(agent)
        result = await sess.run(user_input="where is my parcel?")
        call_id = result.expect[0].event().item.call_id
        replies: list[str] = []
        sess.on(
            "conversation_item_added",
            lambda ev: (
                replies.append(ev.item.text_content) if ev.item.role == "assistant" else None
            ),
        )
        agent.release.set()
        for _ in range(200):  # bounded: the reply is queued as soon as the tool returns
            if replies:
                break
            await asyncio.sleep(0.01)
        await asyncio.wait_for(sess.wait_for_idle(), 5)
        ids = [getattr(i, "call_id", None) for i in sess.history.items]
        assert f"{call_id}_update_1" in ids and f"{call_id}_final" in ids
        finals = [
            i for i in agent.chat_ctx.items if getattr(i, "call_id", "") == f"{call_id}_final"
        ]
        assert finals[-1].output == "delivered today"
        assert replies == ["Good news: it arrives today."]  # both reports, one reply


async def test_aclose_cancels_a_tool_still_working() -> None:
    agent = Shipping()
    async with AgentSession(llm=shipping_llm()) as sess:
        await sess.start(agent)
        await sess.run(user_input="where is my parcel?")
    assert agent.cancelled


class Router(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You route calls.")

    @function_tool
    async def forward(self, ctx: RunContext) -> None:
        """Forward the caller after telling them."""
        await ctx.update("forwarding")
        async with ctx.foreground():
            ctx.session.update_agent(Desk())


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are the desk.")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet")


async def test_foreground_work_of_an_early_answer_belongs_to_the_same_run() -> None:
    llm = ScriptedLLM({"go": call("forward"), "greet": reply("Desk here.")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(Router())
        result = await asyncio.wait_for(sess.run(user_input="go"), 5)
        result.expect.next_event().is_function_call(name="forward")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=Desk)
        result.expect.next_event().is_message(role="assistant")
        assert isinstance(sess.current_agent, Desk)


async def test_update_outside_a_session_step_is_only_recorded() -> None:
    from voxfsm.agents.chat import FunctionCall

    ctx: RunContext = RunContext(
        session=AgentSession(),
        speech_handle=None,
        function_call=FunctionCall(call_id="c", name="t"),  # type: ignore[arg-type]
    )
    await ctx.update("halfway")
    assert ctx.updates == ["halfway"]
