"""Preemptive generation: ask the LLM for the reply before the user's turn is confirmed.

LiveKit's ``preemptive_generation=True``. The voice loop knows what the user said a little
before it is sure the user has finished (an early transcript in the silence after speech).
It calls :func:`start_preemption` with that text: the agent's LLM step (its ``llm_node`` if it
overrides one) starts on the agent's context plus that user message, and its chunks are kept.
Nothing is recorded, nothing is spoken, no tool runs.

When the turn is then confirmed, the session runs it as always: it records the user message
and asks for the reply. At that request the kept reply is used when it was asked with exactly
what the session now asks with (same agent, LLM, context items, user text, tools and tool
choice); otherwise it is dropped and the request goes out as usual. So history never depends
on a speculation: a user who starts speaking again (the loop calls :func:`cancel_preemption`), a
transcript that changed, or an ``on_user_turn_completed`` that edited the context just cost
one discarded request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from voxfsm.agents.chat import ChatContext, ChatMessage
from voxfsm.agents.llm.base import LLMChunk

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent

__all__ = ["Preemption", "active", "cancel_preemption", "pending", "start_preemption", "take"]

log = logging.getLogger("voxfsm.agents")

_pending: weakref.WeakKeyDictionary[Agent, Preemption] = weakref.WeakKeyDictionary()


class Preemption:
    """One speculative reply: the request it was made with and the chunks received so far."""

    def __init__(
        self, agent: Agent, llm: Any, ctx: ChatContext, tools: Sequence[Any], choice: Any
    ) -> None:
        from voxfsm.agents.nodes import raw_llm_stream

        self.agent, self.llm, self.choice = agent, llm, choice
        self.items = list(ctx.items)
        self.tools = list(tools)
        self.text = self.items[-1].text_content if self.items else ""
        self.chunks: list[LLMChunk] = []
        self.error: BaseException | None = None
        self.finished = False
        self.used = False
        self._wake = asyncio.Event()
        self._stream = raw_llm_stream(agent, llm, ctx, self.tools, choice)
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            async for chunk in self._stream:
                self.chunks.append(chunk)
                self._wake.set()
        except Exception as exc:  # replayed to the real request, which reports it
            self.error = exc
        finally:
            self.finished = True
            self._wake.set()
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    def matches(
        self, agent: Agent, llm: Any, ctx: ChatContext, tools: Sequence[Any], choice: Any
    ) -> bool:
        """Was this reply asked with exactly the request the session makes now?"""
        items = ctx.items
        if agent is not self.agent or llm is not self.llm or choice != self.choice:
            return False
        if len(items) != len(self.items) or len(tools) != len(self.tools):
            return False
        if any(a is not b for a, b in zip(tools, self.tools, strict=True)):
            return False
        # the session recorded its own user message: equal text in the same place is enough
        *before, last = items
        if (
            not isinstance(last, ChatMessage)
            or last.role != "user"
            or last.text_content != self.text
        ):
            return False
        return all(a is b for a, b in zip(before, self.items[:-1], strict=True))

    async def replay(self) -> AsyncIterator[LLMChunk]:
        """The chunks received so far, then the rest as it arrives."""
        self.used = True
        index = 0
        try:
            while True:
                while index < len(self.chunks):
                    yield self.chunks[index]
                    index += 1
                if self.finished:
                    if self.error is not None:
                        raise self.error
                    return
                self._wake.clear()
                await self._wake.wait()
        finally:
            if not self.finished:  # the reader stopped (barge-in, a bound): stop the LLM
                self.task.cancel()

    def cancel(self) -> None:
        if not self.task.done():
            self.task.cancel()


def start_preemption(agent: Agent, llm: Any, user_text: str, tools: Sequence[Any]) -> Preemption:
    """Start the reply of ``agent`` to ``user_text`` now (replacing any earlier one)."""
    cancel_preemption(agent)
    ctx = ChatContext([*agent._chat_ctx.items, ChatMessage(role="user", content=[user_text])])
    preemption = _pending[agent] = Preemption(agent, llm, ctx, tools, "auto")
    log.debug("preemptive generation for %r: %r", agent.id, user_text)
    return preemption


def active() -> bool:
    """Whether any speculative reply is kept (the engine's fast check on every request)."""
    return bool(_pending)


def pending(agent: Agent) -> Preemption | None:
    """The speculative reply kept for ``agent``, if any."""
    return _pending.get(agent)


def cancel_preemption(agent: Agent) -> None:
    """Drop the speculative reply of ``agent`` (the user went on speaking)."""
    preemption = _pending.pop(agent, None)
    if preemption is not None:
        preemption.cancel()


def take(
    agent: Agent, llm: Any, ctx: ChatContext, tools: Sequence[Any], choice: Any
) -> AsyncIterator[LLMChunk] | None:
    """The kept reply for this request, if one matches it; any other kept reply is dropped."""
    preemption = _pending.pop(agent, None)
    if preemption is None:
        return None
    usable = not (preemption.finished and preemption.error is not None)
    if usable and preemption.matches(agent, llm, ctx, tools, choice):
        log.debug("preemptive generation used for %r", agent.id)
        return preemption.replay()
    log.debug("preemptive generation for %r dropped: the request differs", agent.id)
    preemption.cancel()
    return None
