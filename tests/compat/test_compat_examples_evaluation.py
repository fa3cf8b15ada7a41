"""Grading a finished call, shaped like LiveKit's front-desk example (our own code).

The app's ``on_session_end`` makes the session report, skips short calls, has a
``JudgeGroup`` grade the conversation, and tags the call; when no simulation runs (always,
offline) the entrypoint takes its ordinary path.
"""

from __future__ import annotations

import io
import re
from typing import Any

from voxfsm.agents import (
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    RunContext,
    SimulationContext,
    cli,
    inference,
)
from voxfsm.agents.evals import (
    EvaluationResult,
    JudgeGroup,
    accuracy_judge,
    task_completion_judge,
    tool_use_judge,
)
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply

BOOKED: list[str] = []
GRADES: list[EvaluationResult] = []
TAGS: list[Any] = []


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You book dentist appointments.")

    @function_tool
    async def book(self, ctx: RunContext[list[str]], slot: str) -> str:
        """Book a slot.

        Args:
            slot: The slot, e.g. "Tue 10:00".
        """
        ctx.userdata.append(slot)
        return f"booked {slot}"


APP_LLM = ScriptedLLM(
    [
        ("Tuesday at ten please", call("book", slot="Tue 10:00")),
        (re.compile("^booked"), reply("You're booked for Tuesday at 10.")),
    ],
    default=reply("Hello, dental office."),
)
# the judge model answers every judge through the verdict tool; one judge is not satisfied
JUDGE_LLM = ScriptedLLM(
    lambda ctx, tools: call(
        "check_intent",
        success="agrees with the tool outputs" not in ctx.items[-1].text_content,
        reason="checked the transcript",
    )
)

server = AgentServer()


async def grade(ctx: JobContext) -> None:
    report = ctx.make_session_report()
    spoken = report.chat_history.copy(exclude_function_call=True, exclude_instructions=True)
    if len(spoken.items) < 3:
        return
    judges = JudgeGroup(
        llm=JUDGE_LLM, judges=[task_completion_judge(), tool_use_judge(), accuracy_judge()]
    )
    GRADES.append(await judges.evaluate(report.chat_history))
    if ctx.primary_session.userdata:
        ctx.tagger.success()
    else:
        ctx.tagger.fail(reason="nothing booked")
    TAGS.append((ctx.tagger.outcome, ctx.tagger.reason))


@server.rtc_session(on_session_end=grade)
async def entrypoint(ctx: JobContext) -> None:
    sim: SimulationContext | None = ctx.simulation_context()
    assert sim is None  # no simulation service offline: the ordinary path runs
    session = AgentSession[list[str]](llm=inference.LLM("openai/gpt-4o-mini"), userdata=BOOKED)

    @ctx.room.on("participant_disconnected")
    def _gone(participant: Any) -> None:  # never fires offline
        session.shutdown()

    await session.start(agent=Desk(), room=ctx.room)


def test_the_call_is_graded_and_tagged_when_it_ends() -> None:
    BOOKED.clear()
    GRADES.clear()
    TAGS.clear()
    inference.configure(llm=APP_LLM)
    try:
        code = cli.run_app(
            server,
            argv=["console"],
            stdin=io.StringIO("hi\nTuesday at ten please\n"),
            stdout=io.StringIO(),
        )
    finally:
        inference.reset()
    assert code == 0
    assert BOOKED == ["Tue 10:00"]
    result = GRADES[0]
    assert {n: j.verdict for n, j in result.judgments.items()} == {
        "task_completion": "pass",
        "tool_use": "pass",
        "accuracy": "fail",
    }
    assert result.majority_passed and not result.all_passed
    assert round(result.score, 2) == 0.67
    assert TAGS == [("success", "")]
    # the judges read the whole call, tool calls included
    assert "tool call: book" in JUDGE_LLM.requests[0].chat_ctx.items[-1].text_content


async def test_a_judge_that_raises_is_left_out_not_fatal() -> None:
    from voxfsm.agents import ChatContext
    from voxfsm.agents.evals import Judge

    class Broken(Judge):
        async def evaluate(self, **_: Any) -> Any:
            raise RuntimeError("judge crashed")

    ctx = ChatContext()
    ctx.add_message(role="user", content="hello")
    group = JudgeGroup(llm=JUDGE_LLM, judges=[Broken(name="broken"), task_completion_judge()])
    result = await group.evaluate(ctx)
    assert list(result.judgments) == ["task_completion"]
