"""The voice loop: audio in → VAD/endpointing → STT → ``AgentSession`` turn → TTS → audio out.

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
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import attrs
import numpy as np

from voxfsm.agents import (
    Agent,
    AgentSession,
    ErrorEvent,
    MetricsEvent,
    PlayoutResult,
    ReplyBrokenOff,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from voxfsm.io.audio import AudioDeviceError, AudioSink, AudioSource, Frame
from voxfsm.io.format import FRAME_MS
from voxfsm.io.sentences import split_first_clause, split_sentences, spoken_part
from voxfsm.io.vad import Endpointer, EndpointEvent, WebRtcVAD

__all__ = [
    "SpeechRecognitionError",
    "SpeechSynthesisError",
    "TurnMetrics",
    "VoiceLoop",
    "VoiceLoopError",
    "split_sentences",
]

logger = logging.getLogger(__name__)

_DEVICE_HINT = (
    "check that it is still connected and working, or pick another one from "
    "`voxfsm console --list-devices` (then --input-device/--output-device)"
)


class VoiceLoopError(RuntimeError):
    """A speech engine failed; the voice loop reported it and carried on."""


class SpeechRecognitionError(VoiceLoopError):
    """The STT raised; the utterance it was decoding was dropped."""


class SpeechSynthesisError(VoiceLoopError):
    """The TTS raised; the rest of that reply was not spoken."""


def _describe(end: Any, kind: str) -> str:
    """``end`` as a user would recognise it: the device name, else the file, else the type."""
    name = getattr(end, "device_name", None) or getattr(end, "device", None)
    if name is not None:
        return f"the audio {kind} device {str(name)!r}"
    path = getattr(end, "path", None)
    if path is not None:
        return f"the audio {kind} file {str(path)!r}"
    return f"the audio {kind} ({type(end).__name__})"


@attrs.define
class TurnMetrics:
    """Milliseconds from the (estimated) end of the user's speech to each stage of a turn."""

    speech_end: float = attrs.field(repr=False)
    """Loop time when the user stopped speaking (endpoint time minus trailing silence)."""
    values: dict[str, float] = attrs.Factory(dict)

    def mark(self, stage: str, now: float) -> None:
        self.values.setdefault(f"{stage}_ms", round((now - self.speech_end) * 1000, 1))


