"""What the prebuilt tasks share: when to ask the user to confirm what was heard, the
store-or-read-back step, and LiveKit's ``require_explicit_ask``."""

from __future__ import annotations

from typing import Any

from voxfsm.agents.agent import AgentTask
from voxfsm.agents.context import RunContext
from voxfsm.agents.plugins import NOT_GIVEN
from voxfsm.agents.tools import ToolError, ToolFlag


def input_modality(ctx: RunContext[Any] | None) -> str:
    """``"audio"`` when the user spoke the current turn, ``"text"`` when they typed it."""
    if ctx is None:
        return "text"
    session = ctx.session
    given = getattr(session, "input_modality", None)
    if given in ("text", "audio"):
        return str(given)
    return "audio" if session.output is not None else "text"


def needs_confirmation(setting: bool | Any | None, ctx: RunContext[Any] | None) -> bool:
    """Not given (``None`` or ``NOT_GIVEN``, the default) asks only for spoken input, where
    recognition may have misheard; ``True``/``False`` force it."""
    if setting is not None and setting is not NOT_GIVEN:
        return bool(setting)
    return input_modality(ctx) == "audio"


class ReadBack:
    """One task's pending answer: complete at once, or keep it until the user confirms.

    ``offer()`` either completes the task with the result (no confirmation needed) or stores
    it and returns the instruction the LLM sees as the tool output (read it back, then call
    ``confirm_tool``); ``confirm()`` completes with what was stored.
    """

    def __init__(self, task: AgentTask[Any], setting: bool | Any | None, confirm_tool: str):
        self.task = task
        self.setting = setting
        self.confirm_tool = confirm_tool
        self.pending: Any = None

    def offer(self, result: Any, ctx: RunContext[Any] | None, *, read_back: str) -> str | None:
        if not needs_confirmation(self.setting, ctx):
            if not self.task.done():
                self.task.complete(result)
            return None
        self.pending = result
        return (
            f"{read_back} Read it back and ask the user to confirm; when they do, call "
            f"{self.confirm_tool}."
        )

    def confirm(self, what: str) -> None:
        if self.pending is None:
            raise ToolError(f"there is no {what} to confirm yet; record it first")
        if not self.task.done():
            self.task.complete(self.pending)


def ask_explicitly(task: AgentTask[Any], tool_name: str, on: bool) -> None:
    """LiveKit's ``require_explicit_ask``: hide ``tool_name`` from the reply the task's
    ``on_enter`` makes, so the task asks before recording anything it read in the context."""
    if not on:
        return
    for tool in task.tools:
        if tool.name == tool_name:
            # the agent holds its own bound copy of a method tool: this changes this task only
            tool.flags = ToolFlag(tool.flags | ToolFlag.IGNORE_ON_ENTER)


def joined(*parts: str) -> str:
    """Instructions from non-empty parts, one per line."""
    return "\n".join(p.strip() for p in parts if p and p.strip())
