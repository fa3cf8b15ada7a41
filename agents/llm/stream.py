"""Using an LLM directly, the way LiveKit code does: ``async with llm:``, ``llm.chat(...)``.

``LLMStream`` wraps what any voxfsm LLM's ``chat()`` yields (``LLMChunk`` items, which also
read as LiveKit ``ChatChunk`` through ``.delta``) so that it can be iterated, used as
``async with llm.chat(...) as stream:``, and collected into one response.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import inspect
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from typing_extensions import Self

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


class _Channel:
    """Where a LiveKit-style stream's ``_run()`` sends its chunks (``send_nowait``)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False

    def send_nowait(self, chunk: Any) -> None:
        if self.closed:
            raise RuntimeError("the LLM stream is closed; _run() sent a chunk after its end")
        self._queue.put_nowait(chunk)

    def close(self) -> None:
        self.closed = True


_END = object()


class LLMStream:
    """An LLM reply being streamed: iterate it, ``async with`` it, or ``await collect()``.

    Two ways to make one: ``LLMStream(chunks)`` around any async iterator (or awaitable of one)
    of chunks, or, as in LiveKit, subclass it, call ``super().__init__(llm, chat_ctx=...,
    tools=..., conn_options=...)`` and implement ``async _run()`` sending ``ChatChunk`` objects
    with ``self._event_ch.send_nowait(...)``. ``_run()`` starts when the stream is first read.
    """

    def __init__(
        self,
        source: Any = None,
        /,
        *,
        chat_ctx: Any = None,
        tools: Sequence[Any] | None = None,
        conn_options: Any = None,
        **_: Any,
    ) -> None:
        streaming = hasattr(source, "__anext__") or inspect.isawaitable(source)
        self._source: Any = source if streaming else None
        self._llm: Any = None if streaming else source
        self._chat_ctx = chat_ctx
        self._tools = list(tools or ())
        self._conn_options = conn_options
        self._event_ch = _Channel()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def chat_ctx(self) -> Any:
        """The context this reply was asked for."""
        return self._chat_ctx

    @property
    def tools(self) -> list[Any]:
        return self._tools

    async def _run(self) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} has nothing to stream: pass an async iterator of chunks "
            "to LLMStream(...), or implement _run() sending chunks with self._event_ch"
        )

    def __aiter__(self) -> LLMStream:
        return self

    async def _next_raw(self) -> Any:
        if self._source is not None:
            if inspect.isawaitable(self._source):
                self._source = await self._source
            return await self._source.__anext__()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drive())
        item = await self._event_ch._queue.get()
        if item is _END:
            self._event_ch._queue.put_nowait(_END)  # reading past the end keeps stopping
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    async def _drive(self) -> None:
        queue = self._event_ch._queue
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, which raises it
            queue.put_nowait(exc)
        finally:
            self._event_ch.close()
            queue.put_nowait(_END)

    async def __anext__(self) -> LLMChunk:
        if self._closed:
            raise StopAsyncIteration
        while True:
            chunk = to_llm_chunk(await self._next_raw())
            if chunk is not None:
                return chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = getattr(self._source, "aclose", None)
        if close is not None:
            await close()
        elif inspect.iscoroutine(self._source):
            self._source.close()  # never awaited: say so to nobody

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
    """``llm.chat(...)`` as an :class:`LLMStream`, for any object with a ``chat`` method."""
    stream = llm.chat(chat_ctx=chat_ctx, tools=list(tools or ()), tool_choice=tool_choice)
    return stream if isinstance(stream, LLMStream) else LLMStream(stream)


def _streaming_chat(fn: Callable[..., Any]) -> Callable[..., LLMStream]:
    """Wrap a subclass's ``chat`` so that it always returns an :class:`LLMStream` and accepts
    LiveKit's call shape: ``tools`` may be left out, and options the method does not name
    (``conn_options``, ``parallel_tool_calls``, ``extra_kwargs``...) are dropped."""
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    needs_tools = "tools" in params and params["tools"].default is inspect.Parameter.empty

    @functools.wraps(fn)
    def chat(self: Any, *args: Any, **kwargs: Any) -> LLMStream:
        if needs_tools and kwargs.get("tools") is None:
            kwargs["tools"] = []
        if not takes_any:
            kwargs = {k: v for k, v in kwargs.items() if k in params}
        stream = fn(self, *args, **kwargs)
        return stream if isinstance(stream, LLMStream) else LLMStream(stream)

    chat.__voxfsm_streaming__ = True  # type: ignore[attr-defined]
    return chat


class LLM(abc.ABC):
    """Base class of every voxfsm LLM, and what LiveKit-style subclasses derive from.

    A subclass implements ``chat(*, chat_ctx, tools, tool_choice="auto", ...)`` returning an
    async iterator of chunks (an ``async def`` generator yielding ``LLMChunk``/``ChatChunk``/
    ``str``) or an :class:`LLMStream`. Whatever it returns, callers get an ``LLMStream``: it
    can be iterated, used as ``async with llm.chat(...) as stream:`` and collected. The model
    itself is an async context manager (``async with llm:`` closes it with ``aclose()``).

    ``isinstance(obj, LLM)`` is also true for any object with a ``chat`` method, so an LLM
    written without this base class still passes where an LLM is expected.
    """

    def __init__(self) -> None:
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("chat")
        if callable(fn) and not getattr(fn, "__voxfsm_streaming__", False):
            cls.chat = _streaming_chat(fn)  # type: ignore[method-assign]

    @classmethod
    def __subclasshook__(cls, other: type) -> bool | Any:
        if cls is LLM and any(callable(vars(k).get("chat")) for k in other.__mro__):
            return True
        return NotImplemented

    @abc.abstractmethod
    def chat(
        self,
        *,
        chat_ctx: Any,
        tools: Sequence[Any] | None = None,
        tool_choice: Any = "auto",
        **options: Any,
    ) -> LLMStream:
        """Stream a reply to ``chat_ctx`` that may call ``tools``."""

    @property
    def label(self) -> str:
        return getattr(self, "_label", f"{type(self).__module__}.{type(self).__name__}")

    model: str = "unknown"
    """The model's name (a subclass sets it, as a class or instance attribute)."""
    provider: str = "voxfsm"

    def prewarm(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start getting ready (load weights, open a connection) before the first request,
        in the background on ``loop`` (the running loop by default); a subclass does the
        work in ``async _prewarm_impl()``."""
        impl = getattr(self, "_prewarm_impl", None)
        if impl is None:
            return
        loop = loop or asyncio.get_running_loop()
        task = loop.create_task(impl())
        self._prewarm_task = task  # keep a reference until it is done

    async def aclose(self) -> None:  # noqa: B027 (optional hook: most models hold nothing)
        """Release what the model holds (nothing by default)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


AsyncContextLLM = LLM
"""Former name of the base class (kept for code written against it)."""
