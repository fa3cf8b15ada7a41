"""The listening half of the voice loop: frames → VAD/endpointing → STT → an utterance.

:class:`Recognition` is mixed into :class:`~voxfsm.io.loop.VoiceLoop`. It reads the audio
source, runs the endpointer (the VAD of the active agent), feeds the recognizer off the event
loop in arrival order, optionally decodes early (``speculate_ms``) and hands each finished
utterance to the loop as a user turn. A recognizer failure drops that utterance only.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from voxfsm.agents import (
    Agent,
    AgentSession,
    ErrorEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from voxfsm.agents.listeners import Commit, SessionListener
from voxfsm.agents.nodes import overridden
from voxfsm.io._early import EarlyEnd
from voxfsm.io._nodes import NodeRecognition, engines_for
from voxfsm.io._voice import DEVICE_HINT, SpeechRecognitionError, TurnMetrics, describe_end
from voxfsm.io.audio import AudioDeviceError, AudioSource, Frame
from voxfsm.io.format import FRAME_MS
from voxfsm.io.vad import Endpointer, EndpointEvent

__all__ = ["Recognition"]

logger = logging.getLogger("voxfsm.io.loop")


class CommitCounter(SessionListener):
    """Counts the session's commits, so the loop knows when the active agent changed."""

    def __init__(self) -> None:
        self.count = 0

    def committed(self, commit: Commit) -> None:
        self.count += 1


class Recognition(EarlyEnd):
    """Frames in, utterances out (a mixin of :class:`~voxfsm.io.loop.VoiceLoop`)."""

    # state the loop's constructor sets
    session: AgentSession[Any]
    source: AudioSource
    min_interruption_ms: int
    speculate_ms: int | None
    level_dbfs: float
    user_speaking: bool
    _endpointing: dict[str, int]
    _endpointer: Endpointer | None
    _commits: CommitCounter
    _vad_key: tuple[int, Any] | None
    _utterance: list[bytes]
    _silent_ms: int
    _guess: asyncio.Task[str] | None
    _guesses: dict[asyncio.Future[str], asyncio.Task[str]]
    _streams: dict[int, tuple[Any, Any]]
    _stt_items: collections.deque[bytes | asyncio.Future[str]]
    _stt_wake: asyncio.Event
    _finals: list[str]
    _stt_broken: bool
    _speaking: bool
    _node_utterance: NodeRecognition | None
    node_timeout_s: float

    if TYPE_CHECKING:  # provided by VoiceLoop and Playout

        def plugin(self, kind: str, agent: Agent | None = None) -> Any: ...
        def _current_agent(self) -> Agent | None: ...
        def _spawn(self, coro: Any) -> asyncio.Task[Any]: ...
        def _fail(self, error: AudioDeviceError, source: str) -> None: ...
        def _barge_in(self) -> None: ...
        async def _user_turn(self, done: asyncio.Future[str], metrics: TurnMetrics) -> None: ...

    def _endpointer_for(self, agent: Agent | None) -> Endpointer:
        vad = self.plugin("vad", agent)
        ep = self._endpointer
        # a handoff may switch VADs; never swap in the middle of an utterance
        if ep is None or (ep.vad is not vad and not ep.in_speech):
            ep = self._endpointer = Endpointer(vad, **self._endpointing)
        return ep

    async def _listen(self) -> None:
        try:
            async for frame in self.source:
                self._on_frame(frame)
        except Exception as exc:  # PortAudioError is no OSError: any failure ends the input
            error = AudioDeviceError(
                f"{describe_end(self.source, 'input')} failed: {exc}; {DEVICE_HINT}"
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
        ep = self._endpointer
        # the VAD in force changes only with the active agent or the session's options, so
        # it is looked up again only then, not on every frame
        key = (self._commits.count, self.session.vad)
        if ep is None or key != self._vad_key:
            ep = self._endpointer_for(self._current_agent())
            if not ep.in_speech:  # mid-utterance the old VAD stays: ask again next frame
                self._vad_key = key
        was_open = ep.in_speech
        event = ep.push(frame)
        if was_open and ep.in_speech:
            pcm = frame.tobytes()
            self._fed += len(pcm)
            if ep.last_is_speech:
                self._voiced_end = self._fed
                self._speech_resumed()
            self._to_stt(pcm)
            self._speculate(ep.last_is_speech)
            if not ep.last_is_speech:
                self._check_early_end()
        if event is not None:
            self._on_event(event)
        if self._speaking and ep.speech_ms >= self.min_interruption_ms:
            self._barge_in()

    def _on_event(self, event: EndpointEvent) -> None:
        loop = asyncio.get_running_loop()
        if event.type == "speech_started":
            self._set_user_state("speaking")
            self._utterance, self._silent_ms, self._guess = [], 0, None
            self._node_utterance = self._start_node(self._current_agent())
            self._fed = len(event.pcm)
            self._voiced_end = self._fed
            self._partial = ("", 0)
            self._opened += 1
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

    def _start_node(self, agent: Agent | None) -> NodeRecognition | None:
        """An utterance of an agent that overrides ``stt_node`` goes through that node."""
        if agent is None or not overridden(agent, "stt_node"):
            return None
        engines = engines_for(self.plugin("stt", agent), self.plugin("tts", agent))

        def interim(text: str) -> None:
            self.session.emit("user_input_transcribed", UserInputTranscribedEvent(text, False))

        return NodeRecognition(agent, engines, interim)

    async def _finish_node(self, node: NodeRecognition, done: asyncio.Future[str]) -> None:
        """The node's transcript of the utterance, or one error and an empty utterance."""
        node.feed.close()
        limit = self.node_timeout_s
        try:
            text = await asyncio.wait_for(node.task, limit)
        except asyncio.TimeoutError:
            error = SpeechRecognitionError(
                f"the stt_node of agent {node.agent.id!r} gave no transcript within {limit:g} s "
                "after the utterance ended; that utterance was dropped (raise "
                "VoiceLoop(node_timeout_s=...) for a slower node)"
            )
        except Exception as exc:
            error = SpeechRecognitionError(
                f"the stt_node of agent {node.agent.id!r} raised {type(exc).__name__}: {exc}; "
                "that utterance was dropped and the next one is recognised afresh"
            )
            error.__cause__ = exc
        else:
            done.set_result(text)
            return
        logger.error("%s", error, exc_info=error.__cause__)
        self.session.emit("error", ErrorEvent(error, "stt"))
        done.set_result("")

    def _to_stt(self, item: bytes | asyncio.Future[str]) -> None:
        node = self._node_utterance
        if node is not None:
            if isinstance(item, bytes):
                node.feed.put(item)
            else:
                self._node_utterance = None
                self._spawn(self._finish_node(node, item))
            return
        if isinstance(item, bytes) and self.speculate_ms is not None:
            self._utterance.append(item)
        self._stt_items.append(item)
        self._stt_wake.set()

    def _speculate(self, voiced: bool) -> None:
        """Decode the utterance early once it has been silent for ``speculate_ms``."""
        if self.speculate_ms is None or self._node_utterance is not None:
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
            guess = self._guess = self._spawn(self._decode(stt, b"".join(self._utterance)))
            # its transcript may be enough to end the turn (adaptive endpointing)
            guess.add_done_callback(lambda t: self._check_early_end() if t is self._guess else None)

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
        if self._closed_stt == self._opened - 1:  # audio of the utterance still open
            text = self._partial[0]
            if result is not None and not result.is_final:
                text = result.text
            self._partial = (text, self._partial[1] + len(pcm))
            self._check_early_end()
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
        self._closed_stt += 1
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
