"""The one generation loop: stream the LLM, hand its text to the output, collect its calls.

Text and voice share it; only the :class:`~voxfsm.agents.speech.SpeechOutput` differs
(``session.output``, or :data:`~voxfsm.agents.speech.TEXT_OUTPUT`).  Every chunk is checked,
calls sent while tools are disabled are dropped with a warning, and two bounds hold for every
reply: its length (``max_reply_chars``) and its duration (``max_reply_seconds``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents import nodes
from voxfsm.agents._deadline import Deadline, Expired
from voxfsm.agents.chat import ChatContext, ChatMessage, FunctionCall
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.llm.base import LLMChunk, LLMError, ToolCallRequest
from voxfsm.agents.run_result import ChatMessageEvent, FunctionCallEvent
from voxfsm.agents.speech import PlayoutResult, ReplyBrokenOff, SpeechHandle
from voxfsm.agents.tools import FunctionTool

if TYPE_CHECKING:
    from voxfsm.agents._scope import Scope
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")


class _Feed:
    """The reply's text as an async iterator for the output; it may end in ReplyBrokenOff."""

    __slots__ = ("_closed", "_error", "_pieces", "_waiter")

    def __init__(self) -> None:
        self._pieces: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._closed = False

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def put(self, piece: str) -> None:
        self._pieces.append(piece)
        self._wake()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> str:
        while not self._pieces:
            if self._error is not None:
                error, self._error = self._error, None
                self._closed = True
                raise error
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._pieces.popleft()


def check_chunk(llm: Any, chunk: Any) -> None:
    if not isinstance(chunk, LLMChunk):
        raise LLMError(
            f"{type(llm).__name__}.chat() yielded {chunk!r} ({type(chunk).__name__}); "
            "an LLM must yield LLMChunk objects"
        )


def open_stream(
    agent: Agent, llm: Any, ctx: ChatContext, tools: Sequence[FunctionTool], choice: Any
) -> AsyncIterator[LLMChunk]:
    """Where a reply's chunks come from: the one place an agent's LLM step (its
    ``llm_node`` when it overrides it) is called."""
    return nodes.llm_stream(agent, llm, ctx, tools, choice)


async def generate(
    s: AgentSession[Any],
    scope: Scope,
    agent: Agent,
    handle: SpeechHandle,
    llm: Any,
    ctx: ChatContext,
    tools: Sequence[FunctionTool],
    choice: Any,
) -> list[FunctionCall]:
    """One LLM request: the reply is delivered and recorded; returns the calls to run."""
    s._set_agent_state("thinking")
    s.current_speech = handle
    output = s.output
    voice = output is not None
    feed: _Feed | None = None
    playout: asyncio.Task[PlayoutResult] | None = None
    parts: list[str] = []
    requests: list[Any] = []
    size, dropped = 0, 0
    max_chars = s.max_reply_chars
    failure: BaseException | None = None
    limit: LimitExceeded | None = None
    if voice:  # speaking starts with the first words: the output is listening already
        feed = _Feed()
        playout = asyncio.ensure_future(output.speak(feed, agent=agent))
    stream = open_stream(agent, llm, ctx, tools, choice)
    finished = False
    try:
        with Deadline(s.max_reply_seconds):
            async for chunk in stream:
                if type(chunk) is not LLMChunk:
                    check_chunk(llm, chunk)
                text = chunk.text
                if text:
                    if voice and not parts:
                        s._set_agent_state("speaking")
                    parts.append(text)
                    if feed is not None:
                        feed.put(text)
                    size += len(text)
                    if max_chars is not None and size > max_chars:
                        limit = _too_long(agent, max_chars)
                        break
                if chunk.calls:
                    if choice == "none":
                        dropped += len(chunk.calls)
                    else:
                        requests.extend(chunk.calls)
                if handle.interrupted or (playout is not None and playout.done()):
                    break
            else:
                finished = True
    except Expired:
        limit = _too_slow(agent, s.max_reply_seconds)
    except Exception as exc:  # the LLM failed: keep what was already delivered, then report
        failure = exc
        if feed is not None:
            feed.fail(ReplyBrokenOff(str(exc)))
    except BaseException:  # cancelled: the output stops too
        if playout is not None:
            playout.cancel()
        raise
    finally:
        if feed is not None:
            feed.close()
        if not finished:
            await _close(stream)
    # text mode delivers the finished reply: TextOutput's whole job is joining it (below)
    played = await playout if playout is not None else _NOTHING_PLAYED
    if dropped:
        log.warning(
            "the LLM called %d tool(s) of agent %r although tools were disabled for this "
            "reply; the calls were dropped",
            dropped,
            agent.id,
        )
    if failure is not None:
        if played.spoken_text:
            _message(s, scope, agent, handle, played.spoken_text, True)
        raise failure
    interrupted = played.interrupted or handle.interrupted or limit is not None
    if parts or interrupted:
        # what was heard (voice) or shown (text), after the agent's transcription_node
        heard = played.spoken_text if voice and interrupted else "".join(parts)
        spoken = await nodes.transcribe_text(agent, heard, choice)
        if spoken or not limit:
            _message(s, scope, agent, handle, spoken, interrupted)
    if limit is not None:
        s._limit_hit(scope, limit, "llm")
        return []  # a reply cut off by a bound is not acted on
    if interrupted:
        return []  # the user cut in: what was not said is not acted on
    if not requests:
        return []
    return [_call(s, scope, agent, handle, r) for r in requests]


_NOTHING_PLAYED = PlayoutResult("")


async def _close(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing a broken stream must not hide why we stopped reading
            log.debug("closing the LLM stream failed", exc_info=True)


def _too_long(agent: Agent, max_chars: int) -> LimitExceeded:
    return LimitExceeded(
        f"the reply of agent {agent.id!r} passed {max_chars} characters and was cut off "
        f"there; raise AgentSession(max_reply_chars=...) if replies may be longer",
        limit="reply length",
        option="max_reply_chars",
    )


def _too_slow(agent: Agent, seconds: float | None) -> LimitExceeded:
    return LimitExceeded(
        f"the reply of agent {agent.id!r} was still streaming after {seconds:g} s and was "
        "cut off; raise AgentSession(max_reply_seconds=...) for a slower model",
        limit="reply duration",
        option="max_reply_seconds",
    )


def _message(
    s: AgentSession[Any],
    scope: Scope,
    agent: Agent,
    handle: SpeechHandle,
    text: str,
    interrupted: bool,
) -> None:
    msg = ChatMessage(role="assistant", content=[text], interrupted=interrupted)
    handle.chat_items.append(msg)
    s._record(agent, msg, scope, event=ChatMessageEvent(msg))


def _call(
    s: AgentSession[Any], scope: Scope, agent: Agent, handle: SpeechHandle, request: Any
) -> FunctionCall:
    if not isinstance(request, ToolCallRequest):
        raise LLMError(f"the LLM sent {request!r} as a tool call; expected a ToolCallRequest")
    arguments: Any = request.arguments
    if arguments is None:
        arguments = "{}"
    elif not isinstance(arguments, str):
        # some adapters hand over the parsed object: keep JSON text, as the wire format has
        # it; anything but an object is then refused by the tool's argument check
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    fc = FunctionCall(
        call_id=s._unique_call_id(request.call_id),
        name=request.name,
        arguments=arguments,
    )
    handle.chat_items.append(fc)
    s._record(agent, fc, scope, event=FunctionCallEvent(fc))
    return fc
