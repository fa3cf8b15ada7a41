"""What the driver attaches to a running workflow, and takes off again.

- :class:`Observer`, the session listener that tells the driver about commits, hooks,
  replies and tool calls (the documented seam, nothing patched);
- :class:`ProbeTask`, the ``AgentTask`` a step awaits in place of a tool body (through
  ``mock_tools``, the documented test double);
- :class:`UsageSpotter`, a logging handler that notices the workflow reading a userdata the
  check never gave it, so the run stops with one usage error instead of a traceback a step;
- while any driver runs, ``Agent.__init__`` records agents constructed with a context that is
  not fresh although no ``chat_ctx`` was passed (construction is not a session event).

This module imports the agent layer at module level; only ``voxfsm.agents.testing``'s
functions import it, so ``import voxfsm.agents.testing`` itself loads no hypothesis.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents import Agent, AgentTask, ToolError, function_tool
from voxfsm.agents.chat import INSTRUCTIONS_ID
from voxfsm.agents.listeners import SessionListener
from voxfsm.fsm.spec import Step

if TYPE_CHECKING:
    from voxfsm.agents.chat import FunctionCall, FunctionCallOutput
    from voxfsm.agents.listeners import Commit, HookName
    from voxfsm.agents.speech import SpeechHandle

    from ._driver import Driver

PROBE_ID = "voxfsm_probe_task"
PROBE_ENTER = "voxfsm probe task: finish now"
USERDATA_USAGE = (
    "the workflow reads session.userdata, but this check gives it none: define make_session() "
    "in the app module returning AgentSession(userdata=...), or pass userdata_factory= (or "
    "session_factory=) to check_workflow / replay"
)


class UsageAbort(BaseException):
    """The check cannot run this workflow as given; stops hypothesis at once (no shrinking).

    A ``BaseException`` on purpose: hypothesis treats ``Exception`` as a failure to shrink.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProbeTask(AgentTask[str]):
    """A throw-away AgentTask the driver awaits inside a user tool (a round trip).

    With ``finish_on_enter`` its ``on_enter`` reply calls its own tool at once: a task whose
    greeting completes it.
    """

    def __init__(self, finish_on_enter: bool = False) -> None:
        super().__init__(instructions="voxfsm probe task: call probe_done", id=PROBE_ID)
        self._finish_on_enter = finish_on_enter

    async def on_enter(self) -> None:
        if self._finish_on_enter:
            await self.session.generate_reply(instructions=PROBE_ENTER)

    @function_tool
    async def probe_done(self, ok: bool) -> None:
        """Finish the probe task, successfully or with an error.

        Args:
            ok: complete with a result (true) or with a ToolError (false)
        """
        self.complete("probe done" if ok else ToolError("probe failed"))


class Observer(SessionListener):
    """Forwards the session's listener callbacks to the driver."""

    def __init__(self, driver: Driver) -> None:
        self.d = driver

    def committed(self, commit: Commit) -> None:
        self.d.committed(commit)

    def hook_started(self, agent: Agent, hook: HookName) -> None:
        self.d.hook_started(agent, hook)

    def hook_finished(self, agent: Agent, hook: HookName, error: BaseException | None) -> None:
        self.d.hook_finished(agent, hook, error)

    def reply_started(self, agent: Agent, handle: SpeechHandle) -> None:
        self.d.reply_started(agent, handle)

    def reply_finished(
        self, agent: Agent, handle: SpeechHandle, error: BaseException | None
    ) -> None:
        self.d.reply_finished(agent, handle, error)

    def tool_started(self, agent: Agent, call: FunctionCall) -> None:
        self.d.tool_started(agent, call)

    def tool_finished(self, agent: Agent, call: FunctionCall, output: FunctionCallOutput) -> None:
        self.d.tool_finished(agent, call, output)


def reads_unset_userdata(error: BaseException) -> bool:
    """``error`` is the session's "userdata is not set" (raised by its ``userdata`` getter)."""
    if not isinstance(error, ValueError):
        return False
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_name == "userdata"


class UsageSpotter(logging.Handler):
    """Sees the engine log a tool's exception; tells the driver when it is unset userdata."""

    def __init__(self, driver: Driver) -> None:
        super().__init__()
        self.d = driver

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and reads_unset_userdata(error):
            self.d.spot_usage()


class InjectedError(RuntimeError):
    """What a :class:`~voxfsm.agents.testing.ToolRaises` step raises for ``RuntimeError``."""


def is_probe_step(step: Step) -> bool:
    """A transition into or out of the driver's own probe task (not the workflow's)."""
    return PROBE_ID in (step.source, step.target_id)


@attrs.frozen
class Execution:
    """One tool body that started: whose, and whether its agent was the active one."""

    tool: str
    owner: str | None
    while_active: bool


# ---------------------------------------------------------------- Agent.__init__ recorder

_sinks: list[list[str]] = []
_original_init: list[Callable[..., None]] = []


def _recording_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Agent, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if kwargs.get("chat_ctx") is not None or not _sinks:
            return
        items = self.chat_ctx.items
        if len(items) != 1 or items[0].id != INSTRUCTIONS_ID:
            extra = len(items) - 1
            for sink in _sinks:
                sink.append(
                    f"{type(self).__name__} (id {self.id!r}) was constructed without chat_ctx "
                    f"but its context already holds {extra} item(s) besides its instructions"
                )

    return __init__


def watch_construction(sink: list[str]) -> None:
    """Start recording not-fresh constructions into ``sink`` (nests; undo with unwatch)."""
    if not _sinks:
        _original_init.append(Agent.__init__)
        Agent.__init__ = _recording_init(Agent.__init__)
    _sinks.append(sink)


def unwatch_construction(sink: list[str]) -> None:
    if sink in _sinks:
        _sinks.remove(sink)
    if not _sinks and _original_init:
        Agent.__init__ = _original_init.pop()


# ---------------------------------------------------------------- log noise we cause


class QuietProbeLogs(logging.Filter):
    """Drops the engine's warnings about *our* probe handoff and tracebacks of *our* errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InjectedError):
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        return PROBE_ID not in args
