"""Using an LLM directly, the way LiveKit code does: ``async with llm:``, ``llm.chat(...)``.

``LLMStream`` wraps what any voxfsm LLM's ``chat()`` yields (``LLMChunk`` items, which also
read as LiveKit ``ChatChunk`` through ``.delta``) so that it can be iterated, used as
``async with llm.chat(...) as stream:``, and collected into one response.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs

from voxfsm.agents.llm.base import ChoiceDelta, LLMChunk, ToolCallRequest

FunctionToolCall = ToolCallRequest
"""LiveKit's name for a finished tool call in a chunk (``name``, ``arguments``, ``call_id``)."""

_ids = itertools.count(1)


@attrs.frozen
class CompletionUsage:
    """Token counts of one completion (0 where the model does not report them)."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    prompt_cached_tokens: int = 0


@attrs.frozen
class ChatChunk:
    """A chunk as LiveKit code builds it (e.g. yielded from an ``llm_node`` override)."""

    id: str = attrs.field(factory=lambda: f"chunk_{next(_ids)}")
    delta: ChoiceDelta | None = None
    usage: CompletionUsage | None = None


@attrs.frozen
class CollectedResponse:
    """A whole reply: its text and the tool calls it made."""

    text: str = ""
    tool_calls: list[ToolCallRequest] = attrs.field(factory=list)
    usage: CompletionUsage | None = None


def to_llm_chunk(chunk: Any) -> LLMChunk | None:
    """What a pipeline node may yield (``str``, ``ChatChunk``, ``ChoiceDelta``, ``LLMChunk``)
    as the chunk the session records; ``None`` for chunks with nothing in them."""
    if isinstance(chunk, LLMChunk):
        return chunk
    if isinstance(chunk, str):
        return LLMChunk(chunk) if chunk else None
    delta = chunk.delta if isinstance(chunk, ChatChunk) else chunk
    if delta is None:
        return None
    if not isinstance(delta, ChoiceDelta):
        raise TypeError(
            f"an LLM stream yielded {chunk!r}; yield str, ChatChunk or ChoiceDelta objects"
        )
    return LLMChunk(delta.content or "", tuple(delta.tool_calls))


class LLMStream:
    """An LLM reply being streamed: iterate it, ``async with`` it, or ``await collect()``."""

    def __init__(self, chunks: AsyncIterator[Any]) -> None:
        self._chunks = chunks
        self._closed = False

    def __aiter__(self) -> LLMStream:
        return self

    async def __anext__(self) -> LLMChunk:
        while True:
            chunk = to_llm_chunk(await self._chunks.__anext__())
            if chunk is not None:
                return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            close = getattr(self._chunks, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> LLMStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def collect(self) -> CollectedResponse:
        """Read the rest of the stream into one response."""
        parts: list[str] = []
        calls: list[ToolCallRequest] = []
        async with self:
            async for chunk in self:
                parts.append(chunk.text)
                calls.extend(chunk.calls)
        return CollectedResponse(text="".join(parts), tool_calls=calls)


def chat(
    llm: Any,
    *,
    chat_ctx: Any,
    tools: Sequence[Any] | None = None,
    tool_choice: Any = "auto",
    **_: Any,
) -> LLMStream:
    """``llm.chat(...)`` as an :class:`LLMStream`, for any voxfsm LLM."""
    stream = llm.chat(chat_ctx=chat_ctx, tools=list(tools or ()), tool_choice=tool_choice)
    return stream if isinstance(stream, LLMStream) else LLMStream(stream)


class AsyncContextLLM:
    """Mixin: ``async with llm:`` (LiveKit tests open every LLM that way); closes on exit."""

    async def aclose(self) -> None:
        """Release what the model holds (nothing for a scripted one)."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
