"""WAV files as audio edges: read_wav, write_wav, WavSource and WavSink.

``WavSource`` plays a file into the loop like a microphone (optionally in real time);
``WavSink`` records what the loop says, optionally on a real-time timeline so that the file
lines up with the input.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxfsm.io.audio.pcm import Frame, Framer, mono, played_samples, resample
from voxfsm.io.format import FRAME_MS, SAMPLE_RATE

if TYPE_CHECKING:
    from voxfsm.io.tts.base import AudioClip

__all__ = ["WavSink", "WavSource", "read_wav", "write_wav"]


def read_wav(path: str | Path, sample_rate: int | None = SAMPLE_RATE) -> tuple[Frame, int]:
    """Read a PCM WAV as int16 mono, resampled to ``sample_rate`` (``None``: keep its rate)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such WAV file: {path}")
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(
            f"{path} is not a PCM WAV file ({exc}); convert it, e.g. "
            f"`sox {path} -b 16 -c 1 -r 16000 out.wav`"
        ) from exc
    if width == 1:  # 8-bit WAV is unsigned
        data = (np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.int16)
    elif width == 4:
        data = (np.frombuffer(raw, "<i4") >> 16).astype(np.int16)
    else:
        raise ValueError(
            f"{path} has {8 * width}-bit samples; convert it with `sox {path} -b 16 out.wav`"
        )
    samples = mono(data.reshape(-1, channels))
    if sample_rate is None:
        return samples, rate
    return resample(samples, rate, sample_rate), sample_rate


def write_wav(path: str | Path, samples: Frame, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 mono ``samples`` as a 16-bit PCM WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.asarray(samples, "<i2").tobytes())


class WavSource:
    """Frames from a WAV file at any rate/channels; ``realtime=True`` paces them like a mic."""

    def __init__(self, path: str | Path, *, realtime: bool = False) -> None:
        self.path = Path(path)
        self.realtime = realtime
        if not self.path.is_file():
            raise FileNotFoundError(f"no such WAV file: {self.path}")

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        samples, _ = await asyncio.to_thread(read_wav, self.path)
        frames = Framer().push(samples, last=True)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, frame in enumerate(frames):
            if self.realtime:
                # absolute schedule: a late wake-up does not push every later frame back
                delay = start + (i + 1) * FRAME_MS / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield frame

    async def aclose(self) -> None:
        return None


class WavSink:
    """Records played clips to a WAV at ``sample_rate``.

    With ``realtime=True`` a clip takes its own duration to "play" (so ``stop()`` can cut it,
    like a speaker) and the time between clips is written as silence, so the file lines up
    with a real-time input. The file is written on ``aclose()``.
    """

    def __init__(
        self, path: str | Path, *, realtime: bool = False, sample_rate: int = SAMPLE_RATE
    ) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.sample_rate = sample_rate
        self._chunks: list[Frame] = []
        self._written = 0
        self._start = time.monotonic()
        self._stops = 0
        self._queue_lock = asyncio.Lock()

    @property
    def samples(self) -> Frame:
        """Everything recorded so far."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def _append(self, samples: Frame) -> None:
        self._chunks.append(samples)
        self._written += samples.size

    def _fill_gap(self) -> None:
        due = int((time.monotonic() - self._start) * self.sample_rate)
        if due > self._written:
            self._append(np.zeros(due - self._written, np.int16))

    async def play(self, clip: AudioClip) -> int:
        stops = self._stops
        async with self._queue_lock:
            if stops != self._stops:
                return 0
            data = clip.samples
            if clip.sample_rate != self.sample_rate:
                data = await asyncio.to_thread(resample, data, clip.sample_rate, self.sample_rate)
            if not self.realtime:
                self._append(data)
                return len(clip.samples)
            self._fill_gap()
            step = self.sample_rate * FRAME_MS // 1000
            loop = asyncio.get_running_loop()
            start, pos = loop.time(), 0
            while pos < data.size and stops == self._stops:
                self._append(data[pos : pos + step])
                pos = min(pos + step, data.size)
                delay = start + pos / self.sample_rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            return played_samples(clip, pos, self.sample_rate)

    def stop(self) -> None:
        self._stops += 1

    async def aclose(self) -> None:
        """Write the file (padded with silence up to now when real-time)."""
        if self.realtime:
            self._fill_gap()
        await asyncio.to_thread(write_wav, self.path, self.samples, self.sample_rate)

    async def __aenter__(self) -> WavSink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
