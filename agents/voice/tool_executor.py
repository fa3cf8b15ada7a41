"""LiveKit's ``livekit.agents.voice.tool_executor`` names: the template a tool's progress update
is wrapped in before the LLM reads it (see ``RunContext.update``)."""

from __future__ import annotations

from voxfsm.agents._background import REPLY_INSTRUCTIONS, UPDATE_TEMPLATE

__all__ = ["REPLY_INSTRUCTIONS", "UPDATE_TEMPLATE"]
