"""Instrumentation the driver puts on a running workflow, and takes off again.

Three kinds, none of which changes a user class: agent *instances* get recording
``on_enter``/``on_exit`` wrappers (instance attributes, deleted at the end); tool objects get
a recording ``fn`` (restored at the end); and while any driver runs, ``Agent.__init__``
records agents constructed with a context that is not fresh although no ``chat_ctx`` was
passed.  Plus :class:`ProbeTask`, the ``AgentTask`` the driver awaits in place of a tool.

This module imports the agent layer at module level; only ``voxfsm.agents.testing``'s functions
import it, so ``import voxfsm.agents.testing`` itself loads no agent code.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import attrs

from voxfsm.agents import Agent, AgentTask, ToolError, function_tool
from voxfsm.agents.chat import INSTRUCTIONS_ID
from voxfsm.fsm.spec import Step

PROBE_ID = "voxfsm_probe_task"


class ProbeTask(AgentTask[str]):
    """A throw-away AgentTask the driver awaits inside a user tool (a round trip)."""

    def __init__(self) -> None:
        super().__init__(instructions="voxfsm probe task: call probe_done", id=PROBE_ID)

    @function_tool
    async def probe_done(self, ok: bool) -> None:
        """Finish the probe task, successfully or with an error.

        Args:
            ok: complete with a result (true) or with a ToolError (false)
        """
        self.complete("probe done" if ok else ToolError("probe failed"))


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
    returned_agent: bool


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
