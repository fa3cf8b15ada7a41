"""LLMs: the protocol, a scripted model for tests and demos, and the OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxfsm.agents.llm.base import LLM, LLMChunk, LLMError, ToolCallRequest, ToolChoice
from voxfsm.agents.llm.scripted import (
    Request,
    ScriptedCall,
    ScriptedLLM,
    ScriptedReply,
    call,
    reply,
)

if TYPE_CHECKING:
    from voxfsm.agents.llm.openai import OpenAILLM

__all__ = [
    "LLM",
    "LLMChunk",
    "LLMError",
    "OpenAILLM",
    "Request",
    "ScriptedCall",
    "ScriptedLLM",
    "ScriptedReply",
    "ToolCallRequest",
    "ToolChoice",
    "call",
    "reply",
]


def __getattr__(name: str) -> Any:
    # the openai client is imported only when someone asks for it
    if name == "OpenAILLM":
        from voxfsm.agents.llm.openai import OpenAILLM

        return OpenAILLM
    raise AttributeError(f"module 'voxfsm.agents.llm' has no attribute {name!r}")
