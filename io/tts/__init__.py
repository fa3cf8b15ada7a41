"""Text-to-speech engines behind one protocol (:class:`TTS`), returning :class:`AudioClip`.

Engines import their heavy dependencies (pyttsx3, piper, numpy) only when used.
"""

from __future__ import annotations

from voxfsm.io._lazy import lazy_getattr
from voxfsm.io.tts.base import TTS, AudioClip

__all__ = ["TTS", "AudioClip", "PiperTTS", "Pyttsx3TTS"]

_LAZY = {
    "Pyttsx3TTS": "voxfsm.io.tts.pyttsx3",
    "PiperTTS": "voxfsm.io.tts.piper",
}


__getattr__ = lazy_getattr(__name__, _LAZY)
