"""``ScriptedLLM``: a deterministic model for tests and offline demos.

The script maps a key to a response.  The key is matched against the text of the *last* item
of the context the model is given (the user's message, ephemeral instructions, the last tool
output...): an exact ``str`` or a ``re.Pattern`` (``search``).  The first matching key wins.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import attrs

from voxfsm.agents.chat import ChatContext, item_text
from voxfsm.agents.llm.base import LLMChunk, ToolCallRequest, ToolChoice
from voxfsm.agents.llm.stream import LLM, LLMStream
from voxfsm.agents.tools import FunctionTool

_call_ids = itertools.count(1)
# the text chunks of each (reply text, words per chunk) seen, shared by every ScriptedLLM:
# chunks are immutable, and the calls that ride on a reply's last chunk get fresh ids
_pieces: dict[tuple[str, int], tuple[LLMChunk, ...]] = {}


@attrs.frozen
class ScriptedCall:
    """A tool call in a script (see :func:`call`)."""

    name: str
    arguments: Mapping[str, Any] | str = attrs.field(factory=dict)

    def request(self) -> ToolCallRequest:
        args = (
            self.arguments if isinstance(self.arguments, str) else json.dumps(dict(self.arguments))
        )
        return ToolCallRequest(
            call_id=f"scripted_{next(_call_ids)}", name=self.name, arguments=args
        )


@attrs.frozen
class ScriptedReply:
    """A reply in a script: text, then (optionally) tool calls emitted with it."""

    text: str = ""
    calls: tuple[ScriptedCall, ...] = ()


def reply(text: str, /, *, calls: Sequence[ScriptedCall] = ()) -> ScriptedReply:
    """A scripted reply with ``text`` (and tool calls emitted after it)."""
    return ScriptedReply(text, tuple(calls))


def call(tool_name: str, /, **arguments: Any) -> ScriptedCall:
    """A scripted tool call. Positional-only, so a tool argument may itself be called ``name``."""
    return ScriptedCall(tool_name, arguments)


Response = Union[ScriptedReply, ScriptedCall, Sequence[ScriptedCall], str, None]
Script = Union[
    Mapping[Union[str, "re.Pattern[str]"], Response],
    Sequence[tuple[Union[str, "re.Pattern[str]"], Response]],
    Callable[[ChatContext, Sequence[FunctionTool]], Response],
]


@attrs.frozen
class Request:
    """What the model was asked: the context (a snapshot), tool names and tool choice."""

    chat_ctx: ChatContext
    tools: tuple[str, ...]
    tool_choice: ToolChoice

    @property
    def last_text(self) -> str:
        return item_text(self.chat_ctx.items[-1]) if self.chat_ctx.items else ""


def normalize_response(response: Response) -> ScriptedReply:
    """Any accepted script response (text, call, list of calls, reply, None) as a reply."""
    if response is None:
        return ScriptedReply()
    if isinstance(response, ScriptedReply):
        return response
    if isinstance(response, str):
        return ScriptedReply(response)
    if isinstance(response, ScriptedCall):
        return ScriptedReply("", (response,))
    calls = tuple(response)
    for c in calls:
        if not isinstance(c, ScriptedCall):
            raise TypeError(f"a script response list must hold call(...) items, got {c!r}")
    return ScriptedReply("", calls)


class ScriptedLLM(LLM):
    """A deterministic LLM: replies come from a script, never from a model.

    ``chunk_words`` splits each text reply into streamed chunks of that many words (so a voice
    loop can start speaking before the reply ends); 0 sends the text in one chunk.
    """

    def __init__(
        self,
        script: Script,
        *,
        default: Response = None,
        chunk_words: int = 0,
        record: bool = True,
    ) -> None:
        if callable(script):
            self._fn: Callable[[ChatContext, Sequence[FunctionTool]], Response] | None = script
            self._rules: list[tuple[Any, ScriptedReply]] = []
        else:
            self._fn = None
            pairs = script.items() if isinstance(script, Mapping) else script
            self._rules = [(key, normalize_response(resp)) for key, resp in pairs]
            for key, _ in self._rules:
                if not isinstance(key, (str, re.Pattern)):
                    raise TypeError(f"script keys must be str or re.Pattern, got {key!r}")
        self._default = normalize_response(default)
        self._chunk_words = chunk_words
        self._record = record
        self.requests: list[Request] = []

    def respond(self, chat_ctx: ChatContext, tools: Sequence[FunctionTool]) -> ScriptedReply:
        """The scripted reply for this context (no side effects besides nothing)."""
        if self._fn is not None:
            return normalize_response(self._fn(chat_ctx, tools))
        items = chat_ctx.items
        text = item_text(items[-1]) if items else ""
        for key, resp in self._rules:
            if (key == text) if isinstance(key, str) else key.search(text):
                return resp
        return self._default

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool] | None = None,
        tool_choice: ToolChoice = "auto",
        **_options: Any,
    ) -> LLMStream:
        """Stream the scripted reply (LiveKit's extra options, e.g. ``conn_options``, are
        accepted and have no effect)."""
        return _ScriptedStream(self, chat_ctx, tools or (), tool_choice)

    def _chunks(
        self, chat_ctx: ChatContext, tools: Sequence[FunctionTool], tool_choice: ToolChoice
    ) -> tuple[LLMChunk, ...]:
        """The whole reply to one request, as the chunks it streams (recorded if asked)."""
        if self._record:
            self.requests.append(
                Request(chat_ctx.copy(), tuple(t.name for t in tools), tool_choice)
            )
        resp = self.respond(chat_ctx, tools)
        calls = (
            ()
            if tool_choice == "none" or not resp.calls
            else tuple(c.request() for c in resp.calls)
        )
        text = resp.text
        if not (self._chunk_words and text):
            return (LLMChunk(text, calls),)
        n = self._chunk_words
        pieces = _pieces.get((text, n))
        if pieces is None:
            if len(_pieces) >= 1024:  # scripts generating endless texts: keep it bounded
                _pieces.clear()
            words = text.split(" ")
            last = len(words) - 1
            pieces = _pieces[(text, n)] = tuple(
                LLMChunk(" ".join(words[i : i + n]) + ("" if i + n > last else " "))
                for i in range(0, len(words), n)
            )
        if calls:  # the calls come with the last piece of text
            pieces = (*pieces[:-1], LLMChunk(pieces[-1].text, calls))
        return pieces


class _ScriptedStream(LLMStream):
    """The stream of one scripted reply: decided on the first read, then handed out chunk by
    chunk (no generator, no per-chunk conversion: these are ``LLMChunk`` already)."""

    def __init__(
        self,
        llm: ScriptedLLM,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        tool_choice: ToolChoice,
    ) -> None:
        self._llm = llm
        self._request: tuple[Any, ...] | None = (chat_ctx, tools, tool_choice)
        self._ready: tuple[LLMChunk, ...] = ()
        self._next = 0
        self._closed = False

    async def __anext__(self) -> LLMChunk:
        if self._request is not None:
            request, self._request = self._request, None
            if not self._closed:
                self._ready = self._llm._chunks(*request)
        n = self._next
        if self._closed or n >= len(self._ready):
            raise StopAsyncIteration
        self._next = n + 1
        return self._ready[n]

    async def aclose(self) -> None:
        self._closed = True
