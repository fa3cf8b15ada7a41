"""LiveKit's ``livekit.agents.llm.tool_context`` names: the tool API."""

from __future__ import annotations

from voxfsm.agents.tools import FunctionTool, StopResponse, ToolError, ToolFlag, function_tool

RawFunctionTool = FunctionTool
Tool = FunctionTool

__all__ = [
    "FunctionTool",
    "RawFunctionTool",
    "StopResponse",
    "Tool",
    "ToolError",
    "ToolFlag",
    "function_tool",
]
