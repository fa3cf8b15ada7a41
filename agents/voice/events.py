"""``livekit.agents.voice.events``: payloads of ``session.on(...)`` events, and ``RunContext``."""

from __future__ import annotations

from voxfsm.agents.context import RunContext
from voxfsm.agents.events import (
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    UserInputTranscribedEvent,
    UserState,
    UserStateChangedEvent,
)
from voxfsm.agents.metrics import MetricsCollectedEvent

__all__ = [
    "AgentState",
    "AgentStateChangedEvent",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "RunContext",
    "UserInputTranscribedEvent",
    "UserState",
    "UserStateChangedEvent",
]
