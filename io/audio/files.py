"""Audio files as audio edges: :func:`read_audio`, :func:`write_audio`, WavSource and WavSink.

Files go through libsndfile (the ``soundfile`` package): every WAV subtype (8/16/24/32-bit
integer, float, A-law/µ-law, WAVE_FORMAT_EXTENSIBLE), FLAC, OGG/Vorbis, AIFF and whatever
else the installed libsndfile reads; any sample rate and channel count is down-mixed and
resampled (soxr) to the internal format. Output is 16-bit WAV, FLAC or OGG/Vorbis, picked by
the suffix.

A header is checked before any sample is read: an implausible sample rate or channel count,
or a duration over ``max_seconds``, is refused, so a small file whose header claims hours of
audio cannot make the reader allocate gigabytes. Every problem is one
:class:`AudioFileError` whose message names the file once, says what is wrong and how to fix
it.

``WavSource`` plays a file into the loop like a microphone (optionally in real time);
``WavSink`` records what the loop says, optionally on a real-time timeline so that the file
lines up with the input. Despite the names, both take any of the formats above.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from voxfsm.io._paths import writable_problem
from voxfsm.io.audio.pcm import Frame, Framer, played_samples, resample
from voxfsm.io.format import FRAME_MS, SAMPLE_RATE

if TYPE_CHECKING:
    from voxfsm.io.tts.base import AudioClip

__all__ = [
    "MAX_SECONDS",
    "OUTPUT_SUFFIXES",
    "AudioFileError",
    "AudioFileSink",
    "AudioFileSource",
    "WavSink",
    "WavSource",
    "check_output_path",
    "read_audio",
    "read_wav",
    "write_audio",
    "write_wav",
]

MAX_SECONDS = 3600.0
"""Longest audio file read by default (one hour); pass ``max_seconds`` to read longer ones."""

MIN_RATE, MAX_RATE = 1000, 768_000
"""Sample rates outside this range are taken for a broken header."""

MAX_CHANNELS = 64

OUTPUT_SUFFIXES: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}
"""Suffix → (libsndfile format, subtype) of the files :func:`write_audio` writes."""

_CONVERT_HINT = "convert it, e.g. `sox {path} -r 16000 -c 1 -b 16 converted.wav`"


class AudioFileError(ValueError):
    """An audio file cannot be read or written; the message names the file and the fix."""


def _soundfile() -> ModuleType:
    try:
        import soundfile
    except (ImportError, OSError) as exc:  # OSError: the package is there, libsndfile is not
        raise ImportError(
            f"audio files need soundfile and libsndfile ({exc}); run "
            "`pip install 'voxfsm[voice]'` (on Debian/Ubuntu also `apt install libsndfile1`)"
        ) from exc
    return soundfile


def _reason(exc: BaseException, path: Path) -> str:
    """libsndfile's own words without the path it repeats ("Error opening 'x.wav': ...")."""
    text = str(getattr(exc, "error_string", "") or exc)
    text = text.replace(f"Error opening {str(path)!r}: ", "").replace(str(path), "the file")
    return text.strip().rstrip(".") or type(exc).__name__


def _open_checked(path: Path, max_seconds: float | None) -> Any:
    """An open ``SoundFile`` whose header passed the plausibility checks."""
    sf = _soundfile()
    if not path.is_file():
        raise AudioFileError(f"{path}: no such audio file")
    try:
        handle = sf.SoundFile(str(path))
    except Exception as exc:  # LibsndfileError, RuntimeError, TypeError from odd headers
        raise AudioFileError(
            f"{path}: not an audio file this libsndfile can read ({_reason(exc, path)}); "
            + _CONVERT_HINT.format(path=path)
        ) from None
    try:
        _check_header(path, handle, max_seconds)
    except BaseException:
        handle.close()
        raise
    return handle


