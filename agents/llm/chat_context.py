"""LiveKit's ``livekit.agents.llm.chat_context`` names (the chat items and ``Instructions``)."""

from __future__ import annotations

from voxfsm.agents.beta import Instructions
from voxfsm.agents.chat import (
    AgentHandoff,
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)
from voxfsm.agents.chat import Role as ChatRole

ChatContent = str

__all__ = [
    "AgentHandoff",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "Instructions",
]
