"""LiveKit's ``livekit.agents.inference`` offline: ``inference.LLM/STT/TTS("provider/model")``.

LiveKit Inference is a cloud gateway that picks a hosted model by name
(``inference.LLM("openai/gpt-4.1-mini")``).  There is no gateway offline, so each constructor
returns the offline model configured for that kind instead, and logs once which one stands in
for the cloud name.  What stands in, first match wins:

1. :func:`configure` (``configure(llm=ScriptedLLM(...))``; an instance, a plugin string, or a
   callable ``(model_name) -> instance``);
2. the environment: ``VOXFSM_INFERENCE_LLM``, ``VOXFSM_INFERENCE_STT``,
   ``VOXFSM_INFERENCE_TTS``, ``VOXFSM_INFERENCE_VAD`` (plugin strings such as
   ``ollama/llama3.2`` or ``piper``);
3. the defaults: ``local`` (the in-process model), ``whisper/tiny.en``, ``pyttsx3``, and
   for ``inference.VAD`` the WebRTC VAD (``inference.VAD(model="silero")`` is Silero).

An STT, TTS or VAD whose provider is not installed (a text-only install) becomes ``None`` with one
warning, so a session in text mode still runs; an LLM always resolves (a missing local model is
reported when the first reply is generated, by the LLM itself).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from voxfsm.agents.plugins import resolve

log = logging.getLogger("voxfsm.agents")

_DEFAULTS = {"llm": "local", "stt": "whisper/tiny.en", "tts": "pyttsx3", "vad": "webrtc"}
_configured: dict[str, Any] = {}
_announced: set[tuple[str, str]] = set()


def configure(*, llm: Any = None, stt: Any = None, tts: Any = None, vad: Any = None) -> None:
    """Choose what ``inference.LLM/STT/TTS(...)`` give from now on, in this process.

    Each value is an instance (shared by every call), a plugin string, or a callable taking
    the cloud model name.  ``None`` leaves that kind as it is; :func:`reset` forgets all.
    """
    for kind, value in (("llm", llm), ("stt", stt), ("tts", tts), ("vad", vad)):
        if value is not None:
            _configured[kind] = value


def reset() -> None:
    """Forget :func:`configure`'s choices (the environment and the defaults apply again)."""
    _configured.clear()
    _announced.clear()


def _stand_in(kind: str, model: str) -> Any:
    chosen = _configured.get(kind)
    if chosen is None:
        chosen = os.environ.get(f"VOXFSM_INFERENCE_{kind.upper()}") or _DEFAULTS[kind]
    if callable(chosen) and not isinstance(chosen, str) and not hasattr(chosen, "chat"):
        chosen = chosen(model)
    label = chosen if isinstance(chosen, str) else type(chosen).__name__
    if (kind, model) not in _announced:
        _announced.add((kind, model))
        log.warning(
            "inference.%s(%r): LiveKit Inference is a cloud service; offline this is %s "
            "(choose with voxfsm.agents.inference.configure(%s=...) or VOXFSM_INFERENCE_%s)",
            kind.upper(),
            model,
            label,
            kind,
            kind.upper(),
        )
    if kind == "llm":
        return resolve(kind, chosen)
    try:
        return resolve(kind, chosen)
    except (ValueError, ImportError) as exc:
        log.warning("inference.%s(%r): %s; running without %s", kind.upper(), model, exc, kind)
        return None


def LLM(model: str = "", **_options: Any) -> Any:
    """The offline LLM standing in for LiveKit Inference's ``model`` (options are ignored)."""
    return _stand_in("llm", model)


def STT(model: str = "", **_options: Any) -> Any:
    """The offline speech recognizer standing in for ``model`` (``language=`` etc. ignored)."""
    return _stand_in("stt", model)


def VAD(model: str = "", **_options: Any) -> Any:
    """A voice activity detector: ``model="silero"`` is Silero offline too; anything else is
    the configured one (by default WebRTC VAD)."""
    if (
        model == "silero"
        and "vad" not in _configured
        and not os.environ.get("VOXFSM_INFERENCE_VAD")
    ):
        try:
            return resolve("vad", "silero")
        except (ValueError, ImportError) as exc:
            log.warning("inference.VAD('silero'): %s; using the default VAD", exc)
    return _stand_in("vad", model)


def TTS(model: str = "", **_options: Any) -> Any:
    """The offline voice standing in for ``model`` (``voice=`` etc. ignored)."""
    return _stand_in("tts", model)


__all__ = ["LLM", "STT", "TTS", "VAD", "configure", "reset"]
