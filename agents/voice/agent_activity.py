"""LiveKit's ``livekit.agents.voice.agent_activity`` names that user code meets."""

from __future__ import annotations


class ActivityClosedError(RuntimeError):
    """Raised by a wait for the session's floor (``session.wait_for_idle()``) when the session
    closes before the floor is free."""


__all__ = ["ActivityClosedError"]
