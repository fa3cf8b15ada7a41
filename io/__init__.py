"""Audio and speech for voxfsm: sources and sinks, VAD, STT, TTS and the voice loop.

Heavy dependencies (numpy, sounddevice, vosk, pyttsx3, faster-whisper) are imported lazily,
when the class that needs them is first used, so ``import voxfsm.io`` stays cheap and works
without the ``voice`` extra.
"""

from __future__ import annotations

from voxfsm.io._lazy import lazy_getattr

# public name -> module that defines it (imported on first attribute access)
_EXPORTS: dict[str, str] = {}

__all__: list[str] = []


def _export(module: str, *names: str) -> None:
    for name in names:
        _EXPORTS[name] = module
        __all__.append(name)


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


_export(
    "voxfsm.io.audio",
    "Microphone",
    "Speaker",
    "WavSource",
    "WavSink",
    "AudioDeviceError",
    "AudioFileError",
    "list_devices",
    "read_audio",
    "write_audio",
)
_export("voxfsm.io.vad", "WebRtcVAD", "SileroVAD", "Endpointer")
_export("voxfsm.io.stt", "VoskSTT", "WhisperSTT", "ScriptedSTT", "Transcript")
_export("voxfsm.io.tts", "Pyttsx3TTS", "PiperTTS", "AudioClip")
_export(
    "voxfsm.io.loop",
    "VoiceLoop",
    "VoiceLoopError",
    "SpeechRecognitionError",
    "SpeechSynthesisError",
)
_export("voxfsm.io.sim.caller", "SimulatedCaller", "CallTimeline", "CallSink")
_export("voxfsm.io.models", "ModelCache", "ModelNotFoundError")
