"""LiveKit's ``livekit.agents.beta``: prebuilt tasks and ``TaskGroup`` (``beta.workflows``)."""

from __future__ import annotations

from voxfsm.agents.beta import workflows

__all__ = ["workflows"]
