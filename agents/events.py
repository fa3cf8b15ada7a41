"""Payloads of the events ``AgentSession.on(...)`` delivers."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from voxfsm.agents.chat import ChatItem, FunctionCall, FunctionCallOutput

AgentState = Literal["initializing", "idle", "listening", "thinking", "speaking"]
UserState = Literal["speaking", "listening", "away"]


@attrs.frozen
class ConversationItemAddedEvent:
    """An item (message, tool call or output, handoff) was added to the history."""

    item: ChatItem
    type: Literal["conversation_item_added"] = "conversation_item_added"


@attrs.frozen
class AgentStateChangedEvent:
    """The agent went from one state (initializing, listening, thinking, speaking) to another."""

    old_state: AgentState
    new_state: AgentState
    type: Literal["agent_state_changed"] = "agent_state_changed"


@attrs.frozen
class UserStateChangedEvent:
    """The user started or stopped speaking (voice loop), or went away."""

    old_state: UserState
    new_state: UserState
    type: Literal["user_state_changed"] = "user_state_changed"


@attrs.frozen
class UserInputTranscribedEvent:
    """Speech recognition heard something; ``is_final`` is False for partial results."""

    transcript: str
    is_final: bool
    type: Literal["user_input_transcribed"] = "user_input_transcribed"


@attrs.frozen
class FunctionToolsExecutedEvent:
    """The tools the LLM called in one step ran; ``zipped()`` pairs each call with its output."""

    function_calls: list[FunctionCall]
    function_call_outputs: list[FunctionCallOutput]
    type: Literal["function_tools_executed"] = "function_tools_executed"
    _cancelled: list[bool] = attrs.field(factory=list, repr=False, eq=False)

    def cancel_tool_reply(self) -> None:
        """Ask for no LLM reply after these tools (a handoff still happens, silently)."""
        self._cancelled.append(True)

    @property
    def has_tool_reply(self) -> bool:
        return not self._cancelled

    def zipped(self) -> list[tuple[FunctionCall, FunctionCallOutput]]:
        return list(zip(self.function_calls, self.function_call_outputs, strict=True))


@attrs.frozen
class ErrorEvent:
    """Something failed but the session kept running (a tool crashed, the LLM was down...)."""

    error: BaseException
    source: str
    type: Literal["error"] = "error"


@attrs.frozen
class MetricsEvent:
    """Timings of one turn or stage, in milliseconds (voice loop and LLM adapters)."""

    name: str
    values: dict[str, float]
    type: Literal["metrics_collected"] = "metrics_collected"

    @property
    def metrics(self) -> list[Any]:
        """The same timings as LiveKit payloads (``EOUMetrics``, ``LLMMetrics``...)."""
        from voxfsm.agents.metrics import expand

        return list(expand(self.name, self.values))


@attrs.frozen
class CloseEvent:
    """The session closed; ``error`` is set when a failure closed it."""

    reason: str
    error: Any = None
    type: Literal["close"] = "close"
