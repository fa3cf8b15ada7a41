"""``await SomeTask()``: pause the caller, run the task, and resume the caller when it completes.

The run that starts a task completes once the task is active; the caller's coroutine stays
suspended until a later run completes the task, and then finishes on behalf of *that* run.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voxfsm.agents._deadline import tool_deadline
from voxfsm.agents._scope import Scope, _speaker, _tool
from voxfsm.agents.agent import AgentTask
from voxfsm.agents.chat import AgentHandoff
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.run_result import AgentHandoffEvent
from voxfsm.agents.tools import ToolError

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession


class TaskWaiter:
    """A caller suspended in ``await SomeTask()`` until a later run completes the task."""

    __slots__ = ("resumed", "scope", "task")

    def __init__(self, task: AgentTask[Any], scope: Scope) -> None:
        self.task = task
        self.scope = scope
        # set by the run that completes the task: its scope, and a future to wake it with
        self.resumed: asyncio.Future[tuple[Scope, asyncio.Future[None]]] = (
            asyncio.get_running_loop().create_future()
        )


async def run_task(s: AgentSession[Any], task: AgentTask[Any], scope: Scope) -> Any:
    caller = _speaker.get() or s.current_agent
    if caller._runtime.status != "active" or s._position.agent is not caller:
        # e.g. two parallel tool calls that each start a task: like two handoffs in one
        # step, the second is refused rather than run with two active agents
        raise ToolError(
            f"{caller.id!r} is not the active agent any more (another tool of this step "
            "already started an AgentTask); start one task at a time"
        )
    if task._runtime.status != "inactive":
        raise RuntimeError(f"cannot start task {task.id!r}: it is already {task._runtime.status}")
    limit = s.max_handoffs_per_turn
    if scope.handoffs >= limit:
        error = LimitExceeded(
            f"task {task.id!r} was not started: {limit} handoffs already happened in this "
            f"user turn (AgentSession(max_handoffs_per_turn={limit}))",
            limit="handoffs per turn",
            option="max_handoffs_per_turn",
        )
        s._limit_hit(scope, error, "handoff")
        raise ToolError(str(error))
    tool_name = _tool.get()
    tool = caller.find_tool(tool_name) if tool_name else None
    deadline = tool_deadline.get()
    if deadline is not None:
        deadline.disarm()  # from here on the tool waits for the user, not for itself
    caller._runtime.status = "paused"
    s._position.move(caller, task, tool=tool, kind="task")
    scope.handoffs += 1
    try:
        await s._life.enter(task, caller, scope)
    except Exception as exc:  # a task that cannot start fails the awaiting code, not the session
        if not task.done():
            task.complete(exc)
    jobs = s._jobs
    if not task.done():
        waiter = TaskWaiter(task, scope)
        jobs.waiters.append(waiter)
        await jobs.settle(scope)
        # the run that started the task is complete: the user now talks to the task
        scope.result._finish()
        if scope.holds_baton:
            scope.holds_baton = False
            jobs.baton.release()
        if scope.continuation is not None and not scope.continuation.done():
            # this caller was itself resumed on behalf of a later run (e.g. a TaskGroup
            # moving to its next task): that run is complete too, so wake its job
            scope.continuation.set_result(None)
            scope.continuation = None
        later, continuation = await waiter.resumed
        scope.adopt(later, continuation)
    assert task._outcome is not None
    try:
        await s._life.exit(task, scope)
    finally:
        caller._chat_ctx.merge(
            task._chat_ctx,
            exclude_function_call=not task.preserve_function_call_history,
            exclude_instructions=True,
        )
        caller._runtime.status = "active"
        s._position.back(task, caller)
        item = AgentHandoff(new_agent_id=caller.id, old_agent_id=task.id)
        s._record(None, item, scope, event=AgentHandoffEvent(item, task, caller))
    return task._outcome.result()


def ready_waiter(s: AgentSession[Any]) -> TaskWaiter | None:
    waiters = s._jobs.waiters
    if waiters and waiters[-1].task.done():
        return waiters[-1]
    return None


async def resume(s: AgentSession[Any], waiter: TaskWaiter, scope: Scope) -> None:
    s._jobs.waiters.remove(waiter)
    continuation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter.resumed.set_result((scope, continuation))
    await continuation
