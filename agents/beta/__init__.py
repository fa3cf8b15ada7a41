"""LiveKit's ``livekit.agents.beta``: prebuilt tasks and ``TaskGroup`` (``beta.workflows``),
``EndCallTool`` (``beta.tools``) and ``Instructions``."""

from __future__ import annotations

from voxfsm.agents.beta import tools, workflows
from voxfsm.agents.beta.instructions import Instructions
from voxfsm.agents.beta.tools import EndCallTool

__all__ = ["EndCallTool", "Instructions", "tools", "workflows"]
