"""Who is running right now: the session job (scope) and the agent whose code runs."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.run_result import RunResult
    from voxfsm.agents.session import AgentSession


class Scope:
    """One unit of serialized session work (a run, a start, a background reply or swap).

    Speech started by hooks and tools inside it is *pending*; handoffs decided inside it are
    *deferred* until the code that decided them has finished.  The job that owns the scope
    drains both before it lets the next job in.
    """

    __slots__ = (
        "continuation",
        "deferred",
        "errors",
        "handoffs",
        "holds_baton",
        "job",
        "pending",
        "reported",
        "result",
        "session",
    )

    def __init__(self, session: AgentSession[Any], result: RunResult[Any]) -> None:
        self.session = session
        self.result = result
        self.pending: list[asyncio.Task[None]] = []
        self.deferred: deque[Callable[[], Awaitable[None]]] = deque()
        self.errors: list[BaseException] = []
        self.holds_baton = False
        self.handoffs = 0  # committed in this job (bounded by max_handoffs_per_turn)
        self.reported: set[str] = set()  # limits already reported as an error event
        self.job: asyncio.Task[None] | None = None  # the task running this scope's work
        # set when a suspended AgentTask caller is resumed by a later run: finishing this
        # scope then wakes that run instead of completing our (already complete) result
        self.continuation: asyncio.Future[None] | None = None

    def adopt(self, other: Scope, continuation: asyncio.Future[None]) -> None:
        """Continue on behalf of ``other``: its result, its pending speech, its handoffs."""
        self.result = other.result
        # speech this scope started and nobody awaited yet is still this job's to wait for
        other.pending.extend(t for t in self.pending if not t.done())
        self.pending = other.pending
        self.deferred = other.deferred
        self.errors = other.errors
        self.handoffs = other.handoffs
        self.reported = other.reported
        self.continuation = continuation

    def finish(self, exc: BaseException | None) -> None:
        if self.continuation is not None:
            if not self.continuation.done():
                if exc is None:
                    self.continuation.set_result(None)
                else:
                    self.continuation.set_exception(exc)
            return
        self.result._finish(exc)


_scope: ContextVar[Scope | None] = ContextVar("voxfsm_scope", default=None)
_speaker: ContextVar[Agent | None] = ContextVar("voxfsm_speaker", default=None)
_tool: ContextVar[str | None] = ContextVar("voxfsm_tool", default=None)
# Where speech started by the running code goes: a nested reply collects the speech its own
# tools and hooks start in a list of its own, so settling never waits for the reply itself
# (None: the job's top level, ``scope.pending``).
_frame: ContextVar[list[asyncio.Task[None]] | None] = ContextVar("voxfsm_frame", default=None)


def current_scope() -> Scope | None:
    return _scope.get()
