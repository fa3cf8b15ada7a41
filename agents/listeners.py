"""Watching a session from outside: tracing, metrics and the property tester use this seam.

A listener is told when an agent hook starts and finishes, when a reply starts and finishes,
when a tool call starts and finishes, and at every commit (each change of the active agent).
Register one with ``session.add_listener(listener)``.  Methods are called synchronously on the
event loop, in the order things happen; they must return quickly and must not block.  An
exception raised by a listener is logged and does not disturb the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.chat import FunctionCall, FunctionCallOutput
    from voxfsm.agents.speech import SpeechHandle

CommitKind = Literal["start", "handoff", "update_agent", "task", "return", "restore"]
HookName = Literal["on_enter", "on_exit", "on_user_turn_completed"]


@attrs.frozen
class Commit:
    """One change of the active agent, as the session's single commit point recorded it."""

    kind: CommitKind
    old_agent_id: str | None
    new_agent_id: str
    tool: str | None = None
    """The tool whose result decided it (``None`` for start, ``update_agent``, return, restore)."""


class SessionListener:
    """Base class for session listeners: override the methods you need (all are no-ops)."""

    def committed(self, commit: Commit) -> None:
        """The active agent changed (the machine state and the trace changed with it)."""

    def hook_started(self, agent: Agent, hook: HookName) -> None:
        """``agent``'s hook begins."""

    def hook_finished(self, agent: Agent, hook: HookName, error: BaseException | None) -> None:
        """``agent``'s hook returned (``error`` is what it raised, if anything)."""

    def reply_started(self, agent: Agent, handle: SpeechHandle) -> None:
        """``agent`` begins a reply (an LLM reply or a ``say``)."""

    def reply_finished(
        self, agent: Agent, handle: SpeechHandle, error: BaseException | None
    ) -> None:
        """``agent``'s reply is recorded (``error`` is why it failed, if it did)."""

    def tool_started(self, agent: Agent, call: FunctionCall) -> None:
        """A tool call of ``agent`` begins running (after its arguments were validated)."""

    def tool_finished(self, agent: Agent, call: FunctionCall, output: FunctionCallOutput) -> None:
        """A tool call's output was recorded (every call gets exactly one)."""
