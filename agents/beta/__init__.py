"""LiveKit's ``livekit.agents.beta``: prebuilt tasks and ``TaskGroup`` (``beta.workflows``),
``EndCallTool`` (``beta.tools``) and ``Instructions``."""

from __future__ import annotations

from typing import Any

from voxfsm.agents.beta import tools, workflows
from voxfsm.agents.beta.tools import EndCallTool


class Instructions(str):
    """Instructions with variants per modality; the text itself is the common part.

    voxfsm sends the common text whatever the modality (differs: LiveKit renders the
    ``audio`` or ``text`` variant per turn)."""

    audio: str | None
    text: str | None

    def __new__(
        cls, common: str = "", *, audio: str | None = None, text: str | None = None, **_: Any
    ) -> Instructions:
        self = super().__new__(cls, common)
        self.audio = audio
        self.text = text
        return self


__all__ = ["EndCallTool", "Instructions", "tools", "workflows"]
