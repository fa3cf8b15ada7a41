"""``utils.audio``: audio files as a stream of frames (LiveKit's ``audio_frames_from_file``).

The agent layer reads no audio formats itself: 16-bit PCM WAV files are read with the
standard library; any other format needs the voice extra's reader
(``voxfsm.io.audio.read_audio``).  Each frame is the raw PCM ``bytes`` of ``frame_ms``
milliseconds, with its rate and channel count.
"""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import attrs


@attrs.frozen
class AudioFrame:
    """A chunk of 16-bit PCM audio."""

    data: bytes
    sample_rate: int
    num_channels: int

    @property
    def samples_per_channel(self) -> int:
        return len(self.data) // (2 * self.num_channels)


async def audio_frames_from_file(
    file_path: str | Path, *, frame_ms: int = 20, **_: object
) -> AsyncIterator[AudioFrame]:
    """The frames of a 16-bit PCM WAV file, ``frame_ms`` long each (the last may be shorter).

    Raises ``ValueError`` naming the file for anything that is not 16-bit PCM WAV."""
    path = Path(file_path)
    try:
        reader = wave.open(str(path), "rb")  # noqa: SIM115 - closed by the with below
    except (wave.Error, EOFError) as exc:
        raise ValueError(
            f"{path}: not a 16-bit PCM WAV file ({exc}); convert it, e.g. "
            f"`sox {path.name} -b 16 out.wav`, or read it with voxfsm.io.audio.read_audio"
        ) from None
    with reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * reader.getsampwidth()}-bit samples; 16-bit needed")
        rate, channels = reader.getframerate(), reader.getnchannels()
        step = max(1, rate * frame_ms // 1000)
        while chunk := reader.readframes(step):
            yield AudioFrame(chunk, rate, channels)
