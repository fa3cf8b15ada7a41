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
    _whole: bool

    def __new__(
        cls, common: str = "", *, audio: str | None = None, text: str | None = None, **_: Any
    ) -> Instructions:
        self = super().__new__(cls, common)
        self.audio = audio
        self.text = text
        self._whole = False  # variants are additions to the common text, not whole texts
        return self

    @property
    def common(self) -> str:
        return str.__str__(self)

    def render(self, modality: str | None = None) -> str:
        """The text for ``"audio"`` or ``"text"`` (the common text plus that variant)."""
        variant = self.audio if modality == "audio" else self.text if modality == "text" else None
        if variant is None:
            return self.common
        if self._whole or not self.common:
            return variant
        return f"{self.common}\n\n{variant}"

    @classmethod
    def resolve_template(cls, template: str, **values: Any) -> Instructions:
        """``template.format(**values)`` per modality, where values may be ``Instructions``."""

        def fill(modality: str | None) -> str:
            return template.format(
                **{
                    k: v.render(modality) if isinstance(v, Instructions) else v
                    for k, v in values.items()
                }
            )

        common, audio, text = fill(None), fill("audio"), fill("text")
        if audio == text:
            return cls(audio)
        out = cls(common, audio=audio, text=text)
        out._whole = True
        return out


__all__ = ["EndCallTool", "Instructions", "tools", "workflows"]
