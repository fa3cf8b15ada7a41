"""Audio devices through sounddevice (PortAudio): :class:`Microphone` and :class:`Speaker`.

Both convert at the edge: the microphone yields internal frames (16 kHz int16 mono) whatever
the device's rate and channels; the speaker plays clips of any rate at the device's own rate.
When no device can be opened, :class:`AudioDeviceError` lists the devices there are and the
file/text alternatives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from voxfsm.io.audio._portaudio import (
    AudioDeviceError,
    DeviceInfo,
    DeviceSpec,
    list_devices,
    open_error,
    pick_format,
    resolve,
    sounddevice,
)
from voxfsm.io.audio.pcm import Frame, Framer, mono, played_samples, resample
from voxfsm.io.format import FRAME_MS, SAMPLE_RATE

if TYPE_CHECKING:
    from voxfsm.io.tts.base import AudioClip

__all__ = ["AudioDeviceError", "DeviceInfo", "DeviceSpec", "Microphone", "Speaker", "list_devices"]

logger = logging.getLogger(__name__)


class Microphone:
    """Frames from a sounddevice input; ``device`` is an index, a name (substring) or None."""

    def __init__(self, device: DeviceSpec = None, *, max_queued_frames: int = 500) -> None:
        self.device = device
        self.device_name: str | None = None
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._max_queued = max_queued_frames
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._framer: Framer | None = None
        self._channels = 1
        self._dropped = 0
        self._closed = False

    async def start(self) -> None:
        """Open the input stream (iteration does this on first use)."""
        if self._stream is not None:
            return
        sd = sounddevice()
        info = resolve(sd, self.device, "input")
        rate, self._channels = pick_format(sd, info, "input", SAMPLE_RATE)
        self._framer = Framer(rate)
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self.device_name = info.name

        def open_stream() -> Any:
            stream = sd.InputStream(
                device=info.index,
                samplerate=rate,
                channels=self._channels,
                dtype="int16",
                blocksize=rate * FRAME_MS // 1000,
                latency="low",
                callback=self._callback,
            )
            stream.start()
            return stream

        try:
            self._stream = await asyncio.to_thread(open_stream)
        except sd.PortAudioError as exc:
            raise open_error(exc, info, "input", sd) from exc
        logger.info("microphone %r open at %d Hz, %d channel(s)", info.name, rate, self._channels)

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # runs on a PortAudio thread: convert here, hand finished frames to the event loop
        assert self._framer is not None and self._loop is not None
        for frame in self._framer.push(mono(indata)):
            try:
                self._loop.call_soon_threadsafe(self._deliver, frame)
            except RuntimeError:  # the loop closed under us; nothing left to deliver to
                return

    def _deliver(self, frame: Frame) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._max_queued:
            self._queue.get_nowait()  # a consumer that fell behind loses the oldest audio
            self._dropped += 1
            if self._dropped % 50 == 1:
                logger.warning("microphone consumer too slow: %d frames dropped", self._dropped)
        self._queue.put_nowait(frame)

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        await self.start()
        while (frame := await self._queue.get()) is not None:
            yield frame

    async def aclose(self) -> None:
        """Close the stream; a pending iteration ends."""
        stream, self._stream = self._stream, None
        self._closed = True
        self._queue.put_nowait(None)
        if stream is not None:
            await asyncio.to_thread(stream.close)

    async def __aenter__(self) -> Microphone:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@attrs.define(eq=False)
class _Playout:
    """One clip on its way to a device; ``pos`` advances on the audio thread."""

    samples: Frame
    done: asyncio.Future[int]
    pos: int = 0

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(self.pos)


class Speaker:
    """Plays clips on a sounddevice output; ``stop()`` cuts playback at the next 20 ms block."""

    def __init__(self, device: DeviceSpec = None) -> None:
        self.device = device
        self.device_name: str | None = None
        self.sample_rate = SAMPLE_RATE
        self._channels = 1
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()  # guards _current between the loop and the audio thread
        self._current: _Playout | None = None
        self._queue_lock = asyncio.Lock()
        self._stops = 0

    @property
    def playing(self) -> bool:
        return self._current is not None

    async def start(self) -> None:
        """Open the output stream (the first ``play`` does this); it then idles on silence."""
        if self._stream is not None:
            return
        sd = sounddevice()
        info = resolve(sd, self.device, "output")
        # keep the device at its own rate; clips are resampled to it, whatever rate they come in
        self.sample_rate, self._channels = pick_format(
            sd, info, "output", int(info.default_samplerate)
        )
        self._loop = asyncio.get_running_loop()
        self.device_name = info.name

        def open_stream() -> Any:
            stream = sd.OutputStream(
                device=info.index,
                samplerate=self.sample_rate,
                channels=self._channels,
                dtype="int16",
                blocksize=self.sample_rate * FRAME_MS // 1000,
                latency="low",
                callback=self._callback,
            )
            stream.start()
            return stream

        try:
            self._stream = await asyncio.to_thread(open_stream)
        except sd.PortAudioError as exc:
            raise open_error(exc, info, "output", sd) from exc
        logger.info("speaker %r open at %d Hz", info.name, self.sample_rate)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        with self._lock:
            cur = self._current
            if cur is None:
                outdata.fill(0)
                return
            n = min(frames, cur.samples.size - cur.pos)
            outdata[:n] = cur.samples[cur.pos : cur.pos + n, None]
            outdata[n:] = 0
            cur.pos += n
            if cur.pos < cur.samples.size:
                return
            self._current = None
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop already closed
            self._loop.call_soon_threadsafe(cur.finish)

    async def play(self, clip: AudioClip) -> int:
        stops = self._stops
        async with self._queue_lock:
            if stops != self._stops:  # stop() came while this clip was waiting its turn
                return 0
            await self.start()
            data = clip.samples
            if clip.sample_rate != self.sample_rate:
                # long clips resample in a thread: ~1 ms per second of audio is still a stall
                data = await asyncio.to_thread(resample, data, clip.sample_rate, self.sample_rate)
            assert self._loop is not None
            playout = _Playout(np.ascontiguousarray(data, np.int16), self._loop.create_future())
            with self._lock:
                self._current = playout
            try:
                done = await playout.done
            except asyncio.CancelledError:
                self._cut(playout)
                raise
            if done == playout.samples.size and self._stream is not None:
                # the last block is still in the device buffer; return when it has been heard
                await asyncio.sleep(float(self._stream.latency))
            return played_samples(clip, done, self.sample_rate)

    def _cut(self, playout: _Playout) -> None:
        with self._lock:
            if self._current is playout:
                self._current = None
        playout.finish()

    def stop(self) -> None:
        self._stops += 1
        with self._lock:
            cur, self._current = self._current, None
        if cur is not None:
            cur.finish()

    async def aclose(self) -> None:
        self.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)

    async def __aenter__(self) -> Speaker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
