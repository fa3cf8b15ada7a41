"""LLMs: the protocol, a scripted model for tests and demos, the OpenAI-compatible client and
the in-process local model (``LocalLLM``).

Like LiveKit's ``livekit.agents.llm``, this module also exports the chat items and the tool
API (``function_tool``, ``ChatContext``, ``ToolError``...), so ``from livekit.agents.llm
import ...`` ports by changing the package name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxfsm.agents.chat import (
    AgentHandoff,
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)
from voxfsm.agents.chat import Role as ChatRole
from voxfsm.agents.llm import utils
from voxfsm.agents.llm.base import (
    ChoiceDelta,
    LLMChunk,
    LLMError,
    ToolCallRequest,
    ToolChoice,
)
from voxfsm.agents.llm.fallback import FallbackAdapter
from voxfsm.agents.llm.scripted import (
    Request,
    ScriptedCall,
    ScriptedLLM,
    ScriptedReply,
    call,
    reply,
)
from voxfsm.agents.llm.stream import (
    LLM,
    ChatChunk,
    CollectedResponse,
    CompletionUsage,
    FunctionToolCall,
    LLMStream,
)
from voxfsm.agents.tools import (
    FunctionTool,
    StopResponse,
    ToolError,
    ToolFlag,
    function_tool,
)

ChatContent = str
"""Content of a chat message: text (offline models read no images or audio)."""
Tool = FunctionTool
RawFunctionTool = FunctionTool
"""A tool made with ``function_tool(raw_schema=...)`` is a ``FunctionTool`` too."""


def is_function_tool(obj: Any) -> bool:
    """Whether ``obj`` is a tool made with ``@function_tool``."""
    return isinstance(obj, FunctionTool)


def is_raw_function_tool(obj: Any) -> bool:
    """Whether ``obj`` is a tool declared with a raw JSON schema."""
    return isinstance(obj, FunctionTool) and obj._raw_schema is not None


def find_function_tools(obj: Any) -> list[FunctionTool]:
    """The ``@function_tool`` attributes of an object (or class), in definition order."""
    from voxfsm.agents.agent import class_tools

    cls = obj if isinstance(obj, type) else type(obj)
    found = [tool for _, tool in class_tools(cls)] if _is_agent(cls) else []
    if not found:
        found = [v for v in vars(cls).values() if isinstance(v, FunctionTool)]
    return found if isinstance(obj, type) else [t.__get__(obj, cls) for t in found]


def _is_agent(cls: type) -> bool:
    from voxfsm.agents.agent import Agent

    return issubclass(cls, Agent)


if TYPE_CHECKING:
    from voxfsm.agents.llm.local import LocalLLM
    from voxfsm.agents.llm.openai import OpenAILLM

__all__ = [
    "LLM",
    "AgentHandoff",
    "ChatChunk",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "ChoiceDelta",
    "CollectedResponse",
    "CompletionUsage",
    "FallbackAdapter",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "FunctionToolCall",
    "LLMChunk",
    "LLMError",
    "LLMStream",
    "LocalLLM",
    "OpenAILLM",
    "RawFunctionTool",
    "Request",
    "ScriptedCall",
    "ScriptedLLM",
    "ScriptedReply",
    "StopResponse",
    "Tool",
    "ToolCallRequest",
    "ToolChoice",
    "ToolError",
    "ToolFlag",
    "call",
    "find_function_tools",
    "function_tool",
    "is_function_tool",
    "is_raw_function_tool",
    "reply",
    "utils",
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
