"""Text-to-speech engines behind one protocol (:class:`TTS`), returning :class:`AudioClip`.

Engines import their heavy dependencies (pyttsx3, piper, numpy) only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

from voxfsm.io.tts.base import TTS, AudioClip

__all__ = ["TTS", "AudioClip", "PiperTTS", "Pyttsx3TTS"]

_LAZY = {
    "Pyttsx3TTS": "voxfsm.io.tts.pyttsx3",
    "PiperTTS": "voxfsm.io.tts.piper",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'voxfsm.io.tts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
