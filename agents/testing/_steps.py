"""How each kind of step runs through the session, and what is checked right after it.

Every step is one or two user turns; the planned LLM response goes in ``d._plan`` (and
``d._chain`` for later tool rounds), and tool-body overrides (``ToolRaises``, the probe
task) in ``d._override``.  Per-step judgements (the outcome table) live in
``_checks``; the invariants that must hold after any step run afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents import Agent, FunctionCallOutput
from voxfsm.agents.agent import class_tools
from voxfsm.agents.llm.scripted import ScriptedCall
from voxfsm.agents.tools import ArgumentError
from voxfsm.fsm.spec import Step

from . import _checks as checks
from ._actions import (
    Action,
    CallChain,
    CallParallel,
    CallTool,
    Say,
    SayDuring,
    TaskRoundTrip,
    ToolRaises,
    UpdateAgent,
)
from ._probe import ProbeTask, is_probe_step

if TYPE_CHECKING:
    from ._driver import Driver


async def run_step(d: Driver, action: Action) -> None:
    if isinstance(action, Say):
        await _say(d, action.text, None)
    elif isinstance(action, CallTool):
        await _calls(d, [action])
    elif isinstance(action, CallParallel):
        await _calls(d, list(action.calls))
    elif isinstance(action, ToolRaises):
        d._override = (action.tool, "raise", action.error)
        try:
            await _calls(d, [CallTool(action.tool, action.arguments)], raised=action.error)
        finally:
            d._override = None
    elif isinstance(action, UpdateAgent):
        await _update_agent(d, action)
    elif isinstance(action, TaskRoundTrip):
        await _round_trip(d, action)
    elif isinstance(action, SayDuring):
        await _say_during(d, action)
    elif isinstance(action, CallChain):
        await _call_chain(d, action)
    else:
        raise TypeError(f"unknown step {action!r}")


async def _say(d: Driver, text: str, plan: Any) -> Any:
    d._plan, d._utterance = plan, text
    try:
        return await d.session.run(user_input=text)
    finally:
        d._plan = None
        d._chain = []


async def _call_chain(d: Driver, action: CallChain) -> None:
    agent = d.current
    first, *rest = action.calls
    d._chain = [ScriptedCall(c.tool, c.arguments) for c in rest]
    result = await _say(
        d,
        f"#{d._turn} (the LLM will call {first.tool}, then more)",
        ScriptedCall(first.tool, first.arguments),
    )
    checks.judge_tool_rounds(d, agent, result.events)


async def _calls(d: Driver, calls: list[CallTool], *, raised: str | None = None) -> Any:
    agent = d.current
    expected = [_expect(d, agent, c) for c in calls]
    n_exec = len(d.executions)
    n_steps = len(d.steps())
    plan = [ScriptedCall(c.tool, c.arguments) for c in calls]
    names = " and ".join(c.tool for c in calls)
    result = await _say(d, f"#{d._turn} (the LLM will call {names})", plan)
    new_steps = d.steps()[n_steps:]
    outputs = checks.call_outputs(result.events, len(calls))
    checks.judge_calls(d, agent, calls, expected, outputs, d.executions[n_exec:], new_steps, raised)
    if raised is None:  # an injected exception says nothing about the tool's own guard
        _cover(d, agent, calls, expected, outputs, new_steps)
    return result


def _expect(d: Driver, agent: Agent, call: CallTool) -> str:
    """``ok``, or why the engine must refuse the call without running anything."""
    tool = agent.find_tool(call.tool)
    if tool is None:
        return "unknown" if call.tool not in _known_names(d) else "foreign"
    try:
        tool.validate(call.arguments)
    except ArgumentError:
        return "invalid"
    return "ok"


def _known_names(d: Driver) -> set[str]:
    return {t.name for c in d.config.classes.values() for _, t in class_tools(c)}


def _cover(
    d: Driver,
    agent: Agent,
    calls: list[CallTool],
    expected: list[str],
    outputs: list[FunctionCallOutput | None],
    steps: Sequence[Step],
) -> None:
    for call, exp, out in zip(calls, expected, outputs, strict=True):
        if exp in ("unknown", "foreign"):
            continue
        if out is None:  # still awaiting an AgentTask it started
            started = [s for s in steps if s.kind == "task" and s.trigger == call.tool]
            if started and not is_probe_step(started[0]):
                d.coverage.record_call(agent.id, call.tool, "handoff", started[0].target_id)
            continue
        if out.is_error:
            d.coverage.record_call(agent.id, call.tool, "error")
            continue
        moved = [s for s in steps if s.source == agent.id and s.trigger == call.tool]
        if moved and not is_probe_step(moved[0]):
            d.coverage.record_call(agent.id, call.tool, "handoff", moved[0].target_id)
        elif not moved:
            d.coverage.record_call(agent.id, call.tool, "stay")


async def _update_agent(d: Driver, action: UpdateAgent) -> None:
    if action.reuse:
        agent = d.session.visited_agents.get(action.agent)
        if agent is None:
            raise ValueError(f"no earlier agent {action.agent!r} to re-activate")
    else:
        cls = d.config.classes.get(action.agent)
        if cls is None:
            raise ValueError(f"no agent class with id {action.agent!r} in this workflow")
        agent = cls()
    n_errors = len(d.hook_errors)
    d.session.update_agent(agent)
    # a no-op speech queues behind the swap job, so awaiting it waits for the swap
    await d.session.say("", add_to_chat_ctx=False)
    if len(d.hook_errors) > n_errors:
        raise d.hook_errors[-1]


async def _round_trip(d: Driver, action: TaskRoundTrip) -> None:
    caller = d.current
    d._override = (action.tool, "probe", None)
    try:
        await _calls(d, [CallTool(action.tool, action.arguments)])
    finally:
        d._override = None
    probe = d.current
    if not isinstance(probe, ProbeTask):
        return  # the call was refused (or the tool is not the caller's): nothing to finish
    checks.check_all(d)
    n = len(d.session.history.items)
    await _say(
        d,
        f"#{d._turn} (the probe finishes)",
        ScriptedCall("probe_done", {"ok": not action.fail}),
    )
    checks.judge_round_trip(d, caller, probe, action, d.session.history.items[n:])


async def _say_during(d: Driver, action: SayDuring) -> None:
    before = d.current
    call = action.call
    d._plan = ScriptedCall(call.tool, call.arguments)
    d._utterance = f"#{d._turn} (the LLM will call {call.tool})"
    second = f"#{d._turn} {action.text}"
    try:
        first_run = d.session.run(user_input=d._utterance)
        second_run = d.session.run(user_input=second)  # queued behind the first
        first = await first_run
        await second_run
    finally:
        d._plan = None
    handed = [e for e in first.events if getattr(e, "type", "") == "agent_handoff"]
    expected = handed[-1].new_agent if handed else before
    checks.judge_queued_input(d, second, before, expected)
