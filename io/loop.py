"""The voice loop: audio in → VAD/endpointing → STT → ``AgentSession`` turn → TTS → audio out.

The listening half lives in :mod:`voxfsm.io.recognition`, the speaking half in
:mod:`voxfsm.io.playout`; this module runs them together and turns utterances into turns.

``VoiceLoop`` drives a session by voice. It installs itself as ``session.output`` so every
assistant reply streams through :meth:`VoiceLoop.speak`, sentence by sentence (the first
sentence plays while the LLM is still writing the rest), and it listens the whole time so
the user can cut in: speech during playout stops the audio within one frame and calls
``session.interrupt()``. Per-turn latencies go out as ``metrics_collected`` events.

Faults never take the session down with them; each one gives a single ``error`` event
(``ErrorEvent(error, source)``) and the history stays consistent:

- ``source="stt"``: the recognizer raised (:class:`SpeechRecognitionError`). That utterance
  is dropped, the broken stream is closed and the next utterance gets a fresh one.
- ``source="tts"``: the voice could not say a sentence (:class:`SpeechSynthesisError`). The
  sentences before it are played and nothing after it; the reply is recorded with
  ``interrupted=True`` and holds the words that were played, or, when nothing could be
  played at all, the reply's full text (so a turn is never lost from the history).
- ``source="audio_input"`` / ``"audio_output"``: the microphone or speaker failed (unplugged,
  PortAudio error): an :class:`~voxfsm.io.audio.AudioDeviceError` naming the device and
  suggesting ``voxfsm console --list-devices``. Playback stops, turns already under way
  finish as text, and :meth:`VoiceLoop.run` raises that error.
- A failed turn (e.g. the LLM broke off mid-reply): ``source="voice_loop"``; the words
  already spoken are recorded (by the session) and the loop keeps listening.

Cancelling :meth:`VoiceLoop.run` (Ctrl-C) stops playback at once; the speech in progress
is recorded as interrupted, and ``session.aclose()`` finishes the rest.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from voxfsm.agents import Agent, AgentSession, ErrorEvent, MetricsEvent, UserInputTranscribedEvent
from voxfsm.io._nodes import NodeRecognition
from voxfsm.io._voice import (
    SpeechRecognitionError,
    SpeechSynthesisError,
    TurnMetrics,
    VoiceLoopError,
)
from voxfsm.io.audio import AudioDeviceError, AudioSink, AudioSource
from voxfsm.io.playout import Playout
from voxfsm.io.recognition import CommitCounter, Recognition
from voxfsm.io.sentences import split_sentences
from voxfsm.io.vad import Endpointer, WebRtcVAD

__all__ = [
    "SpeechRecognitionError",
    "SpeechSynthesisError",
    "TurnMetrics",
    "VoiceLoop",
    "VoiceLoopError",
    "split_sentences",
]

logger = logging.getLogger(__name__)


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)


class VoiceLoop(Recognition, Playout):
    """Runs ``session`` on ``source``/``sink`` until the source ends (or the task is cancelled).

    ``stt``/``tts``/``vad`` fill in for plugins the session leaves unset (``None``); an agent's
    own override (``Agent(stt=...)``) wins while that agent is active. Without any VAD the
    built-in :class:`WebRtcVAD` is used. ``min_interruption_ms`` of user speech during playout
    counts as a barge-in (shorter sounds, e.g. a cough, do not cut the agent off).

    ``speculate_ms`` (off by default) is for batch recognizers such as ``WhisperSTT``, which
    only start decoding when the utterance is over: after that much silence inside an
    utterance the loop already decodes it with ``stt.transcribe()``, and when the endpoint
    confirms the silence, that result is used instead of decoding again (speech in between
    discards it). It saves most of the decode time on every turn; use it only with engines
    whose ``transcribe()`` has no side effects (not ``ScriptedSTT``).

    Turn-taking (see :mod:`voxfsm.io._early`): a turn ends after ``end_silence_ms`` of
    silence (default: the session's ``min_endpointing_delay``, else 600). With
    ``min_end_silence_ms`` set, endpointing is adaptive: that shorter silence ends a turn
    whose early transcript reads as a finished sentence, ``max_end_silence_ms`` (default:
    ``max_endpointing_delay``, else 3 × ``end_silence_ms``) one that trails off, and
    ``end_silence_ms`` one with no transcript yet. ``preemptive`` (default: the session's
    ``preemptive_generation``) asks for the reply and synthesizes its first sentence on the
    early transcript, before the turn is confirmed; speech that resumes cancels them and a
    different final transcript does not use them, so the history only ever holds the
    confirmed turn. ``warm_up`` loads the speech engines and runs each once before listening.

    Pipeline nodes: the loop calls the active agent's ``stt_node`` (once per utterance) and
    ``tts_node`` (once per reply) when it overrides them (see :mod:`voxfsm.agents.nodes`);
    ``node_timeout_s`` bounds how long an ``stt_node`` may take after the utterance ended.

    There is no echo cancellation here: on a laptop whose microphone hears its own speakers,
    the agent would interrupt itself. Use a headset, or let the sound server cancel the echo
    (PulseAudio/PipeWire: ``pactl load-module module-echo-cancel``, then pick the
    ``echo-cancel`` devices with ``--input-device``/``--output-device``).
    """

    def __init__(
        self,
        session: AgentSession[Any],
        *,
        source: AudioSource,
        sink: AudioSink,
        stt: Any = None,
        tts: Any = None,
        vad: Any = None,
        min_speech_ms: int = 100,
        end_silence_ms: int | None = None,
        preroll_ms: int = 300,
        min_interruption_ms: int | None = None,
        speculate_ms: int | None = None,
        node_timeout_s: float = 30.0,
        min_end_silence_ms: int | None = None,
        max_end_silence_ms: int | None = None,
        preemptive: bool | None = None,
        warm_up: bool = True,
    ) -> None:
        self.session = session
        self.source = source
        self.sink = sink
        self._defaults = {"stt": stt, "tts": tts, "vad": vad}
        # LiveKit's turn options given to the session fill in what is not passed here
        options = session.options
        self.end_silence_ms = _first(end_silence_ms, options.end_silence_ms, 600)
        self.min_end_silence_ms = min_end_silence_ms
        self.max_end_silence_ms = _first(
            max_end_silence_ms, options.max_end_silence_ms, 3 * self.end_silence_ms
        )
        self.preemptive = bool(_first(preemptive, options.preemptive_generation, False))
        self.warm_up = warm_up
        self._endpointing = {
            "min_speech_ms": min_speech_ms,
            # adaptive: the endpointer itself only ends a turn that trails off
            "end_silence_ms": (
                self.end_silence_ms if min_end_silence_ms is None else self.max_end_silence_ms
            ),
            "preroll_ms": preroll_ms,
        }
        self.min_interruption_ms = _first(min_interruption_ms, options.min_interruption_ms, 300)
        self.speculate_ms = speculate_ms
        self.node_timeout_s = node_timeout_s
        self._node_utterance: NodeRecognition | None = None
        self._fed, self._voiced_end, self._opened, self._closed_stt = 0, 0, 0, 0
        self._partial: tuple[str, int] = ("", 0)
        self._preempted: tuple[Agent, str] | None = None
        self._presynth: tuple[Any, str, asyncio.Task[Any]] | None = None
        self._utterance: list[bytes] = []  # audio of the open utterance, as sent to the STT
        self._silent_ms = 0  # trailing silence in the open utterance
        self._guess: asyncio.Task[str] | None = None  # speculative decode of the utterance
        self._guesses: dict[asyncio.Future[str], asyncio.Task[str]] = {}
        self._endpointer: Endpointer | None = None
        self._commits = CommitCounter()
        self._vad_key: tuple[int, Any] | None = None
        self._streams: dict[int, tuple[Any, Any]] = {}  # id(stt) -> (stt, its session stream)
        # audio and end-of-utterance markers for the STT worker, in arrival order
        self._stt_items: collections.deque[bytes | asyncio.Future[str]] = collections.deque()
        self._stt_wake = asyncio.Event()
        self._finals: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._metrics: TurnMetrics | None = None
        self._speaking = False
        self._barged_in = False
        self._synth: asyncio.Task[None] | None = None
        self._stt_broken = False  # the open utterance's recognizer failed: drop its audio
        self._silenced = False  # playback stopped for good (run() ending or a dead device)
        self._fatal: AudioDeviceError | None = None
        self._stopped = asyncio.Event()
        self.level_dbfs = -96.0
        """Loudness of the latest input frame (for level meters)."""
        self.user_speaking = False
        self.agent_speaking = False
        self.speaking_agent: Agent | None = None
        """The agent whose words are playing now (None when silent), for sinks that label audio."""

    # ------------------------------------------------------------------ plugins

    def plugin(self, kind: str, agent: Agent | None = None) -> Any:
        """The stt/tts/vad in force for ``agent``: its own, the session's, else the loop's."""
        try:
            found = self.session.effective_plugin(kind, agent)
        except RuntimeError:
            found = None
        if found is None and getattr(self.session, kind) is None:
            found = self._defaults[kind]
        if found is None and kind == "vad":
            found = self._defaults["vad"] = WebRtcVAD()
        return found

    def _current_agent(self) -> Agent | None:
        try:
            return self.session.current_agent
        except RuntimeError:
            return None

    # ------------------------------------------------------------------ running

    async def run(self, agent: Agent | None = None) -> None:
        """Start the session (with ``agent``, unless already started) and converse until the
        source ends; then finish pending turns and playout."""
        self.session.output = self
        self.session.add_listener(self._commits)
        self._silenced, self._fatal = False, None
        self._stopped.clear()
        if self.warm_up:
            await self._warm_up(agent or self._current_agent())
        stt_worker = self._spawn(self._stt_worker())
        listener = self._spawn(self._listen())
        try:
            if agent is not None or self._current_agent() is None:
                await self.session.start(agent)
            stopped = asyncio.ensure_future(self._stopped.wait())
            try:
                await asyncio.wait({listener, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
            if self._fatal is None:
                await listener
            else:
                listener.cancel()
            # turns under way finish (as text only when the speaker is gone)
            while pending := [t for t in self._tasks if t is not stt_worker and not t.done()]:
                await asyncio.gather(*pending, return_exceptions=True)
            if self._fatal is not None:
                raise self._fatal
        finally:
            self._silence()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for _, stream in self._streams.values():
                await asyncio.to_thread(stream.close)
            self._streams.clear()
            self.session.remove_listener(self._commits)
            if self.session.output is self:
                self.session.output = None

    async def _warm_up(self, agent: Agent | None) -> None:
        """Load the speech engines and run each once before listening, so the first turn
        is as quick as the others (a model load or a first decode costs up to seconds)."""
        stt, tts = self.plugin("stt", agent), self.plugin("tts", agent)
        jobs = [
            getattr(stt, "warm", None) or getattr(stt, "prepare", None),
            getattr(tts, "warm", None) or getattr(tts, "prepare", None),
        ]
        started = asyncio.get_running_loop().time()
        for result in await asyncio.gather(
            *(job() for job in jobs if job is not None), return_exceptions=True
        ):
            if isinstance(result, Exception):  # the first turn will report it properly
                logger.debug("warming up a speech engine failed: %s", result)
        logger.debug(
            "speech engines warm in %.0f ms", (asyncio.get_running_loop().time() - started) * 1e3
        )

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _silence(self) -> None:
        """Stop playback for good: the clip playing now and everything queued after it."""
        self._silenced = True
        self.sink.stop()
        if self._synth is not None:
            self._synth.cancel()

    def _fail(self, error: AudioDeviceError, source: str) -> None:
        """A device is gone: report it once, stop playing, and make ``run()`` end."""
        if self._fatal is not None:
            return
        self._fatal = error
        logger.error("%s", error)
        self.session.emit("error", ErrorEvent(error, source))
        self._silence()
        self._stopped.set()

    async def _user_turn(self, done: asyncio.Future[str], metrics: TurnMetrics) -> None:
        text = await done
        loop = asyncio.get_running_loop()
        metrics.mark("stt_final", loop.time())
        self._end_preemption(used=bool(text.strip()))
        if not text.strip():
            logger.info("utterance with no words recognised; ignored")
            return
        self.session.emit("user_input_transcribed", UserInputTranscribedEvent(text, True))
        self._metrics = metrics
        try:
            await self.session.run(user_input=text)
        except Exception as exc:
            logger.error("turn failed: %s", exc)
            self.session.emit("error", ErrorEvent(exc, "voice_loop"))
        finally:
            metrics.mark("turn_done", loop.time())
            if self._metrics is metrics:
                self._metrics = None
            self.session.emit("metrics_collected", MetricsEvent("voice_turn", metrics.values))
            logger.info(
                "turn latencies (ms after end of speech): %s",
                ", ".join(f"{k[:-3]}={v:.0f}" for k, v in metrics.values.items()),
            )
