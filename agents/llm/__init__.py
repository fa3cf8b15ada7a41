"""LLMs: the protocol, a scripted model for tests and demos, the OpenAI-compatible client and
the in-process local model (``LocalLLM``)."""

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
    from voxfsm.agents.llm.local import LocalLLM
    from voxfsm.agents.llm.openai import OpenAILLM

__all__ = [
    "LLM",
    "LLMChunk",
    "LLMError",
    "LocalLLM",
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
    # the openai client and llama.cpp are imported only when someone asks for them
    if name == "OpenAILLM":
        from voxfsm.agents.llm.openai import OpenAILLM

        return OpenAILLM
    if name == "LocalLLM":
        from voxfsm.agents.llm.local import LocalLLM

        return LocalLLM
    raise AttributeError(f"module 'voxfsm.agents.llm' has no attribute {name!r}")
