"""How each kind of step runs through the session, and what is checked right after it.

Every step is one or two user turns; the planned LLM response goes in ``d._plan`` (and
``d._chain`` for later tool rounds, ``d._enter`` for replies asked outside the turn).  A
tool body is only replaced through ``mock_tools`` (the documented test double): a
``ToolRaises`` step makes it raise, a ``TaskRoundTrip`` makes it await the probe task, and
the tools of a ``CallParallel`` step are wrapped to see which of them returned an agent.
Per-step judgements (the outcome table) live in
``_checks``; the invariants that must hold after any step run afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents import Agent, FunctionCallOutput, StopResponse, ToolError
from voxfsm.agents.agent import class_tools
from voxfsm.agents.llm.scripted import ScriptedCall
from voxfsm.agents.mock import mock_tools
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
    Start,
    TaskRoundTrip,
    ToolRaises,
    UpdateAgent,
    UpdateDuringTool,
)
from ._probe import InjectedError, ProbeTask, is_probe_step

if TYPE_CHECKING:
    from ._driver import Driver


async def run_step(d: Driver, action: Action) -> None:
    if isinstance(action, Say):
        await _say(d, action.text, None)
    elif isinstance(action, CallTool):
        await _calls(d, [action])
    elif isinstance(action, CallParallel):
        with _watch_returns(d, [c.tool for c in action.calls]):
            await _calls(d, list(action.calls))
    elif isinstance(action, ToolRaises):
        with _replaced(d, action.tool, _raiser(action.error)):
            await _calls(d, [CallTool(action.tool, action.arguments)], raised=action.error)
    elif isinstance(action, UpdateDuringTool):
        await _update_during_tool(d, action)
    elif isinstance(action, UpdateAgent):
        await _update_agent(d, action)
    elif isinstance(action, TaskRoundTrip):
        await _round_trip(d, action)
    elif isinstance(action, SayDuring):
        await _say_during(d, action)
    elif isinstance(action, CallChain):
        await _call_chain(d, action)
    elif isinstance(action, Start):
        raise ValueError("Start(...) can only be the first step of a conversation")
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
    if len(calls) == 1:
        d._enter = [ScriptedCall(c.tool, c.arguments) for c in calls[0].enter_calls]
    expected = [_expect(d, agent, c) for c in calls]
    n_exec = len(d.executions)
    n_returns = len(d.agent_returns)
    n_steps = len(d.steps())
    plan = [ScriptedCall(c.tool, c.arguments) for c in calls]
    names = " and ".join(c.tool for c in calls)
    result = await _say(d, f"#{d._turn} (the LLM will call {names})", plan)
    new_steps = d.steps()[n_steps:]
    outputs = checks.call_outputs(result.events, len(calls))
    checks.judge_calls(
        d,
        agent,
        calls,
        expected,
        outputs,
        d.executions[n_exec:],
        d.agent_returns[n_returns:],
        new_steps,
        raised,
    )
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


def _agent_for(d: Driver, action: UpdateAgent) -> Agent:
    if action.reuse:
        agent = d.session.visited_agents.get(action.agent)
        if agent is None:
            raise ValueError(f"no earlier agent {action.agent!r} to re-activate")
        return agent
    cls = d.config.classes.get(action.agent)
    if cls is None:
        raise ValueError(f"no agent class with id {action.agent!r} in this workflow")
    made: Agent = cls()
    return made


async def _update_agent(d: Driver, action: UpdateAgent) -> None:
    agent = _agent_for(d, action)
    n_errors = len(d.hook_errors)
    d.session.update_agent(agent)
    # a no-op speech queues behind the swap job, so awaiting it waits for the swap
    await d.session.say("", add_to_chat_ctx=False)
    if len(d.hook_errors) > n_errors:
        raise d.hook_errors[-1]


async def _update_during_tool(d: Driver, action: UpdateDuringTool) -> None:
    n_errors = len(d.hook_errors)

    def swap() -> None:
        if d.session.current_agent.status != "active":
            return  # the caller is paused on a task: swapping would strand it
        agent = _agent_for(d, action.swap)
        d.own_swaps.add(id(agent))  # the driver's swap, not the workflow's own
        d.session.update_agent(agent)

    d._on_tool = (action.call.tool, swap)
    await _calls(d, [action.call])
    await d.session.say("", add_to_chat_ctx=False)  # queued behind the swap: waits for it
    if len(d.hook_errors) > n_errors:
        raise d.hook_errors[-1]


async def _round_trip(d: Driver, action: TaskRoundTrip) -> None:
    caller = d.current
    probes: list[ProbeTask] = []

    async def await_probe() -> str:
        probes.append(ProbeTask(finish_on_enter=action.on_enter))
        return await probes[-1]

    n = len(d.session.history.items)
    if action.on_enter:
        d._probe_ok = not action.fail
    with _replaced(d, action.tool, await_probe):
        await _calls(d, [CallTool(action.tool, action.arguments)])
    if not probes or (d.current is caller and not action.on_enter):
        return  # the call was refused (or the tool is not the caller's): nothing to finish
    probe = probes[0]
    if not action.on_enter:
        if d.current is not probe:
            return
        checks.check_all(d)
        n = len(d.session.history.items)
        await _say(
            d,
            f"#{d._turn} (the probe finishes)",
            ScriptedCall("probe_done", {"ok": not action.fail}),
        )
    checks.judge_round_trip(d, caller, probe, action, d.session.history.items[n:])


@contextlib.contextmanager
def _replaced(d: Driver, tool: str, body: Callable[..., Any]) -> Iterator[None]:
    """The current agent's ``tool`` runs ``body`` once, then itself again (``mock_tools``)."""
    agent = d.current
    real = agent.find_tool(tool)
    used = [False]

    async def once(**kwargs: Any) -> Any:
        if used[0] or real is None:
            return await real(**kwargs) if real is not None else None
        used[0] = True
        value = body()
        return await value if hasattr(value, "__await__") else value

    with mock_tools(type(agent), {tool: once}):
        yield


def _raiser(error: str) -> Callable[[], Any]:
    def fail() -> Any:
        if error == "ToolError":
            raise ToolError("injected tool error")
        if error == "StopResponse":
            raise StopResponse()
        raise InjectedError("injected failure")

    return fail


@contextlib.contextmanager
def _watch_returns(d: Driver, names: list[str]) -> Iterator[None]:
    """Run the current agent's ``names`` as they are, noting which of them returned an agent."""
    agent = d.current
    mocks: dict[str, Callable[..., Any]] = {}
    for name in dict.fromkeys(names):
        real = agent.find_tool(name)
        if real is None:
            continue
        mocks[name] = _returns_watcher(d, name, real)
    with mock_tools(type(agent), mocks):
        yield


def _returns_watcher(d: Driver, name: str, real: Any) -> Callable[..., Any]:
    async def run(**kwargs: Any) -> Any:
        value = real(**kwargs)
        if hasattr(value, "__await__"):
            value = await value
        if _holds_agent(value):
            d.agent_returns.append(name)
        return value

    return run


def _holds_agent(value: Any) -> bool:
    if isinstance(value, Agent):
        return True
    return isinstance(value, (tuple, list)) and any(isinstance(v, Agent) for v in value)


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
