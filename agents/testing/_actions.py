"""The steps a generated conversation is made of, as plain replayable records.

Hypothesis draws these; the driver executes them; a failure is reported as the list of
them, printed both as a conversation and as a regression test that calls
:func:`voxfsm.agents.testing.replay`.  Each record names tools and agents by name and id only,
so the list reads the same in a report and in pasted code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Union

import attrs

Arguments = Union[Mapping[str, Any], str]
"""Tool arguments as the LLM sends them: an object, or raw (possibly broken) JSON text."""

ERRORS = ("ToolError", "StopResponse", "RuntimeError")
"""What :class:`ToolRaises` can make a tool raise (the three rows of the outcome table)."""


def _args_text(arguments: Arguments) -> str:
    if isinstance(arguments, str):
        return repr(arguments)
    return json.dumps(dict(arguments), ensure_ascii=False, sort_keys=True)


def _args_code(arguments: Arguments) -> str:
    return repr(arguments if isinstance(arguments, str) else dict(arguments))


def _enter_text(calls: Sequence[CallTool]) -> str:
    if not calls:
        return ""
    inner = ", then ".join(f"{c.tool}({_args_text(c.arguments)})" for c in calls)
    return f"; replies asked outside the turn (on_enter greetings) call {inner}"


def _enter_code(calls: Sequence[CallTool]) -> str:
    return f", enter_calls=({''.join(c.code() + ', ' for c in calls)})" if calls else ""


@attrs.frozen
class Start:
    """``session.start(entry)``; the entry's ``on_enter`` replies call ``enter_calls`` in turn.

    Only ever the first step.  Without it a conversation starts with a greeting in words.
    """

    enter_calls: tuple[CallTool, ...] = ()

    def describe(self) -> str:
        return "session.start(entry)" + _enter_text(self.enter_calls)

    def code(self) -> str:
        return f"Start(({''.join(c.code() + ', ' for c in self.enter_calls)}))"


@attrs.frozen
class Say:
    """The user says ``text``; the LLM answers in words, calling no tool."""

    text: str

    def describe(self) -> str:
        return f"user: {self.text!r} (the LLM only answers)"

    def code(self) -> str:
        return f"Say({self.text!r})"


@attrs.frozen
class CallTool:
    """The user speaks and the LLM calls ``tool`` with ``arguments``.

    The tool may belong to the active agent, to another agent, or to nobody; the engine
    decides what happens, the checker decides whether that was right.
    """

    tool: str
    arguments: Arguments = attrs.field(factory=dict)
    enter_calls: tuple[CallTool, ...] = ()
    """Calls the LLM makes in replies asked outside this turn's own request, in order: the
    greeting of the agent it hands off to (a handoff chain when those hand off again), a
    reply a tool generates."""

    def describe(self) -> str:
        return f"LLM calls {self.tool}({_args_text(self.arguments)})" + _enter_text(
            self.enter_calls
        )

    def code(self) -> str:
        return (
            f"CallTool({self.tool!r}, {_args_code(self.arguments)}{_enter_code(self.enter_calls)})"
        )


@attrs.frozen
class CallParallel:
    """The LLM emits several tool calls in one step (e.g. two handoffs at once)."""

    calls: tuple[CallTool, ...]

    def describe(self) -> str:
        inner = ", ".join(f"{c.tool}({_args_text(c.arguments)})" for c in self.calls)
        return f"LLM calls in parallel: {inner}"

    def code(self) -> str:
        return f"CallParallel(({''.join(c.code() + ', ' for c in self.calls)}))"


@attrs.frozen
class ToolRaises:
    """The LLM calls ``tool`` and the tool raises ``error`` instead of running."""

    tool: str
    arguments: Arguments = attrs.field(factory=dict)
    error: str = attrs.field(default="RuntimeError", validator=attrs.validators.in_(ERRORS))

    def describe(self) -> str:
        return f"LLM calls {self.tool}({_args_text(self.arguments)}), which raises {self.error}"

    def code(self) -> str:
        return f"ToolRaises({self.tool!r}, {_args_code(self.arguments)}, {self.error!r})"


@attrs.frozen
class UpdateAgent:
    """Program code calls ``session.update_agent()`` with agent ``agent``.

    ``reuse=False`` constructs a new agent of that id's class; ``reuse=True`` re-activates the
    instance that was last active under that id (a re-entry).
    """

    agent: str
    reuse: bool = False

    def describe(self) -> str:
        what = "the earlier instance of" if self.reuse else "a new"
        return f"code: session.update_agent({what} {self.agent!r})"

    def code(self) -> str:
        return f"UpdateAgent({self.agent!r}, reuse={self.reuse!r})"


@attrs.frozen
class TaskRoundTrip:
    """``tool`` awaits a probe ``AgentTask``; the next turn completes it (or fails it).

    Two user turns: in the first the LLM calls ``tool``, whose body is replaced by
    ``await ProbeTask()``; in the second the probe's LLM calls its ``probe_done`` tool.
    """

    tool: str
    arguments: Arguments = attrs.field(factory=dict)
    fail: bool = False
    on_enter: bool = False
    """The task's own ``on_enter`` reply calls its tool (no second turn)."""

    def describe(self) -> str:
        end = "fails it" if self.fail else "completes it"
        when = "the task's on_enter reply" if self.on_enter else "the next turn"
        return (
            f"LLM calls {self.tool}({_args_text(self.arguments)}), which awaits a probe "
            f"AgentTask; {when} {end}"
        )

    def code(self) -> str:
        extra = ", on_enter=True" if self.on_enter else ""
        return (
            f"TaskRoundTrip({self.tool!r}, {_args_code(self.arguments)}, fail={self.fail!r}{extra})"
        )