def _check_header(path: Path, handle: Any, max_seconds: float | None) -> None:
    rate, channels, frames = int(handle.samplerate), int(handle.channels), int(handle.frames)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFileError(
            f"{path}: its header says {rate} Hz, which no recording uses (the header is "
            f"probably broken); " + _CONVERT_HINT.format(path=path)
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(
            f"{path}: its header says {channels} channels (at most {MAX_CHANNELS} are read); "
            + _CONVERT_HINT.format(path=path)
        )
    seconds = frames / rate
    if max_seconds is not None and seconds > max_seconds:
        raise AudioFileError(
            f"{path}: {seconds:.0f} s of audio is longer than the {max_seconds:.0f} s limit "
            "(pass max_seconds= to read longer files, or cut it with "
            f"`sox {path} part.wav trim 0 {int(max_seconds)}`)"
        )
    # an uncompressed file cannot hold more samples than it has bytes for
    width = {
        "PCM_S8": 1,
        "PCM_U8": 1,
        "PCM_16": 2,
        "PCM_24": 3,
        "PCM_32": 4,
        "FLOAT": 4,
        "DOUBLE": 8,
    }
    size = (
        width.get(str(handle.subtype)) if handle.format in ("WAV", "WAVEX", "AIFF", "RAW") else None
    )
    if size is not None and frames * channels * size > path.stat().st_size + 4096:
        raise AudioFileError(
            f"{path}: the header promises {frames * channels * size} bytes of audio but the "
            f"file has {path.stat().st_size}; it is truncated or its header is broken"
        )


def read_audio(
    path: str | Path,
    sample_rate: int | None = SAMPLE_RATE,
    *,
    max_seconds: float | None = MAX_SECONDS,
) -> tuple[Frame, int]:
    """Read an audio file as int16 mono, resampled to ``sample_rate`` (``None``: keep its rate).

    Returns ``(samples, rate)``. Raises :class:`AudioFileError` for a missing, unreadable or
    implausible file (see the module docs), before reading any sample.
    """
    path = Path(path)
    with _open_checked(path, max_seconds) as handle:
        rate, channels = int(handle.samplerate), int(handle.channels)
        parts: list[Frame] = []
        filled = 0
        try:
            # float blocks, so no subtype wraps around; mixed down block by block, so a
            # many-channel file never sits in memory with all its channels; memory grows with
            # the samples actually there, never with what the header claims
            for block in handle.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                mixed = block.mean(axis=1) if channels > 1 else block[:, 0]
                parts.append((np.clip(mixed, -1.0, 32767 / 32768) * 32768).astype(np.int16))
                filled += mixed.size
        except Exception as exc:
            raise AudioFileError(
                f"{path}: reading failed after {filled / rate:.1f} s ({_reason(exc, path)}); "
                "the file is probably damaged"
            ) from None
    samples = np.concatenate(parts) if parts else np.zeros(0, np.int16)
    if sample_rate is None:
        return samples, rate
    return resample(samples, rate, sample_rate), sample_rate


def read_wav(
    path: str | Path,
    sample_rate: int | None = SAMPLE_RATE,
    *,
    max_seconds: float | None = MAX_SECONDS,
) -> tuple[Frame, int]:
    """Same as :func:`read_audio` (kept under its old name; any format is read)."""
    return read_audio(path, sample_rate, max_seconds=max_seconds)


def check_output_path(path: str | Path) -> Path:
    """Make sure ``path`` can be written *before* recording into it.

    The suffix must be one of :data:`OUTPUT_SUFFIXES`, the folder must exist (it is not
    created) and be writable. Returns the path; raises :class:`AudioFileError` otherwise.
    """
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise AudioFileError(
            f"{path}: cannot write {path.suffix or 'files without a suffix'}; use one of "
            + ", ".join(OUTPUT_SUFFIXES)
        )
    return check_writable(path)


def check_writable(path: str | Path) -> Path:
    """``path`` is not a folder, its folder exists and a file can be created there."""
    problem = writable_problem(path)
    if problem is not None:
        raise AudioFileError(f"{path}: {problem}")
    return Path(path)


def write_audio(path: str | Path, samples: Frame, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 mono ``samples``: 16-bit WAV, FLAC or OGG/Vorbis by the suffix of ``path``.

    The file appears whole or not at all (written next to it, then renamed), so an
    interrupted write never leaves half a file under the final name.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        check_output_path(path)  # raises, naming the suffixes there are
    fmt, subtype = OUTPUT_SUFFIXES[suffix]
    sf = _soundfile()
    data = np.asarray(samples, np.int16)
    tmp = path.with_name(f".{path.name}.part")
    try:
        sf.write(str(tmp), data, sample_rate, format=fmt, subtype=subtype)
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else _reason(exc, tmp)
        raise AudioFileError(f"{path}: could not be written ({reason})") from None


def write_wav(path: str | Path, samples: Frame, sample_rate: int = SAMPLE_RATE) -> None:
    """Same as :func:`write_audio` (kept under its old name; the suffix picks the format)."""
    write_audio(path, samples, sample_rate)


class WavSource:
    """Frames from an audio file (any format, rate, channels); ``realtime=True`` paces them
    like a microphone. The file is checked when the source is made, so a bad file is
    reported before a conversation starts."""

    def __init__(
        self, path: str | Path, *, realtime: bool = False, max_seconds: float | None = MAX_SECONDS
    ) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.max_seconds = max_seconds
        _open_checked(self.path, max_seconds).close()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        samples, _ = await asyncio.to_thread(read_audio, self.path, max_seconds=self.max_seconds)
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


AudioFileSource = WavSource
"""The same class under a name that says it reads any audio file."""


class WavSink:
    """Records played clips to an audio file at ``sample_rate`` (WAV, FLAC or OGG by suffix).

    With ``realtime=True`` a clip takes its own duration to "play" (so ``stop()`` can cut it,
    like a speaker) and the time between clips is written as silence, so the file lines up
    with a real-time input. The file is written on ``aclose()``.
    """

    def __init__(
        self, path: str | Path, *, realtime: bool = False, sample_rate: int = SAMPLE_RATE
    ) -> None:
        self.path = check_output_path(path)
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
        await asyncio.to_thread(write_audio, self.path, self.samples, self.sample_rate)

    async def __aenter__(self) -> WavSink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


AudioFileSink = WavSink
"""The same class under a name that says it writes any supported audio format."""
