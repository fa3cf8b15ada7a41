"""Single-agent apps shaped like LiveKit's voice_agents examples (our own code): tools added
for one ``llm_node`` call, a long tool that stops when its speech is interrupted, a prebuilt
task customized with ``WorkflowInstructions``, and a one-agent graph with no findings."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable
from typing import Any

from voxfsm.agents import (
    Agent,
    AgentSession,
    ChatContext,
    FunctionTool,
    ModelSettings,
    RunContext,
    beta,
)
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph


class Concierge(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You help hotel guests.")

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterable[Any]:
        async def _pool_hours() -> str:
            return "The pool opens at 7."

        # a tool for this generation only: the LLM sees it and may call it
        tools.append(function_tool(_pool_hours, name="pool_hours", description="Pool hours."))
        return Agent.default.llm_node(self, chat_ctx, tools, model_settings)


async def test_a_tool_added_in_llm_node_is_offered_and_runs() -> None:
    llm = ScriptedLLM(
        [
            ("when does the pool open?", call("pool_hours")),
            (re.compile("^The pool opens"), reply("At seven.")),
        ]
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(Concierge())
        result = await sess.run(user_input="when does the pool open?")
        result.expect.next_event().is_function_call(name="pool_hours")
        result.expect.next_event().is_function_call_output(output="The pool opens at 7.")
        result.expect.next_event().is_message(role="assistant")
        assert "pool_hours" in llm.requests[0].tools
    # it belongs to no agent: the graph has nothing to report about it
    assert check_graph(build_graph(Concierge)) == []


class Researcher(Agent):
    def __init__(self, started: asyncio.Event) -> None:
        super().__init__(instructions="You look things up.")
        self.started = started

    @function_tool
    async def look_up(self, topic: str, ctx: RunContext) -> str | None:
        """Look a topic up (slow).

        Args:
            topic: What to look up.
        """
        work = asyncio.ensure_future(asyncio.sleep(30, result=f"notes on {topic}"))
        self.started.set()
        await ctx.speech_handle.wait_if_not_interrupted([work])
        if ctx.speech_handle.interrupted:
            work.cancel()
            return None
        return work.result()


async def test_a_long_tool_returns_as_soon_as_its_speech_is_interrupted() -> None:
    started = asyncio.Event()
    llm = ScriptedLLM({"look up whales": call("look_up", topic="whales")})
    async with AgentSession(llm=llm) as sess:
        await sess.start(Researcher(started))
        run = asyncio.ensure_future(sess.run(user_input="look up whales"))
        await asyncio.wait_for(started.wait(), 5)
        assert sess.current_speech is not None
        sess.current_speech.interrupt()
        result = await asyncio.wait_for(run, 5)  # not the 30 s of the work
        result.expect.contains_function_call_output(output="")


class Registration(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You register guests for the gala.")

    @function_tool
    async def register(self) -> str:
        """Register the guest."""
        got = await beta.workflows.GetEmailTask(
            instructions=beta.workflows.WorkflowInstructions(
                persona="You take the email address for the gala guest list.",
                extra="Mention the gala once.",
            )
        )
        return f"registered {got.email_address}"


async def test_workflow_instructions_replace_the_persona_and_keep_the_tasks_rules() -> None:
    llm = ScriptedLLM(
        {
            "sign me up": call("register"),
            "li@example.net": call("update_email_address", email="li@example.net"),
        }
    )
    async with AgentSession(llm=llm) as sess:
        await sess.start(Registration())
        await sess.run(user_input="sign me up")
        text = sess.current_agent.instructions
        assert text.startswith("You take the email address for the gala guest list.")
        assert "update_email_address" in text and text.endswith("Mention the gala once.")
        done = await sess.run(user_input="li@example.net")
        done.expect.contains_function_call_output(output="registered li@example.net")
