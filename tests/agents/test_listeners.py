"""``session.add_listener()``: one seam to watch hooks, replies, tool calls and every commit."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from voxfsm.agents import Agent, AgentSession, AgentTask, RunContext, function_tool
from voxfsm.agents.chat import FunctionCall, FunctionCallOutput
from voxfsm.agents.listeners import Commit, HookName, SessionListener
from voxfsm.agents.llm import ScriptedLLM, call, reply
from voxfsm.agents.speech import SpeechHandle


class Recorder(SessionListener):
    """Writes down every callback as a short line, in the order the session made them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def committed(self, commit: Commit) -> None:
        self.lines.append(
            f"commit {commit.kind} {commit.old_agent_id}->{commit.new_agent_id} {commit.tool}"
        )

    def hook_started(self, agent: Agent, hook: HookName) -> None:
        self.lines.append(f"{agent.id}.{hook} start")

    def hook_finished(self, agent: Agent, hook: HookName, error: BaseException | None) -> None:
        self.lines.append(f"{agent.id}.{hook} end{' ' + repr(error) if error else ''}")

    def reply_started(self, agent: Agent, handle: SpeechHandle) -> None:
        self.lines.append(f"{agent.id} reply start")

    def reply_finished(
        self, agent: Agent, handle: SpeechHandle, error: BaseException | None
    ) -> None:
        self.lines.append(f"{agent.id} reply end{' ' + repr(error) if error else ''}")

    def tool_started(self, agent: Agent, call: FunctionCall) -> None:
        self.lines.append(f"{agent.id} tool {call.name} start")

    def tool_finished(self, agent: Agent, call: FunctionCall, output: FunctionCallOutput) -> None:
        self.lines.append(f"{agent.id} tool {call.name} -> {output.output!r}")


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="billing")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet billing")

    @function_tool
    async def back(self) -> Agent:
        """Back to the front desk."""
        return Front()

    @function_tool
    async def ask_zip(self) -> str:
        """Ask for the zip code."""
        return await ZipTask()


class ZipTask(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="get the zip")

    @function_tool
    async def zip_given(self, zip: str) -> None:
        """The zip code."""
        self.complete(zip)


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool
    async def lookup(self, ctx: RunContext) -> str:
        """Look something up."""
        return "found"

    @function_tool
    async def to_billing(self) -> Billing:
        """Transfer to billing."""
        return Billing()


def llm() -> ScriptedLLM:
    return ScriptedLLM(
        {
            "look": call("lookup"),
            "found": reply("Here it is"),
            "bill": call("to_billing"),
            "greet billing": reply("Billing here"),
            "zip": call("ask_zip"),
            "12345": call("zip_given", zip="12345"),
            "back": call("back"),
        },
        default=reply("ok"),
    )


async def test_a_listener_sees_hooks_replies_tools_and_commits_in_order() -> None:
    rec = Recorder()
    async with AgentSession(llm=llm()) as session:
        session.add_listener(rec)
        await session.start(Front())
        await session.run(user_input="look")
        await session.run(user_input="bill")
        assert rec.lines == [
            "commit start None->front None",
            "front.on_enter start",
            "front.on_enter end",
            "front reply start",
            "front tool lookup start",
            "front tool lookup -> 'found'",
            "front reply end",
            "front reply start",
            "front tool to_billing start",
            "front tool to_billing -> ''",
            "front reply end",  # the reply decided the handoff; the session then commits it
            "commit handoff front->billing to_billing",
            "front.on_exit start",
            "front.on_exit end",
            "billing.on_enter start",
            "billing reply start",
            "billing reply end",
            "billing.on_enter end",
        ]


async def test_update_agent_tasks_and_their_return_are_commits() -> None:
    rec = Recorder()
    async with AgentSession(llm=llm()) as session:
        await session.start(Front())
        session.add_listener(rec)
        session.update_agent(Billing())
        await session.run(user_input="zip")
        await session.run(user_input="12345")
        commits = [line for line in rec.lines if line.startswith("commit")]
        assert commits == [
            "commit update_agent front->billing None",
            "commit task billing->zip_task ask_zip",
            "commit return zip_task->billing None",
        ]
        assert "billing tool ask_zip -> '12345'" in rec.lines


async def test_restore_is_reported_to_listeners_given_to_restore() -> None:
    rec = Recorder()
    async with AgentSession(llm=llm()) as session:
        await session.start(Front())
        data = session.snapshot()
    restored = AgentSession.restore(data, llm=llm(), listeners=[rec])
    async with restored:
        assert rec.lines == ["commit restore None->front None"]


async def test_every_call_gets_one_tool_finished_even_when_nothing_runs() -> None:
    rec = Recorder()
    script = ScriptedLLM({"go": [call("nope"), call("lookup", bad=1)]}, default=reply("sorry"))
    async with AgentSession(llm=script) as session:
        await session.start(Front())
        session.add_listener(rec)
        await session.run(user_input="go")
    finished = [line for line in rec.lines if " -> " in line]
    started = [line for line in rec.lines if line.endswith(" start") and " tool " in line]
    assert len(finished) == 2 and started == []  # neither call was valid, so neither ran


async def test_a_failing_listener_is_logged_and_does_not_disturb_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(SessionListener):
        def tool_started(self, agent: Agent, call: FunctionCall) -> None:
            raise ValueError("listener bug")

    rec = Recorder()
    async with AgentSession(llm=llm()) as session:
        session.add_listener(Broken())
        session.add_listener(rec)
        await session.start(Front())
        with caplog.at_level(logging.ERROR, logger="voxfsm.agents"):
            result = await session.run(user_input="look")
        assert [e.item.text_content for e in result.events if e.type == "message"] == ["Here it is"]
        assert "front tool lookup -> 'found'" in rec.lines  # later listeners still told
        assert any("listener bug" in (r.exc_text or "") for r in caplog.records)


async def test_removed_listeners_hear_nothing_more() -> None:
    rec = Recorder()
    async with AgentSession(llm=llm()) as session:
        session.add_listener(rec)
        await session.start(Front())
        session.remove_listener(rec)
        count = len(rec.lines)
        await session.run(user_input="look")
        assert len(rec.lines) == count


def test_add_listener_refuses_what_is_not_a_listener() -> None:
    session: AgentSession[Any] = AgentSession()
    with pytest.raises(TypeError, match="SessionListener"):
        session.add_listener(print)  # type: ignore[arg-type]


async def test_the_commit_point_can_resume_a_session_where_a_snapshot_left_off() -> None:
    # what snapshot code calls: agent, machine state, trace and listeners change together
    rec = Recorder()
    async with AgentSession(llm=llm()) as original:
        await original.start(Front())
        await original.run(user_input="bill")
        trace = original.__fsm_trace__()
    session: AgentSession[Any] = AgentSession(llm=llm())
    session.add_listener(rec)
    billing = Billing()
    session._position.restore(
        active=billing, entry_cls=Front, visited={"billing": billing}, steps=list(trace.steps)
    )
    assert session.current_agent is billing
    assert session.machine.state == "billing"
    assert session.__fsm_trace__().current == "billing"
    assert rec.lines == ["commit restore None->billing None"]
