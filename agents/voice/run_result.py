"""``livekit.agents.voice.run_result``: the result of a ``session.run()`` and its assertions."""

from __future__ import annotations

from voxfsm.agents.mock import mock_tools
from voxfsm.agents.run_result import (
    AgentHandoffEvent,
    ChatMessageEvent,
    EventAssert,
    FunctionCallEvent,
    FunctionCallOutputEvent,
    RunAssert,
    RunEvent,
    RunResult,
)

__all__ = [
    "AgentHandoffEvent",
    "ChatMessageEvent",
    "EventAssert",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunAssert",
    "RunEvent",
    "RunResult",
    "mock_tools",
]
