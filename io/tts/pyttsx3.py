"""Text to speech with pyttsx3 (espeak-ng on Linux), rendered to memory, never played by it.

pyttsx3 2.99 has traps this module steps around:

- ``say()`` plays through ``aplay`` with no device choice and swallows errors; after one
  ``save_to_file()`` it even writes to that file instead. We only use ``save_to_file``.
- ``runAndWait()`` can return before the WAV is written; we wait for a complete RIFF file.
- ``pyttsx3.init()`` returns one shared engine per process and espeak keeps global state,
  so all pyttsx3 work runs on one dedicated thread, and each call sets its own voice and
  rate (that is how several agents get different voices).
- espeak queues rate changes but synthesizes immediately, so a new rate may only apply to
  the next call; we wait for espeak's queue (``espeak_Synchronize``) before synthesizing.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import struct
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from voxfsm.io.tts.base import AudioClip

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_engine: Any = None  # only touched on the executor's thread
_defaults: dict[str, Any] = {}


@attrs.frozen
class Voice:
    """A voice pyttsx3 offers (``id`` is what :class:`Pyttsx3TTS` accepts)."""

    id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None


def _pyttsx3_thread() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxfsm-pyttsx3")
        return _executor


def _quiet_print(*args: Any, **kwargs: Any) -> None:
    logger.debug("pyttsx3: %s", " ".join(map(str, args)))


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise ImportError(
                "Pyttsx3TTS needs pyttsx3; run `pip install 'voxfsm[voice]'` "
                "(and on Debian/Ubuntu `apt-get install espeak-ng`)"
            ) from exc
        try:
            _engine = pyttsx3.init()
        except (OSError, RuntimeError) as exc:
            raise RuntimeError(
                f"pyttsx3 could not start its speech engine ({exc}); on Linux install "
                "espeak-ng: `apt-get install espeak-ng`"
            ) from exc
        # the espeak driver print()s "Audio saved to ..." for every file, which would
        # garble a console UI; route that module's print to our debug log
        driver = sys.modules.get("pyttsx3.drivers.espeak")
        if driver is not None:
            driver.print = _quiet_print  # type: ignore[attr-defined]
        # espeak reports rate/volume racily (see _render), so use pyttsx3's documented
        # defaults; the voice is set synchronously and can be read back
        _defaults.update(voice=_engine.getProperty("voice"), rate=200, volume=1.0)
        # pyttsx3's DriverProxy.__del__ fails if it first runs during interpreter teardown
        atexit.register(_release_engine)
    return _engine


def _release_engine() -> None:
    global _engine
    _engine = None


def _list_voices() -> list[Voice]:
    return [
        Voice(str(v.id), str(v.name), tuple(v.languages or ()), v.gender)
        for v in _get_engine().getProperty("voices")
    ]


def _match_voice(wanted: str, voices: list[Voice]) -> str:
    """Voice id for an id, a name or a substring of either; keeps an espeak ``+variant``."""
    base, plus, variant = wanted.partition("+")
    key = base.strip().lower()
    tests = (
        lambda v: v.id.lower() == key or v.id.lower().rsplit("/", 1)[-1] == key,
        lambda v: v.name.lower() == key,
        lambda v: key in v.id.lower() or key in v.name.lower(),
    )
    for test in tests:
        match = next((v for v in voices if test(v)), None)
        if match is not None:
            return match.id + plus + variant
    examples = ", ".join(v.id for v in voices[:6])
    raise ValueError(
        f"no pyttsx3 voice matches {wanted!r}; use an id or part of a name from "
        f"Pyttsx3TTS.voices() (e.g. {examples}), optionally with an espeak variant "
        "such as 'en-us+f3'"
    )


def _wait_for_wav(path: Path, timeout: float) -> None:
    """Block until ``path`` is a complete RIFF file (runAndWait may return before that)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with path.open("rb") as f:
                header = f.read(8)
            size = path.stat().st_size
            complete = len(header) == 8 and header[:4] == b"RIFF" and size > 44
            if complete and struct.unpack("<I", header[4:])[0] + 8 == size:
                return
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"pyttsx3 wrote no complete WAV to {path} within {timeout:.0f} s; check that "
                "espeak-ng works (`espeak-ng -w /tmp/t.wav hello`), or try another voice"
            )
        time.sleep(0.002)


def _read_wav(path: Path) -> AudioClip:
    from voxfsm.io.audio.files import read_audio

    samples, rate = read_audio(path, sample_rate=None)
    return AudioClip(samples=samples, sample_rate=rate)


class Pyttsx3TTS:
    """Offline TTS through pyttsx3 (espeak-ng voices on Linux).

    ``voice`` is a voice id (``"gmw/en-us"``), a name (``"English (America)"``) or a part
    of either, with an optional espeak variant: ``"en-us+f3"`` is a female US voice.
    ``rate`` is in words per minute (espeak's default is 200), ``volume`` in [0, 1].
    Every instance keeps its own settings, so each agent can sound different.
    """

    plugin_kind = "tts"
    """What a plugin string naming this provider must be used for."""

    provider = "pyttsx3"

    def __init__(
        self, voice: str | None = None, rate: int | None = None, *, volume: float | None = None
    ) -> None:
        self.voice = voice
        self.rate = rate
        self.volume = volume
        self._voice_id: str | None = None

    def __repr__(self) -> str:
        return f"Pyttsx3TTS(voice={self.voice!r}, rate={self.rate!r})"

    @classmethod
    def from_spec(cls, model: str | None, option: str | None) -> Pyttsx3TTS:
        """``pyttsx3``, ``pyttsx3:en-us+f3`` or ``pyttsx3/en-us+f3`` (the voice)."""
        return cls(voice=option or model or None)

    @staticmethod
    def voices() -> list[Voice]:
        """The installed voices (blocks briefly; runs on the pyttsx3 thread)."""
        return _pyttsx3_thread().submit(_list_voices).result()

    def _render(self, text: str) -> AudioClip:
        engine = _get_engine()
        if self.voice and self._voice_id is None:
            self._voice_id = _match_voice(self.voice, _list_voices())
        # the engine is shared: always set every property, or the last caller's stick
        engine.setProperty("voice", self._voice_id or _defaults["voice"])
        engine.setProperty("rate", self.rate or _defaults["rate"])
        engine.setProperty("volume", _defaults["volume"] if self.volume is None else self.volume)
        # espeak applies rate/volume asynchronously (its command queue) but synthesizes at
        # once in retrieval mode: without this barrier a call often gets the last caller's rate
        espeak = sys.modules.get("pyttsx3.drivers._espeak")
        if espeak is not None:
            espeak.Synchronize()
        with tempfile.TemporaryDirectory(prefix="voxfsm-tts-") as tmp:
            path = Path(tmp) / "speech.wav"
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            _wait_for_wav(path, timeout=5.0 + len(text) / 20)
            clip = _read_wav(path)
        # pyttsx3 never forgets the file: a later say() elsewhere would write into it
        driver = getattr(getattr(engine, "proxy", None), "_driver", None)
        if driver is not None and hasattr(driver, "_save_file"):
            driver._save_file = None
        return clip

    async def warm(self) -> None:
        """Start the engine and pick the voice now, so the first reply does not wait for it."""
        await self.synthesize("Ready.")

    async def synthesize(self, text: str) -> AudioClip:
        """Render ``text`` to audio on the pyttsx3 thread (typically 10-30 ms per sentence)."""
        if not text.strip():
            import numpy as np

            return AudioClip(samples=np.zeros(0, dtype=np.int16), sample_rate=22_050)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pyttsx3_thread(), self._render, text)
