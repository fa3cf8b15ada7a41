"""``Deadline``: bound the awaits inside a block, telling our own expiry from anything else.

``asyncio.wait_for`` cannot tell its timeout from a ``TimeoutError`` the awaited code raised
itself (a tool's HTTP client, say); this can.  It can also be disarmed from inside the block:
a tool that hands the conversation to an ``AgentTask`` waits for the user, not for itself.
"""

from __future__ import annotations

import asyncio
import weakref
from contextvars import ContextVar
from types import TracebackType


class Expired(Exception):
    """The deadline passed while the block ran (raised by the ``async with``)."""


class _Watchdog:
    """One timer per event loop for every armed :class:`Deadline`.

    Turns arm and disarm a deadline for each reply and tool call but almost never reach it;
    a timer handle per deadline (scheduled, then cancelled and left in the loop's heap) cost
    more than the rest of a short turn.  The watchdog keeps a single timer at the earliest
    deadline that may still expire; arming a later one touches no timer at all.
    """

    __slots__ = ("armed", "at", "handle", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # weak: the watchdog is the value of a weak-keyed map whose key is this loop
        self.loop = weakref.ref(loop)
        self.armed: dict[Deadline, float] = {}
        self.handle: asyncio.TimerHandle | None = None
        self.at = 0.0

    def arm(self, deadline: Deadline, when: float) -> None:
        self.armed[deadline] = when
        if self.handle is None or when < self.at:
            if self.handle is not None:
                self.handle.cancel()
            self.at = when
            self.handle = _loop_of(self).call_at(when, self._check)

    def _check(self) -> None:
        self.handle = None
        now = _loop_of(self).time()
        due = [d for d, when in self.armed.items() if when <= now]
        for deadline in due:
            del self.armed[deadline]
            deadline._expire()
        if self.armed:
            self.at = min(self.armed.values())
            self.handle = _loop_of(self).call_at(self.at, self._check)


def _loop_of(dog: _Watchdog) -> asyncio.AbstractEventLoop:
    loop = dog.loop()
    assert loop is not None  # the loop runs this code
    return loop


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)


_last: _Watchdog | None = None  # the watchdog of the loop seen last (one loop, usually)


def _watchdog(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    global _last
    dog = _last
    if dog is not None and dog.loop() is loop:
        return dog
    dog = _watchdogs.get(loop)
    if dog is None:
        dog = _watchdogs[loop] = _Watchdog(loop)
    _last = dog
    return dog


class Deadline:
    """``async with Deadline(seconds):`` (``None``: no bound).  Raises :class:`Expired`."""

    __slots__ = ("_dog", "_seconds", "_task", "expired")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._dog: _Watchdog | None = None
        self._task: asyncio.Task[object] | None = None
        self.expired = False

    def __enter__(self) -> Deadline:
        """``with Deadline(...)`` works too: arming and disarming never wait."""
        if self._seconds is not None:
            self._task = asyncio.current_task()
            loop = asyncio.get_running_loop()
            self._dog = dog = _watchdog(loop)
            dog.arm(self, loop.time() + self._seconds)
        return self

    async def __aenter__(self) -> Deadline:
        return self.__enter__()

    def _expire(self) -> None:
        self._dog = None
        if self._task is not None and not self._task.done():
            self.expired = True
            self._task.cancel()

    def disarm(self) -> None:
        """No bound any more (from inside the block)."""
        dog = self._dog
        if dog is not None:
            self._dog = None
            dog.armed.pop(self, None)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __exit__(
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
