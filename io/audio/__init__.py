"""Audio in and out: the protocols every source and sink follows, and where to find them.

Sources yield int16 mono frames of ``FRAME_SAMPLES`` at ``SAMPLE_RATE``; sinks play
:class:`~voxfsm.io.tts.base.AudioClip` objects at any rate. Conversion happens at the edges,
so nothing else in ``voxfsm.io`` ever thinks about device rates or channel counts.

The implementations live in two modules and are re-exported here:

- :mod:`voxfsm.io.audio.devices`: :class:`Microphone`, :class:`Speaker`, :func:`list_devices`,
  :class:`AudioDeviceError` (sounddevice/PortAudio);
- :mod:`voxfsm.io.audio.files`: audio files through libsndfile (every WAV subtype, FLAC,
  OGG): :func:`read_audio`, :func:`write_audio`, :class:`WavSource`, :class:`WavSink`,
  :class:`AudioFileError`;
- :mod:`voxfsm.io.audio.pcm`: mono mix-down, resampling and framing helpers.

A simulated caller for spoken regression tests is :class:`voxfsm.io.sim.caller.SimulatedCaller`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from voxfsm.io.audio.devices import (
    AudioDeviceError,
    DeviceInfo,
    DeviceSpec,
    Microphone,
    Speaker,
    list_devices,
)
from voxfsm.io.audio.files import (
    AudioFileError,
    AudioFileSink,
    AudioFileSource,
    WavSink,
    WavSource,
    check_output_path,
    read_audio,
    read_wav,
    write_audio,
    write_wav,
)
from voxfsm.io.audio.pcm import Frame

if TYPE_CHECKING:
    from voxfsm.io.tts.base import AudioClip

__all__ = [
    "AudioDeviceError",
    "AudioFileError",
    "AudioFileSink",
    "AudioFileSource",
    "AudioSink",
    "AudioSource",
    "DeviceInfo",
    "DeviceSpec",
    "Frame",
    "Microphone",
    "Speaker",
    "WavSink",
    "WavSource",
    "check_output_path",
    "list_devices",
    "read_audio",
    "read_wav",
    "write_audio",
    "write_wav",
]


@runtime_checkable
class AudioSource(Protocol):
    """Audio coming in: async iteration yields int16 mono frames in the internal format."""

    def __aiter__(self) -> AsyncIterator[Frame]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class AudioSink(Protocol):
    """Audio going out, one clip at a time, interruptible."""

    async def play(self, clip: AudioClip) -> int:
        """Play ``clip``; return how many of its samples were played (fewer when stopped)."""
        ...

    def stop(self) -> None:
        """Cut the clip playing now (within one frame) and any ``play`` still waiting."""
        ...

    async def aclose(self) -> None: ...
