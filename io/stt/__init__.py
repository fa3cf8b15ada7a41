"""Speech-to-text engines behind one protocol (:class:`STT` / :class:`STTStream`).

Engines import their heavy dependencies (vosk, faster-whisper, numpy) only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

from voxfsm.io.stt.base import STT, STTStream, Transcript

__all__ = ["STT", "STTStream", "ScriptedSTT", "Transcript", "VoskSTT", "WhisperSTT"]

_LAZY = {
    "VoskSTT": "voxfsm.io.stt.vosk",
    "WhisperSTT": "voxfsm.io.stt.whisper",
    "ScriptedSTT": "voxfsm.io.stt.scripted",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'voxfsm.io.stt' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
