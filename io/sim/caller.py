"""A simulated caller: an :class:`~voxfsm.io.audio.AudioSource` that phones a session by voice.

Use it for spoken regression tests of your own workflow, with no microphone and no person::

    caller = SimulatedCaller(session, ["I'd like to book a table.", "Friday at 7pm."])
    await caller.prepare()                      # synthesize every line up front
    loop = VoiceLoop(session, source=caller, sink=caller.sink(), stt=WhisperSTT())
    await loop.run(MyEntryAgent())
    for turn in caller.turns:
        print(turn.text, "→ heard as", turn.heard)
    caller.timeline.write("call.wav")           # caller and agents on one timeline

Turn-taking: the caller says its first line once the agent's greeting is over, and every
later line only when the agent has finished answering the previous one (the session has
finished a turn since the caller stopped, is idle again and stays idle for ``reply_gap_ms``).
When nothing happens for ``patience_s`` (the loop heard no words, say), the line is said again,
up to ``max_repeats`` times. After the last line and the agent's answer, the caller hangs up
(the source ends) and :meth:`VoiceLoop.run <voxfsm.io.loop.VoiceLoop.run>` returns.

``realtime=True`` paces frames like a microphone (silence between lines, so the agent's
speaking time passes too); ``realtime=False`` feeds each line as fast as the loop takes it and
sends nothing while the agent works, which keeps the recorded timeline gap-free but skips the
waiting. :meth:`sink` gives the matching agent side, which records every clip the agents play
onto the same :class:`CallTimeline` (and, optionally, also plays it on a real device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Sequence
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from voxfsm.io.audio.pcm import Frame, Framer
from voxfsm.io.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from voxfsm.io.sim.timeline import CALLER, CallSink, CallTimeline, Segment, to_internal

if TYPE_CHECKING:
    from voxfsm.agents import AgentSession
    from voxfsm.io.audio import AudioSink
    from voxfsm.io.tts.base import AudioClip

__all__ = [
    "CALLER",
    "CallSink",
    "CallTimeline",
    "CallerTurn",
    "Segment",
    "SimulatedCaller",
    "similarity",
]

logger = logging.getLogger(__name__)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def similarity(said: str, heard: str) -> float:
    """How close two transcripts are, in [0, 1], ignoring case, spacing and punctuation.

    Letters and digits only, so "takeaway" and "take away", or "12/28" and "12-28", count as
    the same; 1.0 means identical.
    """
    a, b = _letters(said), _letters(heard)
    if not a and not b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@attrs.define
class CallerTurn:
    """One line of the caller: what it said, what speech recognition made of it, and when."""

    text: str
    start: float
    end: float
    heard: str = ""
    repeats: int = 0

    @property
    def similarity(self) -> float:
        """How close ``heard`` is to ``text`` (see :func:`similarity`)."""
        return similarity(self.text, self.heard)


class SimulatedCaller:
    """Speaks ``lines`` into a voice loop, one per agent turn, in its own voice.

    ``tts`` is the caller's voice (default: :class:`~voxfsm.io.tts.PiperTTS` ``en-joe``, so it
    sounds unlike the espeak voices agents get by default). See the module docs for the
    turn-taking rules and an example.
    """

    def __init__(
        self,
        session: AgentSession[Any],
        lines: Sequence[str],
        *,
        tts: Any = None,
        realtime: bool = True,
        reply_gap_ms: int = 400,
        tail_silence_ms: int = 1200,
        patience_s: float = 30.0,
        max_repeats: int = 1,
        timeline: CallTimeline | None = None,
        monitor: AudioSink | None = None,
    ) -> None:
        if not lines:
            raise ValueError("a SimulatedCaller needs at least one line to say")
        self.session = session
        self.lines = list(lines)
        self.realtime = realtime
        self.reply_gap_ms = reply_gap_ms
        self.tail_silence_ms = tail_silence_ms
        self.patience_s = patience_s
        self.max_repeats = max_repeats
        self.timeline = timeline or CallTimeline()
        self.monitor = monitor
        self.turns: list[CallerTurn] = []
        """One entry per line said (a repeated line is one turn with ``repeats`` > 0)."""
        self._tts = tts
        self._audio: list[Frame] = []
        self._clips: list[AudioClip] = []
        self._jobs_seen = 0
        self._user_speaking = False
        self._changed = asyncio.Event()
        self._sent = 0  # frames yielded (real-time pacing schedule)
        self._start = 0.0
        self._closed = False
        self._answered = True
        self._monitoring: asyncio.Task[int] | None = None
        session.on("session_idle", self._poke)
        session.on("user_state_changed", self._on_user_state)
        session.on("user_input_transcribed", self._on_transcript)

    # ------------------------------------------------------------------ set-up

    @property
    def tts(self) -> Any:
        if self._tts is None:
            from voxfsm.io.tts import PiperTTS

            self._tts = PiperTTS()
        return self._tts

    async def prepare(self) -> None:
        """Synthesize every line now (iteration does it otherwise, delaying the first line)."""
        if self._audio:
            return
        for line in self.lines:
            clip = await self.tts.synthesize(line)
            self._clips.append(clip)
            self._audio.append(await asyncio.to_thread(to_internal, clip))

    def sink(self, monitor: AudioSink | None = None) -> CallSink:
        """The agents' side of the call, recording onto the same timeline as the caller."""
        return CallSink(
            self.timeline,
            who=self._agent_id,
            realtime=self.realtime,
            monitor=monitor if monitor is not None else self.monitor,
        )

    def _agent_id(self) -> str:
        # the voice loop knows who is talking even while a handoff is committed mid-sentence
        speaking = getattr(self.session.output, "speaking_agent", None)
        if speaking is not None:
            return str(speaking.id)
        try:
            return str(self.session.current_agent.id)
        except RuntimeError:
            return "agent"

    # ------------------------------------------------------------------ session events

    def _poke(self, _: Any = None) -> None:
        self._changed.set()

    def _on_user_state(self, ev: Any) -> None:
        self._user_speaking = ev.new_state == "speaking"
        self._poke()

    def _on_transcript(self, ev: Any) -> None:
        if ev.is_final and self.turns and ev.transcript.strip():
            turn = self.turns[-1]
            turn.heard = f"{turn.heard} {ev.transcript}".strip()

    def _agent_done(self) -> bool:
        """The agent answered since the caller last spoke and nothing is running now."""
        s = self.session
        return s.jobs_done > self._jobs_seen and s.is_idle() and not self._user_speaking

    # ------------------------------------------------------------------ audio

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        await self.prepare()
        self._start = asyncio.get_running_loop().time()
        self._sent = 0
        silence = np.zeros(FRAME_SAMPLES, np.int16)
        index = 0
        while True:
            async for frame in self._wait_for_agent(silence):
                yield frame
            if self._closed:
                return
            last = self.turns[-1] if self.turns else None
            if not self._answered and last is not None and last.repeats < self.max_repeats:
                last.repeats += 1
                logger.warning("caller: no answer to %r; saying it again", last.text)
                async for frame in self._say(index - 1, silence, last):
                    yield frame
                continue
            if index == len(self.lines):
                break
            async for frame in self._say(index, silence, None):
                yield frame
            index += 1
        for _ in range(self.reply_gap_ms // FRAME_MS):  # a breath, then hang up
            yield await self._paced(silence)

    async def _say(
        self, index: int, silence: Frame, again: CallerTurn | None
    ) -> AsyncIterator[Frame]:
        line = self.lines[index]
        start = self.timeline.clock
        self._jobs_seen = self.session.jobs_done
        logger.info("caller says line %d: %s", index + 1, line)
        if self.monitor is not None:
            self._monitoring = asyncio.create_task(self.monitor.play(self._clips[index]))
        if again is None:
            self.turns.append(CallerTurn(line, start / SAMPLE_RATE, 0.0))
        for frame in Framer().push(self._audio[index], last=True):
            yield await self._paced(frame)
        turn = self.turns[-1]
        turn.end = self.timeline.clock / SAMPLE_RATE
        self.timeline.add(CALLER, start, self._audio[index], line)
        for _ in range(self.tail_silence_ms // FRAME_MS):
            yield await self._paced(silence)

    async def _paced(self, frame: Frame) -> Frame:
        self._sent += 1
        self.timeline.clock += frame.size
        if self.realtime:
            loop = asyncio.get_running_loop()
            delay = self._start + self._sent * FRAME_MS / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # a stalled event loop makes the frames late: the timeline follows the wall clock
            late = round((loop.time() - self._start) * SAMPLE_RATE) - FRAME_SAMPLES
            self.timeline.clock = max(self.timeline.clock, late)
        else:
            await asyncio.sleep(0)
        return frame

    async def _wait_for_agent(self, silence: Frame) -> AsyncIterator[Frame]:
        """Silence (real time) or nothing (fast) until the agent is done, plus the reply gap."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience_s
        quiet_since: float | None = None
        self._answered = True
        while not self._closed:
            now = loop.time()
            if self._agent_done():
                quiet_since = now if quiet_since is None else quiet_since
                if now - quiet_since >= self.reply_gap_ms / 1000:
                    break
            else:
                quiet_since = None
            if now >= deadline and self.session.is_idle():
                logger.warning("caller: no answer within %.0f s", self.patience_s)
                self._answered = False
                break
            if self.realtime:
                yield await self._paced(silence)
            else:
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), FRAME_MS / 1000)
        if not self.realtime:
            # no real time passed on the caller's side: jump past the agent, plus a breath
            gap = self.reply_gap_ms * SAMPLE_RATE // 1000
            self.timeline.clock = max(self.timeline.clock, self.timeline.agent_end) + gap

    async def aclose(self) -> None:
        """Hang up: a pending iteration ends."""
        self._closed = True
        self._poke()
        for event, callback in (
            ("session_idle", self._poke),
            ("user_state_changed", self._on_user_state),
            ("user_input_transcribed", self._on_transcript),
        ):
            self.session.off(event, callback)
