"""Agent speech: ``SpeechHandle`` (one scheduled reply or ``say``) and ``SpeechOutput``.

``SpeechOutput`` is the seam between a session and whatever delivers its words: the session
hands every reply's text, as the LLM streams it, to ``session.output`` (the voice loop installs
itself there) or, in text mode, to :class:`TextOutput`.  The same generation loop serves both.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from voxfsm.agents.chat import ChatItem

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent

_ids = itertools.count(1)


class ReplyBrokenOff(Exception):
    """Raised by the text iterator a voice output reads when the LLM's reply broke off.

    The output should stop speaking at once (an unfinished sentence is not said) and return
    what was played; the session then records that and reports the LLM's error.
    """


@attrs.frozen
class PlayoutResult:
    """What a voice output really played: the text heard, and whether it was cut short."""

    spoken_text: str
    interrupted: bool = False


@runtime_checkable
class SpeechOutput(Protocol):
    """Delivers an agent's reply as it streams in, and says what really got delivered.

    ``text`` yields the reply's pieces; it raises :class:`ReplyBrokenOff` when the LLM failed
    mid-reply (stop at once, say no unfinished sentence).  Stopping early (barge-in, a device
    gone) is allowed: return what was delivered with ``interrupted=True``; the session then
    stops reading the LLM and records only that.
    """

    async def speak(self, text: AsyncIterator[str], *, agent: Agent) -> PlayoutResult: ...


class TextOutput:
    """Text mode's output: the reply is delivered whole when the LLM has finished it.

    A reply that breaks off delivers nothing (the session records nothing of it).
    """

    async def speak(self, text: AsyncIterator[str], *, agent: Agent) -> PlayoutResult:
        parts: list[str] = []
        try:
            async for piece in text:
                parts.append(piece)
        except ReplyBrokenOff:
            return PlayoutResult("", interrupted=True)
        return PlayoutResult("".join(parts))


TEXT_OUTPUT = TextOutput()


class SpeechHandle:
    """Awaitable handle of a scheduled speech; awaiting it never raises (see ``exception()``)."""

    def __init__(self, *, allow_interruptions: bool = True) -> None:
        self.id = f"speech_{next(_ids):x}"
        self.allow_interruptions = allow_interruptions
        self.interrupted = False
        self.chat_items: list[ChatItem] = []
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._exception: BaseException | None = None
        self._interrupt_asked = asyncio.Event()

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<SpeechHandle {self.id} {state}{' interrupted' if self.interrupted else ''}>"

    def done(self) -> bool:
        return self._done.done()

    def exception(self) -> BaseException | None:
        return self._exception

    def interrupt(self, *, force: bool = False) -> None:
        """Ask the speech to stop; refused for uninterruptible speech unless ``force``."""
        if not self.allow_interruptions and not force:
            raise RuntimeError("this speech does not allow interruptions (pass force=True)")
        if not self.done():
            self.interrupted = True
            self._interrupt_asked.set()

    def add_done_callback(self, callback: Callable[[SpeechHandle], Any]) -> None:
        self._done.add_done_callback(lambda _: callback(self))

    async def wait_if_not_interrupted(self, aws: Iterable[Awaitable[Any]]) -> None:
        """Wait for all of ``aws``, or until this speech is interrupted, whichever is first
        (the awaitables keep running; check ``interrupted`` and cancel them if needed)."""
        futures = [asyncio.ensure_future(a) for a in aws]
        if not futures:
            return
        everything = asyncio.ensure_future(asyncio.wait(futures))
        stopped = asyncio.ensure_future(self._interrupt_asked.wait())
        try:
            await asyncio.wait({everything, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            everything.cancel()
            stopped.cancel()

    async def wait_for_playout(self) -> None:
        await asyncio.shield(self._done)

    def __await__(self) -> Generator[Any, None, SpeechHandle]:
        yield from asyncio.shield(self._done).__await__()
        return self

    def _finish(self, exc: BaseException | None = None) -> None:
        if not self._done.done():
            self._exception = exc
            self._done.set_result(None)
