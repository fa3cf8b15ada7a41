"""Pipeline nodes: the steps of a reply an ``Agent`` subclass may override (LiveKit's names).

``llm_node(chat_ctx, tools, model_settings)`` produces the reply: an async iterable of
``str``/``ChatChunk``/``LLMChunk`` (or a coroutine returning ``str``).  Its default asks the
agent's LLM.  ``transcription_node(text, model_settings)`` turns the reply's text into what
is recorded and shown.  ``tts_node`` and ``stt_node`` have defaults over voxfsm's TTS
(``synthesize``) and STT (``transcribe``) protocols.  An override may call the default:
``Agent.default.llm_node(self, chat_ctx, tools, model_settings)``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents.llm.base import LLMChunk
from voxfsm.agents.llm.stream import chat, to_llm_chunk

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.chat import ChatContext


@attrs.define
class ModelSettings:
    """Settings of one LLM request: the tool choice in force (``"auto"``, ``"none"``...)."""

    tool_choice: Any = "auto"


def _plugin(agent: Agent, kind: str) -> Any:
    found = agent.session.effective_plugin(kind, agent)
    if found is None:
        raise RuntimeError(f"agent {agent.id!r} has no {kind}: pass {kind}= to the session")
    return found


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
        """One audio clip for the whole text, from the agent's TTS."""
        tts = _plugin(agent, "tts")
        whole = "".join([piece async for piece in text]).strip()
        if whole:
            yield await tts.synthesize(whole)

    @staticmethod
    async def stt_node(
        agent: Agent, audio: AsyncIterable[bytes], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        """The transcript of the whole audio (16-bit mono PCM), from the agent's STT."""
        stt = _plugin(agent, "stt")
        pcm = b"".join([frame async for frame in audio])
        if pcm:
            yield await stt.transcribe(pcm)


current_hook: ContextVar[str | None] = ContextVar("voxfsm_hook", default=None)
"""The agent hook whose code (or speech it started) is running: ``"on_enter"``..."""


def visible_tools(tools: list[Any]) -> list[Any]:
    """The tools an LLM request may offer: in replies made by ``on_enter``, not those flagged
    ``ToolFlag.IGNORE_ON_ENTER``."""
    if current_hook.get() != "on_enter":
        return tools
    from voxfsm.agents.tools import ToolFlag

    return [t for t in tools if not (getattr(t, "flags", 0) & ToolFlag.IGNORE_ON_ENTER)]


def overridden(agent: Agent, node: str) -> bool:
    from voxfsm.agents.agent import Agent

    return getattr(type(agent), node) is not getattr(Agent, node)


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
    """The reply stream of one generation: the agent's ``llm_node`` if it overrides it."""
    if not overridden(agent, "llm_node"):
        stream: AsyncIterator[LLMChunk] = llm.chat(
            chat_ctx=chat_ctx, tools=tools, tool_choice=choice
        )
        return stream
    return _from_node(agent.llm_node(chat_ctx, list(tools), ModelSettings(tool_choice=choice)))


async def transcribe_text(agent: Agent, text: str, choice: Any) -> str:
    """The reply's text after the agent's ``transcription_node`` (unchanged by default)."""
    if not overridden(agent, "transcription_node"):
        return text

    async def once() -> AsyncIterator[str]:
        yield text

    out = agent.transcription_node(once(), ModelSettings(tool_choice=choice))
    return "".join([piece async for piece in out])
