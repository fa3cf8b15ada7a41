"""Pipeline nodes: the steps of a reply an ``Agent`` subclass may override (LiveKit's names).

``llm_node(chat_ctx, tools, model_settings)`` produces the reply: an async iterable of
``str``/``ChatChunk``/``LLMChunk`` (or a coroutine returning ``str``).  Its default asks the
agent's LLM.  ``transcription_node(text, model_settings)`` turns the reply's text into what
is recorded and shown (text and voice).  In voice mode the voice loop also calls, for the
agent active at that moment (so a handoff switches them):

- ``stt_node(audio, model_settings)`` once per utterance: ``audio`` yields the utterance's
  16 kHz mono int16 PCM as ``bytes`` while the user speaks and ends at the endpoint; the node
  yields ``str`` (final text) or :class:`SpeechEvent` (interim and final transcripts).
- ``tts_node(text, model_settings)`` once per reply: ``text`` yields the reply as the LLM
  streams it; the node yields audio clips (the io layer's ``AudioClip``), played in order.

The defaults delegate to the STT/TTS in force (the loop's, else the agent's or session's)
through the small protocols below, so ``agents`` never imports the io layer.  An override may
call a default: ``Agent.default.tts_node(self, text, model_settings)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import re
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from voxfsm.agents import preemptive
from voxfsm.agents.events import ErrorEvent
from voxfsm.agents.llm.base import LLMChunk
from voxfsm.agents.llm.stream import chat, to_llm_chunk

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.chat import ChatContext


@attrs.define
class ModelSettings:
    """Settings of one LLM request: the tool choice in force (``"auto"``, ``"none"``...)."""

    tool_choice: Any = "auto"


log = logging.getLogger("voxfsm.agents")


class SpeechEventType(str, enum.Enum):
    """What a :class:`SpeechEvent` from an ``stt_node`` reports (LiveKit's names)."""

    START_OF_SPEECH = "start_of_speech"
    INTERIM_TRANSCRIPT = "interim_transcript"
    FINAL_TRANSCRIPT = "final_transcript"
    END_OF_SPEECH = "end_of_speech"


@attrs.define
class SpeechData:
    """One transcript hypothesis."""

    text: str
    language: str = ""
    confidence: float = 0.0


@attrs.define
class SpeechEvent:
    """An event of an ``stt_node``: ``alternatives[0].text`` is the transcript."""

    type: SpeechEventType
    alternatives: list[SpeechData] = attrs.Factory(list)


@runtime_checkable
class STTStreamLike(Protocol):
    """A recognizer for one utterance (``voxfsm.io.stt.STTStream`` fits): blocking calls."""

    def accept(self, pcm: bytes) -> Any: ...
    def finish(self) -> Any: ...
    def close(self) -> None: ...


@runtime_checkable
class STTLike(Protocol):
    """What the default ``stt_node`` needs of a speech recognizer (``voxfsm.io.stt.STT``)."""

    def stream(self) -> STTStreamLike: ...


@runtime_checkable
class TTSLike(Protocol):
    """What the default ``tts_node`` needs of a voice (``voxfsm.io.tts.TTS``)."""

    async def synthesize(self, text: str) -> Any: ...


Segmenter = Callable[[str, bool], "tuple[list[str], str]"]
"""``(buffer, first) -> (pieces ready to speak, rest)``; ``first`` while nothing was said yet."""

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def _plain_segments(buffer: str, first: bool) -> tuple[list[str], str]:
    *done, rest = _SENTENCE_END.split(buffer)
    return [d.strip() for d in done if d.strip()], rest


@attrs.frozen
class SpeechEngines:
    """The STT, TTS and sentence splitter the voice loop has in force for one agent.

    The loop sets it (:data:`speech_engines`) around each node call, so the defaults use
    the loop's engines, including its fill-ins for plugins the session leaves unset.
    """

    stt: Any = None
    tts: Any = None
    segment: Segmenter = _plain_segments


speech_engines: ContextVar[SpeechEngines | None] = ContextVar("voxfsm_speech", default=None)
"""The engines in force while the voice loop runs a node (None outside the voice loop)."""

clip_texts: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""The sentence each clip of the default ``tts_node`` says (what was heard, on barge-in)."""


def _plugin(agent: Agent, kind: str) -> Any:
    engines = speech_engines.get()
    found = getattr(engines, kind, None) if kind in ("stt", "tts") else None
    if found is None:
        found = agent.session.effective_plugin(kind, agent)
    if found is None:
        raise RuntimeError(f"agent {agent.id!r} has no {kind}: pass {kind}= to the session")
    return found


def _final(text: str) -> SpeechEvent:
    return SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, [SpeechData(text)])


class DefaultNodes:
    """The default implementations, callable from overrides (``Agent.default``)."""

    @staticmethod
    async def llm_node(
        agent: Agent, chat_ctx: ChatContext, tools: Sequence[Any], model_settings: ModelSettings
    ) -> AsyncIterator[LLMChunk]:
        llm = _plugin(agent, "llm")
        stream = chat(llm, chat_ctx=chat_ctx, tools=tools, tool_choice=model_settings.tool_choice)
        async with stream:
            async for chunk in stream:
                yield chunk

    @staticmethod
    async def transcription_node(
        agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        async for piece in text:
            yield piece

    @staticmethod
    async def tts_node(
        agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[Any]:
        """Speech for ``text`` as it streams: one clip per sentence (the first clause of a
        reply at once), from the TTS in force."""
        tts = _plugin(agent, "tts")
        engines = speech_engines.get()
        segment = engines.segment if engines is not None else _plain_segments
        buffer, first = "", True
        async for piece in text:
            ready, buffer = segment(buffer + piece, first)
            for sentence in ready:
                first = False
                yield await _say(tts, sentence)
        if buffer.strip():
            yield await _say(tts, buffer.strip())

    @staticmethod
    async def stt_node(
        agent: Agent, audio: AsyncIterable[bytes], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechEvent]:
        """Interim and final transcripts of one utterance (16 kHz mono int16 PCM), from the
        STT in force: a recognizer stream is fed as the audio arrives, off the event loop."""
        stt = _plugin(agent, "stt")
        stream = await asyncio.to_thread(stt.stream)
        try:
            async for pcm in audio:
                result = await asyncio.to_thread(stream.accept, pcm)
                if result is not None and result.text:
                    kind = (
                        SpeechEventType.FINAL_TRANSCRIPT
                        if result.is_final
                        else SpeechEventType.INTERIM_TRANSCRIPT
                    )
                    yield SpeechEvent(kind, [SpeechData(result.text)])
            result = await asyncio.to_thread(stream.finish)
            if result.text:
                yield _final(result.text)
        finally:
            await asyncio.to_thread(stream.close)


async def _say(tts: Any, sentence: str) -> Any:
    clip = await tts.synthesize(sentence)
    # a clip type that cannot be weakly referenced just has no sentence attached
    with contextlib.suppress(TypeError):
        clip_texts[clip] = sentence
    return clip


current_hook: ContextVar[str | None] = ContextVar("voxfsm_hook", default=None)
"""The agent hook whose code (or speech it started) is running: ``"on_enter"``..."""


def visible_tools(tools: list[Any]) -> list[Any]:
    """The tools an LLM request may offer: in replies made by ``on_enter``, not those flagged
    ``ToolFlag.IGNORE_ON_ENTER``."""
    if current_hook.get() != "on_enter":
        return tools
    from voxfsm.agents.tools import ToolFlag

    return [t for t in tools if not (getattr(t, "flags", 0) & ToolFlag.IGNORE_ON_ENTER)]


_base: type | None = None  # Agent (imported on first use: agent.py imports this module)


def overridden(agent: Agent, node: str) -> bool:
    global _base
    if _base is None:
        from voxfsm.agents.agent import Agent

        _base = Agent
    return getattr(type(agent), node) is not getattr(_base, node)


async def _from_node(result: Any) -> AsyncIterator[LLMChunk]:
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return
    if isinstance(result, str):
        if result:
            yield LLMChunk(result)
        return
    if not isinstance(result, AsyncIterable):
        raise TypeError(
            f"llm_node returned {type(result).__name__}; return an async iterable of str or "
            "ChatChunk, a str, or None"
        )
    async for item in result:
        chunk = to_llm_chunk(item)
        if chunk is not None:
            yield chunk


def llm_stream(
    agent: Agent, llm: Any, chat_ctx: ChatContext, tools: Sequence[Any], choice: Any
) -> AsyncIterator[LLMChunk]:
    """The reply stream of one generation: the agent's ``llm_node`` if it overrides it, or
    the reply the voice loop already asked for this very request (preemptive generation)."""
    kept = preemptive.take(agent, llm, chat_ctx, tools, choice) if preemptive.active() else None
    return kept if kept is not None else raw_llm_stream(agent, llm, chat_ctx, tools, choice)


def raw_llm_stream(
    agent: Agent, llm: Any, chat_ctx: ChatContext, tools: Sequence[Any], choice: Any
) -> AsyncIterator[LLMChunk]:
    """A new request to the LLM (through the agent's ``llm_node`` if it overrides it)."""
    if not overridden(agent, "llm_node"):
        stream: AsyncIterator[LLMChunk] = llm.chat(
            chat_ctx=chat_ctx, tools=tools, tool_choice=choice
        )
        return stream
    given = list(tools)
    agent._runtime.node_tools = []
    chunks = _from_node(agent.llm_node(chat_ctx, given, ModelSettings(tool_choice=choice)))
    return _noting_added_tools(agent, chunks, given, list(tools))


async def _noting_added_tools(
    agent: Agent, chunks: AsyncIterator[LLMChunk], given: list[Any], original: list[Any]
) -> AsyncIterator[LLMChunk]:
    """Passes the node's chunks on; tools the node appended to its ``tools`` list become
    callable in this generation's tool step (LiveKit's temporal tools)."""
    from voxfsm.agents.tools import FunctionTool  # tools imports this module

    def note() -> None:
        agent._runtime.node_tools = [
            t for t in given if t not in original and isinstance(t, FunctionTool)
        ]

    async for chunk in chunks:
        note()
        yield chunk
    note()


class PipelineNodeError(RuntimeError):
    """An agent's pipeline node override raised; the session reported it and went on."""


async def node_items(result: Any) -> AsyncIterator[Any]:
    """What a node returned, as an async iterator: it may return an async iterable, a
    coroutine of one, a single value (a ``str``), or ``None`` (nothing)."""
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return
    if isinstance(result, AsyncIterable):
        async for item in result:
            yield item
        return
    yield result


async def transcribe_text(agent: Agent, text: str, choice: Any) -> str:
    """The reply's text after the agent's ``transcription_node`` (unchanged by default).

    A node that raises is reported once (an ``error`` event, source ``"transcription_node"``)
    and the reply is recorded as the LLM wrote it, so no turn is lost from the history."""
    if not overridden(agent, "transcription_node"):
        return text

    async def once() -> AsyncIterator[str]:
        yield text

    try:
        out = agent.transcription_node(once(), ModelSettings(tool_choice=choice))
        return "".join([str(getattr(p, "text", p)) async for p in node_items(out)])
    except Exception as exc:
        error = PipelineNodeError(
            f"the transcription_node of agent {agent.id!r} raised {type(exc).__name__}: "
            f"{exc}; the reply was recorded as the LLM wrote it"
        )
        error.__cause__ = exc
        log.error("%s", error, exc_info=exc)
        agent.session.emit("error", ErrorEvent(error, "transcription_node"))
        return text
