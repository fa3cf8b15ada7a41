"""The speaking half of the voice loop: reply text → sentences → TTS → the sink, with barge-in.

:class:`Playout` is mixed into :class:`~voxfsm.io.loop.VoiceLoop` and is what the session
calls as its speech output (``async speak(text, *, agent) -> PlayoutResult``): sentences are
synthesized while the LLM still streams and played in order; barge-in, a dead speaker, a
TTS failure or a reply that breaks off end the playout, and the result records only the
words that were heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from voxfsm.agents import Agent, AgentSession, ErrorEvent, PlayoutResult, ReplyBrokenOff
from voxfsm.agents.nodes import clip_texts, overridden
from voxfsm.io._nodes import engines_for, tts_node_clips
from voxfsm.io._voice import DEVICE_HINT, SpeechSynthesisError, TurnMetrics, describe_end
from voxfsm.io.audio import AudioDeviceError, AudioSink
from voxfsm.io.format import FRAME_MS
from voxfsm.io.sentences import split_first_clause, split_sentences, spoken_part

__all__ = ["Playout"]

logger = logging.getLogger("voxfsm.io.loop")


class Playout:
    """Reply text in, audio out (a mixin of :class:`~voxfsm.io.loop.VoiceLoop`)."""

    # state the loop's constructor sets
    session: AgentSession[Any]
    sink: AudioSink
    agent_speaking: bool
    speaking_agent: Agent | None
    _metrics: TurnMetrics | None
    _speaking: bool
    _barged_in: bool
    _synth: asyncio.Task[None] | None
    _silenced: bool

    if TYPE_CHECKING:  # provided by VoiceLoop

        def plugin(self, kind: str, agent: Agent | None = None) -> Any: ...
        def _fail(self, error: AudioDeviceError, source: str) -> None: ...
        def _take_presynth(self, tts: Any, sentence: str) -> asyncio.Task[Any] | None: ...

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
        node = overridden(agent, "tts_node")  # then the node makes the audio, TTS or not
        if tts is None and not node:  # speech disabled for this agent: the reply is text only
            return PlayoutResult("".join([piece async for piece in text]))
        if self._silenced:  # the speaker is gone (or the loop is ending): text only, unheard
            return PlayoutResult("".join([piece async for piece in text]).strip(), True)
        loop = asyncio.get_running_loop()
        metrics = self._metrics
        received: list[str] = []
        clips: asyncio.Queue[tuple[str | None, Any] | None] = asyncio.Queue()
        failed: list[SpeechSynthesisError] = []
        broken: list[bool] = []

        async def say(sentence: str) -> None:
            try:
                early = self._take_presynth(tts, sentence)  # made during the user's silence
                clip = await (early if early is not None else tts.synthesize(sentence))
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
                except ReplyBrokenOff:
                    # the LLM failed mid-reply: an unfinished sentence is not said, but the
                    # splitter holds back the last sentence until text follows it, so one
                    # that ends in . ! ? (and a space) is complete and is said
                    broken.append(True)
                    tail = buffer.strip()
                    if not (buffer[-1:].isspace() and tail[-1:] in (".", "!", "?", "…")):
                        return
                if buffer.strip():
                    await say(buffer.strip())
            except SpeechSynthesisError as exc:
                failed.append(exc)
                logger.error("%s", exc, exc_info=exc.__cause__)
                self.session.emit("error", ErrorEvent(exc, "tts"))
                # nothing more is spoken, but the reply's text is read to its end
                async for piece in text:
                    received.append(piece)
            finally:
                clips.put_nowait(None)

        async def reply_text() -> AsyncIterator[str]:
            async for piece in text:
                if metrics is not None:
                    metrics.mark("llm_first_token", loop.time())
                received.append(piece)
                yield piece

        async def synthesize_node() -> None:
            """The agent's ``tts_node`` makes the audio (its override, maybe calling the
            default)."""
            engines = engines_for(self.plugin("stt", agent), tts)
            try:
                async for clip in tts_node_clips(agent, reply_text(), engines):
                    await clips.put((clip_texts.get(clip), clip))
            except ReplyBrokenOff:
                broken.append(True)
            except Exception as exc:
                error = SpeechSynthesisError(
                    f"the tts_node of agent {agent.id!r} raised {type(exc).__name__}: {exc}; "
                    "the rest of this reply was not spoken"
                )
                error.__cause__ = exc
                failed.append(error)
                logger.error("%s", error, exc_info=exc)
                self.session.emit("error", ErrorEvent(error, "tts"))
                with contextlib.suppress(ReplyBrokenOff):
                    async for piece in text:  # the reply's text is still read to its end
                        received.append(piece)
            finally:
                clips.put_nowait(None)

        self._barged_in = False
        self._speaking = self.agent_speaking = True
        self.speaking_agent = agent
        self._synth = asyncio.create_task(synthesize_node() if node else synthesize())
        spoken: list[str] = []
        untagged = [0, 0]  # samples played / made of clips whose sentence is unknown
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
                        f"{describe_end(self.sink, 'output')} failed: {exc}; {DEVICE_HINT}"
                    )
                    error.__cause__ = exc
                    self._fail(error, "audio_output")
                    cut = True
                    break
                # a resampling sink may report a few samples short of a clip it played out
                short = len(clip.samples) - played > clip.sample_rate * FRAME_MS // 1000
                if sentence is None:  # a tts_node's own audio: what was heard is estimated
                    untagged[0] += played
                    untagged[1] += len(clip.samples)
                    if self._barged_in or self._silenced or short:
                        cut = True
                        break
                    continue
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
        if untagged[1]:  # words in proportion to the share of the node's audio played
            heard = spoken_part("".join(received).strip(), untagged[0] / untagged[1])
        if self._barged_in or cut or broken:
            return PlayoutResult(heard, interrupted=True)
        if failed:  # the voice failed: what was heard, or the whole text when nothing was
            return PlayoutResult(heard or "".join(received).strip(), interrupted=True)
        return PlayoutResult("".join(received).strip())
