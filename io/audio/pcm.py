"""PCM helpers shared by the audio edges: mono mixdown, resampling, cutting into frames."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    from voxfsm.io.tts.base import AudioClip

Frame = npt.NDArray[np.int16]
"""One block of int16 mono samples (an internal frame has ``FRAME_SAMPLES`` of them)."""


def soxr_module() -> ModuleType:
    try:
        import soxr
    except ImportError as exc:
        raise ImportError(
            "resampling needs soxr; run `pip install 'voxfsm[voice]'` or `pip install soxr`"
        ) from exc
    return soxr


def mono(block: npt.NDArray[Any]) -> Frame:
    """Mix (frames, channels) int16 down to 1-D without overflowing."""
    if block.ndim == 1:
        return block.astype(np.int16, copy=False)
    if block.shape[1] == 1:
        return block[:, 0].astype(np.int16, copy=False)
    return block.mean(axis=1).astype(np.int16)


def resample(samples: Frame, from_rate: int, to_rate: int) -> Frame:
    if from_rate == to_rate or samples.size == 0:
        return samples
    out: Frame = soxr_module().resample(samples, from_rate, to_rate)
    return out


class Framer:
    """Cuts a stream of arbitrary blocks into exact internal frames."""

    def __init__(self, from_rate: int = SAMPLE_RATE) -> None:
        # a stream resampler keeps filter state across blocks, so block edges make no clicks
        self._stream = (
            None
            if from_rate == SAMPLE_RATE
            else soxr_module().ResampleStream(from_rate, SAMPLE_RATE, 1, dtype="int16")
        )
        self._pending: Frame = np.zeros(0, np.int16)

    def push(self, block: Frame, *, last: bool = False) -> list[Frame]:
        if self._stream is not None:
            block = self._stream.resample_chunk(block, last=last)
        buf = np.concatenate((self._pending, block)) if self._pending.size else block
        count = buf.size // FRAME_SAMPLES
        frames = [buf[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].copy() for i in range(count)]
        self._pending = buf[count * FRAME_SAMPLES :].copy()
        if last and self._pending.size:
            tail = np.zeros(FRAME_SAMPLES, np.int16)
            tail[: self._pending.size] = self._pending
            frames.append(tail)
            self._pending = np.zeros(0, np.int16)
        return frames


def played_samples(clip: AudioClip, done_at_rate: int, rate: int) -> int:
    return min(len(clip.samples), round(done_at_rate * clip.sample_rate / rate))
