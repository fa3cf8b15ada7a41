"""LiveKit's ``livekit.agents.voice`` names: the agent, the session and their events.

Everything here is the same object as in :mod:`voxfsm.agents`; this package exists so that
``from livekit.agents.voice import ...`` ports by changing the package name.
"""

from __future__ import annotations

from voxfsm.agents.agent import Agent, AgentTask
from voxfsm.agents.context import RunContext
from voxfsm.agents.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from voxfsm.agents.metrics import MetricsCollectedEvent
from voxfsm.agents.session import AgentSession
from voxfsm.agents.speech import SpeechHandle
from voxfsm.agents.voice import events, room_io, run_result
from voxfsm.agents.voice.model_settings import ModelSettings

__all__ = [
    "Agent",
    "AgentSession",
    "AgentStateChangedEvent",
    "AgentTask",
    "CloseEvent",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "ModelSettings",
    "RunContext",
    "SpeechHandle",
    "UserInputTranscribedEvent",
    "UserStateChangedEvent",
    "events",
    "room_io",
    "run_result",
]
