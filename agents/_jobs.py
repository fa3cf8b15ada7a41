"""Job serialisation: one piece of session work at a time, and nested speech settled in order.

A ``run()``, a ``start()``, a background reply or an ``update_agent()`` swap each become a
*job* that holds the session's baton while it runs.  Speech started inside a job by hooks and
tools is *pending* in the frame that started it (a nested reply settles its own frame, so it
never waits for itself); handoffs decided inside it are *deferred* until the code that decided
them has finished.  The job drains both before it lets the next job in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from voxfsm.agents import _tasks
from voxfsm.agents._scope import Scope, _frame, _scope, current_scope
from voxfsm.agents.events import ErrorEvent
from voxfsm.agents.run_result import RunResult
from voxfsm.agents.tools import ToolError

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")


_CAN_TELL = hasattr(asyncio.Task, "cancelling")  # Python 3.11+


async def _settle(pending: list[asyncio.Task[None]]) -> None:
    """Wait for every task in ``pending`` (and those they add), whatever they end with."""
    while pending:
        if len(pending) == 1 and _CAN_TELL:  # the usual case (one greeting): no gather
            task = pending.pop()
            if not task.done():
                try:
                    await task
                except asyncio.CancelledError:
                    cancelling = getattr(asyncio.current_task(), "cancelling", None)
                    if cancelling is None or cancelling():
                        raise  # we are cancelled, not (only) the task
                except Exception:
                    pass  # its own business, as with gather(return_exceptions=True)
            continue
        tasks = pending[:]
        pending.clear()
        await asyncio.gather(*tasks, return_exceptions=True)


class Jobs:
    """The baton, the running jobs, and the callers suspended in an ``AgentTask``."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self.s = session
        self.baton = asyncio.Lock()
        self.running: set[asyncio.Task[None]] = set()
        self.waiters: list[_tasks.TaskWaiter] = []
        self.done = 0

    def spawn(
        self,
        work: Callable[[Scope], Awaitable[None]],
        result: RunResult[Any],
        *,
        closing: bool = False,
    ) -> None:
        s = self.s
        if s._closed or (s._closing and not closing):
            raise RuntimeError("the session is closed (or closing); start a new AgentSession")
        scope = Scope(s, result)
        task = asyncio.create_task(self._job(work, scope))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _job(self, work: Callable[[Scope], Awaitable[None]], scope: Scope) -> None:
        s = self.s
        _scope.set(scope)
        scope.job = asyncio.current_task()
        error: BaseException | None = None
        try:
            await self.baton.acquire()
            scope.holds_baton = True
            await work(scope)
            await self.drain(scope)
            s._retain()
        except BaseException as exc:  # the run's awaiter gets it; the session keeps going
            error = exc
            if isinstance(exc, asyncio.CancelledError) and s._closing:
                scope.errors.clear()
                error = RuntimeError("the session was closed before this turn finished")
            for task in scope.pending:
                task.cancel()
            scope.pending.clear()
            scope.deferred.clear()
        finally:
            if scope.holds_baton:
                scope.holds_baton = False
                self.baton.release()
            if s._agent_state in ("thinking", "speaking"):
                s._set_agent_state("listening")
            self.done += 1
            if "session_idle" in s._listeners:
                # queued before the run's awaiters wake: a save on idle happens first
                asyncio.get_running_loop().call_soon(self._announce_idle)
            scope.finish(error)
            scope.job = None  # task -> coroutine -> scope -> task: let refcounting free them
        if isinstance(error, asyncio.CancelledError):
            raise error  # cancelled from outside (not by aclose): keep cancelling

    def is_idle(self) -> bool:
        return not (self.baton.locked() or self.waiters or any(not j.done() for j in self.running))

    def _announce_idle(self) -> None:
        # after the job's task has finished, so a listener may snapshot the session
        if self.is_idle() and not self.s._closed:
            self.s.emit("session_idle", self.done)

    async def settle(self, scope: Scope) -> None:
        """Wait for the speech the running code started so far (never for that code itself)."""
        frame = _frame.get()
        await _settle(scope.pending if frame is None else frame)

    async def drain(self, scope: Scope) -> None:
        s = self.s
        while True:
            frame = _frame.get()
            if frame is not None:
                await _settle(frame)
            await _settle(scope.pending)
            if scope.deferred:
                await scope.deferred.popleft()()
                continue
            waiter = _tasks.ready_waiter(s)
            if waiter is not None:
                await _tasks.resume(s, waiter, scope)
                continue
            break
        if scope.errors:
            raise scope.errors[0]

    def nested_scope(self) -> Scope | None:
        scope = current_scope()
        return scope if scope is not None and scope.session is self.s else None

    def schedule(self, run: Callable[[Scope], Awaitable[None]], what: str) -> None:
        """Run speech nested in the current job (inside a hook or tool), or as a job of its own."""
        scope = self.nested_scope()
        if scope is None:
            self.spawn(run, self.background_result(what))
            return
        frame = _frame.get()

        async def nested() -> None:
            own: list[asyncio.Task[None]] = []
            _frame.set(own)  # what this reply's tools start is this reply's to settle
            try:
                await run(scope)
                await _settle(own)
            except Exception as exc:
                scope.errors.append(exc)
            finally:
                for task in own:
                    task.cancel()

        (scope.pending if frame is None else frame).append(asyncio.create_task(nested()))

    def background_result(self, what: str) -> RunResult[Any]:
        result: RunResult[Any] = RunResult()

        def report(fut: asyncio.Future[None]) -> None:
            exc = fut.exception()
            if exc is not None:
                # nobody awaits background work: log it and tell listeners
                log.error("background %s failed", what, exc_info=exc)
                self.s.emit("error", ErrorEvent(exc, what))

        result._done.add_done_callback(report)
        return result

    async def close(self, drain_timeout: float | None) -> None:
        """Let running work finish (cancel it after ``drain_timeout``), then unwind and close."""
        s = self.s
        result: RunResult[Any] = RunResult()
        # callers waiting for an AgentTask are not drained: the close job unwinds them so
        # that each gets its tool output and its on_exit
        waiting = {w.scope.job for w in self.waiters}
        busy = [j for j in self.running if not j.done() and j not in waiting]
        if busy:
            _, stuck = await asyncio.wait(busy, timeout=drain_timeout)
            for job in stuck:
                job.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        self.spawn(self._close_job, result, closing=True)
        s._closed = True
        try:
            await result
        finally:
            for waiter in self.waiters:
                if not waiter.resumed.done():
                    waiter.resumed.cancel()
            self.waiters.clear()

    async def _close_job(self, scope: Scope) -> None:
        s = self.s
        # unwind AgentTasks still waiting for the user: each caller gets its tool output
        # (an error saying the session closed) and leaves through its own on_exit
        while self.waiters:
            waiter = self.waiters[-1]
            if not waiter.task.done():
                waiter.task.complete(ToolError("the session closed before this task completed"))
            await _tasks.resume(s, waiter, scope)
        # normally only the current agent is active; a swap cut short may leave its
        # predecessor active instead
        position = s._position
        for agent in (position.agent, *position.visited.values()):
            if agent is not None and agent._runtime.status == "active":
                await s._life.exit(agent, scope)
