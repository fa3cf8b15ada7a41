"""``livekit.agents.llm.tool_context``: where LiveKit defines the tool decorator and errors."""

from __future__ import annotations

from voxfsm.agents.tools import FunctionTool, StopResponse, ToolError, ToolFlag, function_tool

__all__ = ["FunctionTool", "StopResponse", "ToolError", "ToolFlag", "function_tool"]
