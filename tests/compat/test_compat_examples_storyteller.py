"""A LiveKit-style multi-agent app run as LiveKit runs it: ``cli.run_app(server)``.

Shaped like LiveKit's storyteller example (our own code): an intake agent hands off to an
agent built with arguments, which ends the call by deleting the room; the models come from
``inference`` and the session reports its usage when the job shuts down.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest

from voxfsm.agents import (
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    RunContext,
    cli,
    inference,
)
from voxfsm.agents.job import get_job_context
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph


@dataclass
class Listener:
    name: str | None = None
    town: str | None = None


class Welcome(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Ask the listener's name and town.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="introduce yourself")

    @function_tool
    async def details_known(self, context: RunContext[Listener], name: str, town: str) -> Agent:
        """The listener gave their name and town.

        Args:
            name: Their first name.
            town: Where they live.
        """
        context.userdata.name, context.userdata.town = name, town
        return Narrator(name, town)


class Narrator(Agent):
    def __init__(self, name: str, town: str) -> None:
        super().__init__(instructions=f"Tell {name} from {town} a story.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="start the story")

    @function_tool
    async def story_over(self, context: RunContext[Listener]) -> None:
        """The listener wants no more story."""
        await self.session.generate_reply(instructions=f"say goodbye to {context.userdata.name}")
        job = get_job_context()
        await job.api.room.delete_room(job.room.name)


LLM = ScriptedLLM(
    {
        "introduce yourself": reply("Hi, I tell stories. Who are you?"),
        "I'm Ada from Leeds": call("details_known", name="Ada", town="Leeds"),
        "start the story": reply("Once upon a time in Leeds..."),
        "the end please": call("story_over"),
        "say goodbye to Ada": reply("Goodbye, Ada!"),
    }
)
EVENTS: list[str] = []
server = AgentServer()


async def session_ended(ctx: JobContext) -> None:
    report = ctx.make_session_report()
    EVENTS.append(f"report {len(report.chat_history.items)} items")
    assert report.to_dict()["chat_history"]["items"]


@server.rtc_session(agent_name="storyteller", on_session_end=session_ended)
async def entrypoint(ctx: JobContext) -> None:
    session = AgentSession[Listener](
        llm=inference.LLM(model="openai/gpt-4.1-mini"),
        stt=inference.STT(model="deepgram/nova-3"),
        tts=inference.TTS(model="cartesia/sonic-3"),
        userdata=Listener(),
    )
    session.once("close", lambda ev: EVENTS.append("closed"))

    async def log_usage() -> None:
        EVENTS.append("shutdown")

    ctx.add_shutdown_callback(log_usage)
    await ctx.room.local_participant.set_attributes({"app": "storyteller"})
    await session.start(agent=Welcome(), room=ctx.room)


@pytest.fixture(autouse=True)
def offline_models() -> Any:
    inference.configure(llm=LLM, stt=lambda model: None, tts=lambda model: None)
    yield
    inference.reset()


def test_the_app_runs_its_handoff_and_ends_the_call_by_deleting_the_room() -> None:
    EVENTS.clear()
    out = io.StringIO()
    lines = "I'm Ada from Leeds\nthe end please\nare you still there?\n"
    code = cli.run_app(server, argv=["console"], stdin=io.StringIO(lines), stdout=out)
    assert code == 0
    assert out.getvalue().splitlines() == [
        "[welcome] Hi, I tell stories. Who are you?",
        "[you] I'm Ada from Leeds",
        "[narrator] Once upon a time in Leeds...",
        "[you] the end please",
        "[narrator] Goodbye, Ada!",
    ]  # the room was deleted: the last line is never sent
    assert EVENTS[0].startswith("report ") and EVENTS[1:] == ["shutdown", "closed"]


def test_its_graph_has_both_agents_and_no_findings() -> None:
    graph = build_graph(Welcome)
    assert [(e.source, e.tool, e.target) for e in graph.edges] == [
        ("welcome", "details_known", "narrator")
    ]
    # the narrator hangs up, so it is an end state, not a dead end
    assert check_graph(graph) == []


def test_inference_models_are_the_configured_offline_ones() -> None:
    assert inference.LLM("openai/gpt-4.1-mini") is LLM
    assert inference.STT("deepgram/nova-3", language="en") is None