class VoiceLoop:
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
        end_silence_ms: int = 600,
        preroll_ms: int = 300,
        min_interruption_ms: int = 300,
        speculate_ms: int | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.sink = sink
        self._defaults = {"stt": stt, "tts": tts, "vad": vad}
        self._endpointing = {
            "min_speech_ms": min_speech_ms,
            "end_silence_ms": end_silence_ms,
            "preroll_ms": preroll_ms,
        }
        self.min_interruption_ms = min_interruption_ms
        self.speculate_ms = speculate_ms
        self._utterance: list[bytes] = []  # audio of the open utterance, as sent to the STT
        self._silent_ms = 0  # trailing silence in the open utterance
        self._guess: asyncio.Task[str] | None = None  # speculative decode of the utterance
        self._guesses: dict[asyncio.Future[str], asyncio.Task[str]] = {}
        self._endpointer: Endpointer | None = None
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

    def _endpointer_for(self, agent: Agent | None) -> Endpointer:
        vad = self.plugin("vad", agent)
        ep = self._endpointer
        # a handoff may switch VADs; never swap in the middle of an utterance
        if ep is None or (ep.vad is not vad and not ep.in_speech):
            ep = self._endpointer = Endpointer(vad, **self._endpointing)
        return ep

    # ------------------------------------------------------------------ running

    async def run(self, agent: Agent | None = None) -> None:
        """Start the session (with ``agent``, unless already started) and converse until the
        source ends; then finish pending turns and playout."""
        self.session.output = self
        self._silenced, self._fatal = False, None
        self._stopped.clear()
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
            if self.session.output is self:
                self.session.output = None

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

    async def _listen(self) -> None:
        try:
            async for frame in self.source:
                self._on_frame(frame)
        except Exception as exc:  # PortAudioError is no OSError: any failure ends the input
            error = AudioDeviceError(
                f"{_describe(self.source, 'input')} failed: {exc}; {_DEVICE_HINT}"
            )
            error.__cause__ = exc
            self._fail(error, "audio_input")
            return
        ep = self._endpointer
        if ep is not None and (event := ep.flush()) is not None:
            self._on_event(event)

    def _on_frame(self, frame: Frame) -> None:
        rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
        self.level_dbfs = 20 * np.log10(max(rms, 1.0) / 32768)
        ep = self._endpointer_for(self._current_agent())
        was_open = ep.in_speech
        event = ep.push(frame)
        if was_open and ep.in_speech:
            self._to_stt(frame.tobytes())
            self._speculate(ep.last_is_speech)
        if event is not None:
            self._on_event(event)
        if self._speaking and ep.speech_ms >= self.min_interruption_ms:
            self._barge_in()

    def _on_event(self, event: EndpointEvent) -> None:
        loop = asyncio.get_running_loop()
        if event.type == "speech_started":
            self._set_user_state("speaking")
            self._utterance, self._silent_ms, self._guess = [], 0, None
            self._to_stt(event.pcm)
            return
        self._set_user_state("listening")
        metrics = TurnMetrics(loop.time() - event.trailing_silence_ms / 1000)
        metrics.mark("endpoint", loop.time())
        done: asyncio.Future[str] = loop.create_future()
        if self._guess is not None:
            self._guesses[done] = self._guess
        self._utterance, self._silent_ms, self._guess = [], 0, None
        self._to_stt(done)
        self._spawn(self._user_turn(done, metrics))

    def _set_user_state(self, state: Literal["speaking", "listening"]) -> None:
        old: Literal["speaking", "listening"] = "speaking" if self.user_speaking else "listening"
        self.user_speaking = state == "speaking"
        if old != state:
            self.session.emit("user_state_changed", UserStateChangedEvent(old, state))

    # ------------------------------------------------------------------ recognition

    def _to_stt(self, item: bytes | asyncio.Future[str]) -> None:
        if isinstance(item, bytes) and self.speculate_ms is not None:
            self._utterance.append(item)
        self._stt_items.append(item)
        self._stt_wake.set()

    def _speculate(self, voiced: bool) -> None:
        """Decode the utterance early once it has been silent for ``speculate_ms``."""
        if self.speculate_ms is None:
            return
        if voiced:  # the user went on: an earlier guess would miss words
            if self._guess is not None:
                logger.debug("speculative decode dropped: speech again")
            self._silent_ms, self._guess = 0, None
            return
        self._silent_ms += FRAME_MS
        stt = self.plugin("stt", self._current_agent())
        if self._guess is None and self._silent_ms >= self.speculate_ms and stt is not None:
            logger.debug("speculative decode after %d ms of silence", self._silent_ms)
            self._guess = self._spawn(self._decode(stt, b"".join(self._utterance)))

    async def _decode(self, stt: Any, pcm: bytes) -> str:
        start = asyncio.get_running_loop().time()
        text: str = await stt.transcribe(pcm)
        elapsed = asyncio.get_running_loop().time() - start
        logger.debug("speculative decode of %.1f s took %.0f ms", len(pcm) / 32000, elapsed * 1e3)
        return text

    async def _stream(self) -> Any:
        stt = self.plugin("stt", self._current_agent())
        if stt is None:
            return None
        if id(stt) not in self._streams:
            # opening a stream may load the model: seconds of blocking work
            try:
                stream = await asyncio.to_thread(stt.stream)
            except Exception as exc:
                raise self._stt_error(stt, exc) from exc
            self._streams[id(stt)] = (stt, stream)
        return self._streams[id(stt)][1]

    def _stt_error(self, stt: Any, exc: BaseException) -> SpeechRecognitionError:
        return SpeechRecognitionError(
            f"speech recognition ({type(stt).__name__}) failed: {exc}; that utterance was "
            "dropped and the next one gets a fresh recognizer stream"
        )

    async def _drop_stream(self, stream: Any, exc: Exception) -> None:
        """Report a recognizer failure once and throw the broken stream away."""
        stt: Any = None
        for key, (engine, open_stream) in list(self._streams.items()):
            if open_stream is stream:
                stt = engine
                del self._streams[key]
        engine = stt if stt is not None else stream
        error = exc if isinstance(exc, SpeechRecognitionError) else self._stt_error(engine, exc)
        if error is not exc:
            error.__cause__ = exc
        logger.error("%s", error, exc_info=exc)
        self.session.emit("error", ErrorEvent(error, "stt"))
        if stream is not None:
            try:
                await asyncio.to_thread(stream.close)
            except Exception:
                logger.debug("closing a failed recognizer stream failed too", exc_info=True)

    async def _stt_worker(self) -> None:
        """Feed audio to the STT in order, off the event loop; resolve each utterance's future."""
        items = self._stt_items
        while True:
            await self._stt_wake.wait()
            self._stt_wake.clear()
            while items:
                if isinstance(items[0], asyncio.Future):
                    await self._finish_utterance(items.popleft())  # type: ignore[arg-type]
                    continue
                # everything that piled up while the last call ran: one thread hop per batch
                chunks: list[bytes] = []
                while items and isinstance(items[0], bytes):
                    chunks.append(items.popleft())  # type: ignore[arg-type]
                await self._accept(b"".join(chunks))

    async def _accept(self, pcm: bytes) -> None:
        if self._stt_broken:
            return  # the rest of an utterance whose recognizer failed
        stream = None
        try:
            stream = await self._stream()
            result = None if stream is None else await asyncio.to_thread(stream.accept, pcm)
        except Exception as exc:
            self._stt_broken = True
            await self._drop_stream(stream, exc)
            return
        if result is None or not result.text:
            return
        if not result.is_final:
            self.session.emit(
                "user_input_transcribed", UserInputTranscribedEvent(result.text, False)
            )
            return
        # the engine heard the end of the sentence: endpoint now, not after the silence
        self._finals.append(result.text)
        ep = self._endpointer
        if ep is not None and (event := ep.end_of_utterance()) is not None:
            self._on_event(event)

    async def _finish_utterance(self, done: asyncio.Future[str]) -> None:
        guess = self._guesses.pop(done, None)
        if self._stt_broken:  # already reported: the utterance is dropped
            self._stt_broken = False
            if guess is not None:
                guess.cancel()
            self._finals.clear()
            done.set_result("")
            return
        stream = None
        try:
            stream = await self._stream()
            if guess is not None and stream is not None:
                tail = await guess
                # drop the audio the stream buffered (decoding it again is what we saved)
                for key, (_, open_stream) in list(self._streams.items()):
                    if open_stream is stream:
                        del self._streams[key]
                await asyncio.to_thread(stream.close)
            else:
                tail = (await asyncio.to_thread(stream.finish)).text if stream is not None else ""
        except Exception as exc:  # a broken recognizer must not kill the loop
            await self._drop_stream(stream, exc)
            self._finals.clear()
            done.set_result("")
            return
        text = " ".join(t for t in [*self._finals, tail] if t.strip())
        self._finals.clear()
        done.set_result(text)

    async def _user_turn(self, done: asyncio.Future[str], metrics: TurnMetrics) -> None:
        text = await done
        loop = asyncio.get_running_loop()
        metrics.mark("stt_final", loop.time())
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

    # ------------------------------------------------------------------ speaking

    def _barge_in(self) -> None:
        speech = self.session.current_speech
        if self._barged_in or (speech is not None and not speech.allow_interruptions):
            return
        self._barged_in = True
        logger.info("barge-in: the user spoke over the agent")
        self.sink.stop()
        if self._synth is not None:
            self._synth.cancel()
        self.session.interrupt()

    async def speak(self, text: AsyncIterator[str], *, agent: Agent) -> PlayoutResult:
        """Say ``text`` as it streams in, sentence by sentence; stop early on barge-in."""
        tts = self.plugin("tts", agent)
        if tts is None:  # speech disabled for this agent: the reply is text only
            return PlayoutResult("".join([piece async for piece in text]))
        if self._silenced:  # the speaker is gone (or the loop is ending): text only, unheard
            return PlayoutResult("".join([piece async for piece in text]).strip(), True)
        loop = asyncio.get_running_loop()
        metrics = self._metrics
        received: list[str] = []
        clips: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        failed: list[SpeechSynthesisError] = []
        broken: list[bool] = []

        async def say(sentence: str) -> None:
            try:
                clip = await tts.synthesize(sentence)
            except Exception as exc:
                error = SpeechSynthesisError(
                    f"speech synthesis ({type(tts).__name__}) failed on {sentence!r}: {exc}; "
                    "the rest of this reply was not spoken"
                )
                raise error from exc
            await clips.put((sentence, clip))

        async def synthesize() -> None:
            buffer, clips_made = "", 0
            try:
                async for piece in text:
                    if metrics is not None:
                        metrics.mark("llm_first_token", loop.time())
                    received.append(piece)
                    sentences, buffer = split_sentences(buffer + piece)
                    if not sentences and not clips_made:
                        sentences, buffer = split_first_clause(buffer)
                    for sentence in sentences:
                        clips_made += 1
                        await say(sentence)
                if buffer.strip():
                    await say(buffer.strip())
            except ReplyBrokenOff:
                broken.append(True)  # the LLM failed mid-reply: an unfinished sentence is not said
            except SpeechSynthesisError as exc:
                failed.append(exc)
                logger.error("%s", exc, exc_info=exc.__cause__)
                self.session.emit("error", ErrorEvent(exc, "tts"))
                # nothing more is spoken, but the reply's text is read to its end
                async for piece in text:
                    received.append(piece)
            finally:
                clips.put_nowait(None)

        self._barged_in = False
        self._speaking = self.agent_speaking = True
        self.speaking_agent = agent
        self._synth = asyncio.create_task(synthesize())
        spoken: list[str] = []
        cut = False  # stopped before the end: barge-in, a dead speaker, or run() ending
        try:
            while not self._barged_in and (item := await clips.get()) is not None:
                sentence, clip = item
                if self._silenced:
                    cut = True
                    break
                if metrics is not None:
                    metrics.mark("tts_first_audio", loop.time())
                try:
                    played = await self.sink.play(clip)
                except Exception as exc:  # PortAudioError is no OSError: any failure counts
                    error = AudioDeviceError(
                        f"{_describe(self.sink, 'output')} failed: {exc}; {_DEVICE_HINT}"
                    )
                    error.__cause__ = exc
                    self._fail(error, "audio_output")
                    cut = True
                    break
                # a resampling sink may report a few samples short of a clip it played out
                short = len(clip.samples) - played > clip.sample_rate * FRAME_MS // 1000
                if self._barged_in or self._silenced or short:
                    spoken.append(spoken_part(sentence, played / max(1, len(clip.samples))))
                    cut = True
                    break
                spoken.append(sentence)
        finally:
            self._speaking = self.agent_speaking = False
            self.speaking_agent = None
            synth, self._synth = self._synth, None
            if not synth.done():
                synth.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await synth
        heard = " ".join(s for s in spoken if s)
        if self._barged_in or cut or broken:
            return PlayoutResult(heard, interrupted=True)
        if failed:  # the voice failed: what was heard, or the whole text when nothing was
            return PlayoutResult(heard or "".join(received).strip(), interrupted=True)
        return PlayoutResult("".join(received).strip())
