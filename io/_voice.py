"""What the voice loop's parts share: its errors, turn metrics and how to name an audio end."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "DEVICE_HINT",
    "SpeechRecognitionError",
    "SpeechSynthesisError",
    "TurnMetrics",
    "VoiceLoopError",
    "describe_end",
]

DEVICE_HINT = (
    "check that it is still connected and working, or pick another one from "
    "`voxfsm console --list-devices` (then --input-device/--output-device)"
)


class VoiceLoopError(RuntimeError):
    """A speech engine failed; the voice loop reported it and carried on."""


class SpeechRecognitionError(VoiceLoopError):
    """The STT raised; the utterance it was decoding was dropped."""


class SpeechSynthesisError(VoiceLoopError):
    """The TTS raised; the rest of that reply was not spoken."""


def describe_end(end: Any, kind: str) -> str:
    """``end`` as a user would recognise it: the device name, else the file, else the type."""
    name = getattr(end, "device_name", None) or getattr(end, "device", None)
    if name is not None:
        return f"the audio {kind} device {str(name)!r}"
    path = getattr(end, "path", None)
    if path is not None:
        return f"the audio {kind} file {str(path)!r}"
    return f"the audio {kind} ({type(end).__name__})"


@attrs.define
class TurnMetrics:
    """Milliseconds from the (estimated) end of the user's speech to each stage of a turn."""

    speech_end: float = attrs.field(repr=False)
    """Loop time when the user stopped speaking (endpoint time minus trailing silence)."""
    values: dict[str, float] = attrs.Factory(dict)

    def mark(self, stage: str, now: float) -> None:
        self.values.setdefault(f"{stage}_ms", round((now - self.speech_end) * 1000, 1))
