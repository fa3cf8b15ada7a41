"""``Deadline``: bound the awaits inside a block, telling our own expiry from anything else.

``asyncio.wait_for`` cannot tell its timeout from a ``TimeoutError`` the awaited code raised
itself (a tool's HTTP client, say); this can.  It can also be disarmed from inside the block:
a tool that hands the conversation to an ``AgentTask`` waits for the user, not for itself.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from types import TracebackType


class Expired(Exception):
    """The deadline passed while the block ran (raised by the ``async with``)."""


class Deadline:
    """``async with Deadline(seconds):`` (``None``: no bound).  Raises :class:`Expired`."""

    __slots__ = ("_handle", "_seconds", "_task", "expired")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None
        self.expired = False

    async def __aenter__(self) -> Deadline:
        if self._seconds is not None:
            self._task = asyncio.current_task()
            self._handle = asyncio.get_running_loop().call_later(self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        if self._task is not None and not self._task.done():
            self.expired = True
            self._task.cancel()

    def disarm(self) -> None:
        """No bound any more (from inside the block)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disarm()
        if self.expired and exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            uncancel = getattr(self._task, "uncancel", None)
            if uncancel is not None:  # Python 3.11+: the cancel we caused is consumed
                uncancel()
            raise Expired() from None


# the deadline of the tool running in this context (an AgentTask it awaits disarms it)
tool_deadline: ContextVar[Deadline | None] = ContextVar("voxfsm_tool_deadline", default=None)