@attrs.frozen
class SayDuring:
    """The user speaks again while the turn of ``call`` (maybe a handoff) is still running.

    The second line must be queued and answered by whichever agent is active once the
    first turn, its handoff and the new agent's ``on_enter`` are done; it is never dropped.
    """

    call: CallTool
    text: str = "hello?"

    def describe(self) -> str:
        return f"{self.call.describe()}; meanwhile the user says {self.text!r}"

    def code(self) -> str:
        return f"SayDuring({self.call.code()}, {self.text!r})"


@attrs.frozen
class CallChain:
    """The LLM calls ``calls[0]``, then after each tool output the next one (tool rounds).

    Links past ``AgentSession(max_tool_steps=...)`` must never run: the last round is a
    reply with tools disabled.
    """

    calls: tuple[CallTool, ...]

    def describe(self) -> str:
        inner = ", then ".join(f"{c.tool}({_args_text(c.arguments)})" for c in self.calls)
        return f"LLM calls {inner} (one per tool round)"

    def code(self) -> str:
        return f"CallChain(({''.join(c.code() + ', ' for c in self.calls)}))"


@attrs.frozen
class UpdateDuringTool:
    """The LLM calls ``call``; while that tool runs, program code calls ``update_agent``."""

    call: CallTool
    swap: UpdateAgent

    def describe(self) -> str:
        return f"{self.call.describe()}; while it runs, {self.swap.describe()}"

    def code(self) -> str:
        return f"UpdateDuringTool({self.call.code()}, {self.swap.code()})"


Action = Union[
    Start,
    Say,
    CallTool,
    CallParallel,
    ToolRaises,
    UpdateAgent,
    TaskRoundTrip,
    SayDuring,
    CallChain,
    UpdateDuringTool,
]
ACTION_TYPES: tuple[type, ...] = (
    Start,
    UpdateDuringTool,
    Say,
    CallTool,
    CallParallel,
    ToolRaises,
    UpdateAgent,
    TaskRoundTrip,
    SayDuring,
    CallChain,
)


def actions_code(actions: Sequence[Action], indent: str = "        ") -> str:
    """The list literal of ``actions`` as Python source, one per line."""
    if not actions:
        return "[]"
    body = "".join(f"{indent}{a.code()},\n" for a in actions)
    return "[\n" + body + indent[:-4] + "]"
