"""Running one step of tool calls: check each call, run the valid ones, interpret results.

Every call gets exactly one outcome, whatever happens: an unknown tool, bad arguments, a
tool that raises (``SystemExit`` included), hangs past its timeout, or returns something no
model can read.  Nothing here records or commits; the turn code does that with the outcomes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents import _background
from voxfsm.agents._deadline import Deadline, Expired, tool_deadline
from voxfsm.agents._outcome import Outcome, interpret
from voxfsm.agents._scope import _speaker, _tool
from voxfsm.agents.context import RunContext
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.mock import call_mock, find_mock
from voxfsm.agents.tools import ArgumentError, ArgumentsTooDeep, FunctionTool

if TYPE_CHECKING:
    from voxfsm.agents._scope import Scope
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.chat import FunctionCall
    from voxfsm.agents.session import AgentSession
    from voxfsm.agents.speech import SpeechHandle

log = logging.getLogger("voxfsm.agents")


@attrs.define
class Plan:
    """One call of the step: the tool to run with its arguments, or why nothing runs."""

    call: FunctionCall
    tool: FunctionTool | None = None
    args: dict[str, Any] = attrs.field(factory=dict)
    refused: str = ""


def _being_cancelled() -> bool:
    """Whether the running task was really cancelled (not a tool raising CancelledError)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


def _unknown_tool(name: str, agent: Agent) -> str:
    names = ", ".join(f"`{t.name}`" for t in agent.all_tools()) or "no tools"
    return f"there is no tool `{name}` for agent {agent.id!r}; the available tools are: {names}"


def plan(s: AgentSession[Any], scope: Scope, agent: Agent, fc: FunctionCall) -> Plan:
    if agent is not s._position.agent or agent._runtime.status != "active":
        return Plan(fc, refused=f"`{fc.name}` was not run: agent {agent.id!r} is no longer active")
    tool = agent.find_tool(fc.name)
    if tool is None:
        return Plan(fc, refused=_unknown_tool(fc.name, agent))
    try:
        return Plan(fc, tool, tool.validate(fc.arguments, max_depth=s.max_tool_argument_depth))
    except ArgumentsTooDeep as exc:
        limit = LimitExceeded(
            str(exc), limit="tool argument depth", option="max_tool_argument_depth"
        )
        s._limit_hit(scope, limit, "tool")
        return Plan(fc, refused=str(exc))
    except ArgumentError as exc:
        return Plan(fc, refused=str(exc))


async def execute(
    s: AgentSession[Any], agent: Agent, handle: SpeechHandle, p: Plan, scope: Scope
) -> Outcome:
    tool, fc, args = p.tool, p.call, p.args
    assert tool is not None
    ctx: RunContext[Any] | None = None
    for name in tool.info.context_params:
        ctx = args[name] = RunContext(session=s, speech_handle=handle, function_call=fc)
    mock = find_mock(agent, tool.name)
    if s._watch:
        s._watch.tool_started(agent, fc)
    speaker = _speaker.set(agent)
    running = _tool.set(tool.name)
    own = tool.timeout is not None
    limit = tool.timeout if own else s.tool_timeout
    deadline = Deadline(limit)
    bounded = tool_deadline.set(deadline)
    try:
        with deadline:
            work = call_mock(mock, args) if mock is not None else tool(**args)
            # a tool that can call ctx.update() may answer before it returns
            value = await (work if ctx is None else _background.until_first_update(ctx, work))
        if isinstance(value, _background.Early):
            return Outcome(value.message, reply=True)
        return interpret(tool.name, value, None)
    except Expired:
        option = f"@function_tool(timeout={limit:g})" if own else f"tool_timeout={limit:g}"
        where = "its @function_tool(timeout=...)" if own else "AgentSession(tool_timeout=...)"
        error = LimitExceeded(
            f"tool `{tool.name}` of agent {agent.id!r} did not finish within {limit:g} s "
            f"({option}) and was stopped; raise {where} if it needs longer",
            limit="tool timeout",
            option="timeout" if own else "tool_timeout",
        )
        s._limit_hit(scope, error, "tool")
        return Outcome(
            f"`{tool.name}` did not finish within {limit:g} s and was stopped",
            is_error=True,
            reply=True,
        )
    except asyncio.CancelledError as exc:
        if _being_cancelled():
            raise
        return interpret(tool.name, None, RuntimeError(f"the tool raised {exc!r}"))
    except (Exception, SystemExit) as exc:  # SystemExit in a tool must not end the process
        return interpret(tool.name, None, exc)
    finally:
        tool_deadline.reset(bounded)
        _tool.reset(running)
        _speaker.reset(speaker)
