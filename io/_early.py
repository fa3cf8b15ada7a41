"""Ending a turn early and answering it early: adaptive endpointing and preemptive generation.

Mixed into :class:`~voxfsm.io.recognition.Recognition`. While an utterance is open and the
user is silent, the loop looks for an *early transcript* that covers all the speech so far:
the streaming recognizer's latest partial, once it has been fed past the last voiced frame,
or the batch recognizer's speculative decode (``speculate_ms``), started in the silence.

- Adaptive endpointing (``min_end_silence_ms`` set): the silence that ends the turn depends
  on that transcript: ``min_end_silence_ms`` when it reads as a finished turn
  (:func:`~voxfsm.io.turn_end.sounds_complete`), ``max_end_silence_ms`` when it trails off,
  ``end_silence_ms`` when there is none yet.
- Preemptive generation (``preemptive``): the reply is requested from that transcript at once
  (:mod:`voxfsm.agents.preemptive`), and its first sentence synthesized, so both are ready or
  under way when the turn is confirmed. Speech that resumes cancels them; a confirmed turn
  whose request differs does not use them. Nothing reaches the history before the turn is
  confirmed, so a cancelled speculation leaves no trace there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from voxfsm.agents import Agent, AgentSession
from voxfsm.agents.nodes import overridden, visible_tools
from voxfsm.agents.preemptive import Preemption, cancel_preemption, start_preemption
from voxfsm.io._nodes import segment
from voxfsm.io.turn_end import sounds_complete
from voxfsm.io.vad import Endpointer, EndpointEvent

if TYPE_CHECKING:
    from voxfsm.io._nodes import NodeRecognition

__all__ = ["EarlyEnd"]

logger = logging.getLogger("voxfsm.io.loop")


class EarlyEnd:
    """Early transcripts → an adaptive endpoint and a preemptive reply."""

    session: AgentSession[Any]
    end_silence_ms: int
    min_end_silence_ms: int | None
    max_end_silence_ms: int
    preemptive: bool
    _endpointer: Endpointer | None
    _guess: asyncio.Task[str] | None
    _node_utterance: NodeRecognition | None
    _fed: int  # bytes of the open utterance sent to the recognizer
    _voiced_end: int  # ... of them up to the last voiced frame
    _partial: tuple[str, int]  # latest streaming transcript, and the bytes it had heard
    _opened: int  # utterances opened so far (the open one is number _opened - 1)
    _closed_stt: int  # utterances the recognizer worker has finished
    _preempted: tuple[Agent, str] | None
    _presynth: tuple[Any, str, asyncio.Task[Any]] | None  # (tts, sentence, its clip)

    if TYPE_CHECKING:  # provided by VoiceLoop and Recognition

        def plugin(self, kind: str, agent: Agent | None = None) -> Any: ...
        def _current_agent(self) -> Agent | None: ...
        def _spawn(self, coro: Any) -> asyncio.Task[Any]: ...
        def _on_event(self, event: EndpointEvent) -> None: ...

    def _early_text(self) -> str | None:
        """A transcript of all the speech of the open utterance, if one is known yet."""
        if self._node_utterance is not None:
            return None
        guess = self._guess
        if guess is not None:
            if not guess.done() or guess.cancelled() or guess.exception() is not None:
                return None
            return guess.result()
        text, heard = self._partial
        return text if text and heard >= self._voiced_end else None

    def _check_early_end(self) -> None:
        """In the silence after speech: start the preemptive reply, and end the turn when
        the silence is long enough for what the transcript says."""
        ep = self._endpointer
        if ep is None or not ep.in_speech or ep.last_is_speech:
            return
        text = self._early_text()
        if text and self.preemptive:
            self._preempt(text)
        if self.min_end_silence_ms is None:
            return
        verdict = sounds_complete(text) if text else None
        if verdict is True:
            limit = self.min_end_silence_ms
        elif verdict is False:
            limit = self.max_end_silence_ms
        else:
            limit = self.end_silence_ms
        if ep.silence_ms >= limit:
            logger.debug(
                "endpoint after %d ms of silence: %r reads as %s",
                ep.silence_ms,
                text,
                {True: "finished", False: "unfinished", None: "unknown"}[verdict],
            )
            event = ep.end_of_utterance("complete" if verdict else "stt")
            if event is not None:
                self._on_event(event)

    def _speech_resumed(self) -> None:
        """The user went on speaking: a reply started on the earlier words is dropped."""
        if self._preempted is not None:
            agent, text = self._preempted
            logger.debug("preemptive reply to %r cancelled: speech resumed", text)
            cancel_preemption(agent)
            self._preempted = None
            self._drop_presynth()

    def _preempt(self, text: str) -> None:
        if self._preempted is not None and self._preempted[1] == text:
            return
        agent = self._current_agent()
        # a turn still running, or a hook that edits the context first: the request would
        # differ anyway, so nothing is asked early
        if agent is None or not self.session.is_idle():
            return
        if overridden(agent, "on_user_turn_completed"):
            return
        llm = self.session.effective_plugin("llm", agent)
        if llm is None:
            return
        self._speech_resumed()
        preemption = start_preemption(agent, llm, text, visible_tools(agent.all_tools()))
        self._preempted = (agent, text)
        tts = self.plugin("tts", agent)
        if tts is not None and not overridden(agent, "tts_node"):
            self._spawn(self._presynthesize(preemption, tts))

    async def _presynthesize(self, preemption: Preemption, tts: Any) -> None:
        """Synthesize the first sentence of the speculative reply, as playout would cut it."""
        buffer, seen = "", 0
        while True:
            chunks = preemption.chunks
            for chunk in chunks[seen:]:
                buffer += chunk.text or ""
                ready, buffer = segment(buffer, True)
                if ready:
                    self._drop_presynth()
                    task = asyncio.ensure_future(tts.synthesize(ready[0]))
                    self._presynth = (tts, ready[0], task)
                    return
            seen = len(chunks)
            if preemption.task.done():
                return
            await asyncio.wait({preemption.task}, timeout=0.01)

    def _drop_presynth(self) -> None:
        if self._presynth is not None:
            self._presynth[2].cancel()
            self._presynth = None

    def _take_presynth(self, tts: Any, sentence: str) -> asyncio.Task[Any] | None:
        """The clip of ``sentence`` synthesized ahead, if that is what playout needs now."""
        found, self._presynth = self._presynth, None
        if found is not None and found[0] is tts and found[1] == sentence:
            return found[2]
        if found is not None:
            found[2].cancel()
        return None

    def _end_preemption(self, used: bool) -> None:
        """The turn went ahead (its request takes the reply if it matches) or was dropped."""
        if self._preempted is not None and not used:
            cancel_preemption(self._preempted[0])
            self._drop_presynth()
        self._preempted = None
