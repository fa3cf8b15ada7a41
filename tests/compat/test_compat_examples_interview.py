"""A screening interview run as a ``TaskGroup`` from the agent's ``on_enter``.

Shaped like LiveKit's survey example (our own code): the agent's ``on_enter`` runs custom
``AgentTask``s and a prebuilt ``GetEmailTask`` (given an extra tool) in a group, reads the
group's summary from its own context, then wraps up; a tool ends the call.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from voxfsm.agents import Agent, AgentSession, AgentTask, RunContext, llm
from voxfsm.agents.beta.workflows import GetEmailTask, TaskGroup
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph


@dataclass
class Screening:
    results: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass
class Intro:
    name: str


@dataclass
class Experience:
    years: int


@function_tool()
async def disqualify(context: RunContext, reason: str) -> None:
    """The candidate will not cooperate.

    Args:
        reason: Why the interview stops.
    """
    context.session.shutdown()


class IntroStep(AgentTask[Intro]):
    def __init__(self) -> None:
        super().__init__(instructions="Greet the candidate and get their name.")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet the candidate")

    @function_tool()
    async def record_intro(self, name: str) -> None:
        """Record the candidate's name.

        Args:
            name: The candidate's name.
        """
        self.complete(Intro(name))


class ExperienceStep(AgentTask[Experience]):
    def __init__(self) -> None:
        super().__init__(instructions="Ask how many years of experience they have.")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="ask about experience")

    @function_tool()
    async def record_experience(self, years: int) -> None:
        """Record the years of experience.

        Args:
            years: Whole years.
        """
        self.complete(Experience(years))


class Interviewer(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You screen candidates; call end_interview at the end.")

    async def on_enter(self) -> None:
        group = TaskGroup()
        group.add(lambda: IntroStep(), id="intro", description="name and introduction")
        group.add(
            lambda: GetEmailTask(
                extra_instructions="If they refuse, call disqualify.", tools=[disqualify]
            ),
            id="email",
            description="email address",
        )
        group.add(lambda: ExperienceStep(), id="experience", description="years of experience")
        found = (await group).task_results
        userdata: Screening = self.session.userdata
        userdata.results = found
        last = self.chat_ctx.items[-1]
        assert isinstance(last, llm.ChatMessage)
        userdata.summary = last.text_content or ""
        await self.session.generate_reply(instructions="thank the candidate")

    @function_tool()
    async def end_interview(self) -> None:
        """The interview is over: hang up."""
        self.session.shutdown()


SCRIPT = ScriptedLLM(
    [
        ("greet the candidate", reply("Welcome! Who are you?")),
        ("I'm Sam", call("record_intro", name="Sam")),
        ("Ask the user for their email address.", reply("Your email?")),
        ("sam@example.com", call("update_email_address", email="sam@example.com")),
        ("ask about experience", reply("How many years?")),
        ("six years", call("record_experience", years=6)),
        (re.compile("^Summarize the conversation"), reply("Sam, sam@example.com, 6 years.")),
        ("thank the candidate", reply("Thanks Sam, we'll be in touch.")),
        ("bye", call("end_interview")),
        ("no, I won't", call("disqualify", reason="refused the email")),
    ]
)


async def test_the_group_runs_from_on_enter_and_the_summary_replaces_its_messages() -> None:
    closed: list[str] = []
    async with AgentSession[Screening](llm=SCRIPT, userdata=Screening()) as sess:
        sess.on("close", lambda ev: closed.append("closed"))
        await sess.start(Interviewer())
        assert isinstance(sess.current_agent, IntroStep)
        await sess.run(user_input="I'm Sam")
        await sess.run(user_input="sam@example.com")
        done = await sess.run(user_input="six years")
        done.expect.contains_message(role="assistant")  # the thanks, by the interviewer
        assert isinstance(sess.current_agent, Interviewer)
        assert sess.userdata.summary == "Sam, sam@example.com, 6 years."
        assert sess.userdata.results["intro"] == Intro("Sam")
        assert sess.userdata.results["email"].email_address == "sam@example.com"
        assert sess.userdata.results["experience"] == Experience(6)
        await sess.run(user_input="bye")
    assert closed == ["closed"]


async def test_an_extra_tool_given_to_a_prebuilt_task_can_end_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[str] = []
    async with AgentSession[Screening](llm=SCRIPT, userdata=Screening()) as sess:
        sess.on("close", lambda ev: closed.append("closed"))
        await sess.start(Interviewer())
        await sess.run(user_input="I'm Sam")
        assert "disqualify" in [t.name for t in sess.current_agent.tools]
        await sess.run(user_input="no, I won't")
    assert closed == ["closed"]
    # the close shutdown() started failed (the group was cut short): said once, at once,
    # never left for the garbage collector to report later
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_tasks_started_in_on_enter_are_task_edges_and_nothing_is_reported() -> None:
    graph = build_graph(Interviewer)
    tasks = {e.target for e in graph.edges if e.kind == "task" and e.source == "interviewer"}
    assert {"task_group", "intro_step", "get_email_task", "experience_step"} <= tasks
    assert {e.tool for e in graph.edges if e.source == "interviewer" and e.kind == "task"} == {
        "on_enter"
    }
    assert check_graph(graph) == []
