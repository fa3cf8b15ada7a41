"""``livekit.agents.voice.agent``: where LiveKit defines ``Agent`` and ``AgentTask``."""

from __future__ import annotations

from voxfsm.agents.agent import Agent, AgentTask

__all__ = ["Agent", "AgentTask"]
