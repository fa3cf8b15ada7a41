"""One timeline for a whole call: who was heard when, and the mixed audio.

:class:`CallTimeline` holds the caller's and the agents' audio at their positions;
:class:`CallSink` is the agents' side of a :class:`~voxfsm.io.sim.caller.SimulatedCaller` call (an
:class:`~voxfsm.io.audio.AudioSink` that records every clip onto the timeline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from voxfsm.io.audio.files import write_wav
from voxfsm.io.audio.pcm import Frame, resample
from voxfsm.io.format import FRAME_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    from voxfsm.io.audio import AudioSink
    from voxfsm.io.tts.base import AudioClip

__all__ = ["CALLER", "CallSink", "CallTimeline", "Segment", "to_internal"]

CALLER = "caller"
"""The ``who`` of the caller's segments on a :class:`CallTimeline`."""


@attrs.define
class Segment:
    """Who was heard from ``start`` to ``end`` (seconds from the start of the call)."""

    who: str
    start: float
    end: float
    text: str = ""


class CallTimeline:
    """Caller and agent audio placed on one 16 kHz timeline; :meth:`mix` sums the parts."""

    def __init__(self) -> None:
        self.clock = 0
        """Samples of call time elapsed on the caller's side."""
        self.agent_end = 0
        """Where the last agent clip ended (samples)."""
        self.segments: list[Segment] = []
        self._parts: list[tuple[int, Frame]] = []

    def add(self, who: str, pos: int, samples: Frame, text: str = "") -> None:
        """Place ``samples`` (16 kHz int16 mono) at sample ``pos``."""
        if samples.size == 0:
            return
        self._parts.append((pos, samples))
        self.segments.append(
            Segment(who, pos / SAMPLE_RATE, (pos + samples.size) / SAMPLE_RATE, text)
        )

    @property
    def duration(self) -> float:
        """Seconds from the start of the call to the end of the last sound."""
        ends = [pos + s.size for pos, s in self._parts]
        return max([self.clock, *ends]) / SAMPLE_RATE

    def mix(self) -> Frame:
        """Everything heard, as one track (overlaps are summed and clipped)."""
        out = np.zeros(round(self.duration * SAMPLE_RATE), np.int32)
        for pos, samples in self._parts:
            out[pos : pos + samples.size] += samples
        return out.clip(-32768, 32767).astype(np.int16)

    def write(self, path: str | Path) -> None:
        """Write :meth:`mix` as a 16 kHz mono WAV."""
        write_wav(path, self.mix(), SAMPLE_RATE)


def to_internal(clip: AudioClip) -> Frame:
    """A clip's samples at the internal rate (16 kHz int16 mono)."""
    return resample(np.asarray(clip.samples, np.int16), clip.sample_rate, SAMPLE_RATE)


class CallSink:
    """The agents' side of a simulated call: records each clip onto ``timeline``.

    ``realtime=True`` makes a clip take its own duration (``stop()`` cuts it at the next
    20 ms step, as on a device); ``monitor`` additionally plays every clip on a real sink
    (e.g. :class:`~voxfsm.io.audio.devices.Speaker`), which then sets the pace. ``who`` names the
    speaker of each clip (by default the session's active agent).
    """

    def __init__(
        self,
        timeline: CallTimeline,
        *,
        who: Callable[[], str],
        realtime: bool = True,
        monitor: AudioSink | None = None,
    ) -> None:
        self.timeline = timeline
        self.realtime = realtime
        self.monitor = monitor
        self._who = who
        self._stops = 0
        self._lock = asyncio.Lock()

    async def play(self, clip: AudioClip) -> int:
        stops = self._stops
        async with self._lock:
            if stops != self._stops:
                return 0
            data = await asyncio.to_thread(to_internal, clip)
            t = self.timeline
            pos = max(t.clock, t.agent_end)
            if self.monitor is not None:
                played = round((await self.monitor.play(clip)) * SAMPLE_RATE / clip.sample_rate)
            elif self.realtime:
                played = await self._pace(data.size, stops)
            else:
                played = data.size
            played = min(played, data.size)
            t.add(self._who(), pos, data[:played])
            t.agent_end = pos + played
            return min(len(clip.samples), round(played * clip.sample_rate / SAMPLE_RATE))

    async def _pace(self, total: int, stops: int) -> int:
        loop = asyncio.get_running_loop()
        start, pos = loop.time(), 0
        while pos < total and stops == self._stops:
            pos = min(pos + FRAME_SAMPLES, total)
            delay = start + pos / SAMPLE_RATE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return pos

    def stop(self) -> None:
        self._stops += 1
        if self.monitor is not None:
            self.monitor.stop()

    async def aclose(self) -> None:
        if self.monitor is not None:
            await self.monitor.aclose()
