"""Speech-to-text engines behind one protocol (:class:`STT` / :class:`STTStream`).

Engines import their heavy dependencies (vosk, faster-whisper, numpy) only when used.
"""

from __future__ import annotations

from voxfsm.io._lazy import lazy_getattr
from voxfsm.io.stt.base import STT, STTStream, Transcript

__all__ = ["STT", "STTStream", "ScriptedSTT", "Transcript", "VoskSTT", "WhisperSTT"]

_LAZY = {
    "VoskSTT": "voxfsm.io.stt.vosk",
    "WhisperSTT": "voxfsm.io.stt.whisper",
    "ScriptedSTT": "voxfsm.io.stt.scripted",
}


__getattr__ = lazy_getattr(__name__, _LAZY)
