"""Tools that answer early: ``await ctx.update(...)`` and the work they go on doing.

A tool's first ``update(message)`` is its answer for now: the step records it as the tool's
output and the LLM replies to it while the tool keeps running in the background.  What the tool
reports later (more updates, its final return value or error) enters the conversation as
function call/output pairs of their own (``<call_id>_update_<n>``, ``<call_id>_final``),
followed by one reply of the current agent (updates that arrive before that reply starts share
it).  While the run that called the tool is still going, that reply, and any block the tool runs
under ``ctx.foreground()``, are part of that run; after it, each is a job of its own, queued
behind whatever the session is doing.  ``aclose()`` cancels tools still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import sys
import types
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from voxfsm.agents._outcome import interpret
from voxfsm.agents._scope import Scope, _frame, _scope, _speaker, _tool
from voxfsm.agents.agent import Agent
from voxfsm.agents.chat import FunctionCall, FunctionCallOutput
from voxfsm.agents.speech import SpeechHandle
from voxfsm.agents.tools import StopResponse

if TYPE_CHECKING:
    from voxfsm.agents.context import RunContext
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")

UPDATE_TEMPLATE = (
    "Progress report from the tool `{function_name}`, which is still working: {message}\n"
    "Tell the user only what this report says; the tool has not finished yet."
)
"""How an update reads to the LLM (``str.format`` fields: function_name, call_id, message)."""

REPLY_INSTRUCTIONS = (
    "Tools working in the background reported new results (call ids: {call_ids}). "
    "Tell the user what is new in them, briefly, without repeating what you already said."
)


class _Session:
    """Per session: the tools running in the background and the one reply queued for them."""

    def __init__(self) -> None:
        self.tools: set[asyncio.Task[Any]] = set()
        self.reply_queued = False
        self.call_ids: list[str] = []


_state: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


def _of(session: AgentSession[Any]) -> _Session:
    state = _state.get(session)
    if state is None:
        state = _state[session] = _Session()
    return state


class Early:
    """What a tool's first update hands to the step in place of its result."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def render(ctx: RunContext[Any], message: Any, template: Any) -> str:
    text = message if isinstance(message, str) else str(message)
    fields = {
        "function_name": ctx.function_call.name,
        "call_id": ctx.function_call.call_id,
        "message": text,
    }
    if template is None:
        template = UPDATE_TEMPLATE
    if callable(template):
        return str(template(fields))
    return str(template).format(**fields)


async def until_first_update(ctx: RunContext[Any], work: Awaitable[Any]) -> Any:
    """Run a tool that takes a ``RunContext``: its result, or :class:`Early` when it calls
    ``update()`` first (it then goes on in the background)."""
    loop = asyncio.get_running_loop()
    first: asyncio.Future[str] = loop.create_future()
    ctx._first_update = first
    ctx._scope = _scope.get()
    if _EAGER and inspect.iscoroutine(work):
        # most tools never wait: their first step, run here in a context of their own, is
        # all of them, and no task is needed; one that does wait goes on in a task (in that
        # same context) from where it stopped
        context = contextvars.copy_context()
        try:
            waiting_for = context.run(work.send, None)
        except StopIteration as stop:
            if not first.done():
                ctx._first_update = None
                return stop.value
            return _answered(ctx, first, _settled(loop, stop.value, None))
        except BaseException as exc:
            if not first.done():
                ctx._first_update = None
                raise
            return _answered(ctx, first, _settled(loop, None, exc))
        task: asyncio.Future[Any] = loop.create_task(  # type: ignore[call-arg]
            _go_on(work, waiting_for), context=context
        )
    else:
        task = asyncio.ensure_future(work)
    try:
        await asyncio.wait((task, first), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not first.done():
        ctx._first_update = None
        return task.result()  # re-raises what the tool raised
    return _answered(ctx, first, task)


_EAGER = sys.version_info >= (3, 11)  # create_task(context=...)


def _answered(ctx: RunContext[Any], first: asyncio.Future[str], task: asyncio.Future[Any]) -> Early:
    """The tool answered early: it goes on (or has finished) in the background."""
    state = _of(ctx.session)
    state.tools.add(task)  # type: ignore[arg-type]
    task.add_done_callback(lambda t: _finished(ctx, t))  # type: ignore[arg-type]
    return Early(first.result())


def _settled(loop: asyncio.AbstractEventLoop, value: Any, error: BaseException | None) -> Any:
    """A finished future standing for a tool that answered early and ended in its first step."""
    done: asyncio.Future[Any] = loop.create_future()
    if error is None:
        done.set_result(value)
    elif isinstance(error, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(error)
    return done


async def _go_on(coro: Any, waiting_for: Any) -> Any:
    return await _resume(coro, waiting_for)


@types.coroutine
def _resume(coro: Any, waiting_for: Any) -> Generator[Any, Any, Any]:
    """Continue a coroutine that stopped at ``waiting_for`` (what it yielded to its task)."""
    value = waiting_for
    while True:
        try:
            sent = yield value
        except BaseException as exc:  # thrown in by the task (cancellation)
            try:
                value = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                value = coro.send(sent)
            except StopIteration as stop:
                return stop.value


def leave_run(ctx: RunContext[Any]) -> None:
    """In the tool's own task, once it answered early: its code no longer runs inside the
    step that called it (speech it starts is queued like any other, by the current agent)."""
    for var in (_scope, _speaker, _tool, _frame):
        var.set(None)


def _finished(ctx: RunContext[Any], task: asyncio.Task[Any]) -> None:
    state = _state.get(ctx.session)
    if state is not None:
        state.tools.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    value = None if error is not None else task.result()
    if (error is None and value is None) or isinstance(error, StopResponse):
        return
    name = ctx.function_call.name
    if isinstance(value, Agent) or (
        isinstance(value, tuple) and any(isinstance(v, Agent) for v in value)
    ):
        log.error(
            "tool %r returned an agent after ctx.update(): a tool that answered early cannot "
            "hand off; call session.update_agent() inside `async with ctx.foreground():`",
            name,
        )
        return
    outcome = interpret(name, value, error)
    deliver(ctx, "_final", outcome.output, is_error=outcome.is_error)


def deliver(ctx: RunContext[Any], suffix: str, output: str, *, is_error: bool = False) -> None:
    """Add a later report to the conversation and queue the reply to it."""
    s = ctx.session
    if s._closed:
        return
    fc = ctx.function_call
    call_id = fc.call_id + suffix
    agent = s.current_agent
    s._record(agent, FunctionCall(call_id=call_id, name=fc.name, arguments=fc.arguments), None)
    out = FunctionCallOutput(call_id=call_id, name=fc.name, output=output, is_error=is_error)
    s._record(agent, out, None)
    state = _of(s)
    state.call_ids.append(call_id)
    if state.reply_queued:
        return  # the queued reply has not started: it will see this report too
    state.reply_queued = True

    async def reply(scope: Scope) -> None:
        # one loop pass first: a tool that returns right after an update has its final
        # result delivered by a done-callback, which then joins this reply
        await asyncio.sleep(0)
        state.reply_queued = False
        ids, state.call_ids = state.call_ids, []
        handle = SpeechHandle()
        try:
            decision = await s._turns.reply(
                scope,
                s.current_agent,
                handle,
                instructions=REPLY_INSTRUCTIONS.format(call_ids=", ".join(ids)),
                tool_choice="none",
            )
            s._life.commit(scope, decision)
        except Exception as exc:
            handle._finish(exc)
            raise
        handle._finish()

    if not _in_run(ctx, reply):
        state.reply_queued = False


def _in_run(ctx: RunContext[Any], work: Callable[[Scope], Awaitable[None]]) -> bool:
    """Run ``work`` as part of the tool's run while that run is still going, else as a job of
    its own; False when the session is closing."""
    s = ctx.session
    scope: Scope | None = ctx._scope
    # the run's job drains `deferred` with no await between its last look and finishing, so
    # a scope whose job and result are both still running will pick this up
    if (
        scope is not None
        and scope.job is not None
        and not scope.job.done()
        and not scope.result.done()
    ):
        scope.deferred.append(lambda: work(scope))
        return True
    try:
        s._jobs.spawn(work, s._jobs.background_result("a tool's background report"))
    except RuntimeError:
        log.debug("session closing: report of tool %r dropped", ctx.function_call.name)
        return False
    return True


@contextlib.asynccontextmanager
async def foreground(ctx: RunContext[Any]) -> AsyncIterator[None]:
    """Hold the floor for a block of a tool that answered early (see module docstring)."""
    loop = asyncio.get_running_loop()
    granted: asyncio.Future[Scope] = loop.create_future()
    released: asyncio.Future[None] = loop.create_future()

    async def hold(scope: Scope) -> None:
        if not granted.done():
            granted.set_result(scope)
            await released

    if not _in_run(ctx, hold):
        raise RuntimeError(
            f"tool {ctx.function_call.name!r}: the session is closing, so it cannot take "
            "the floor any more"
        )
    try:
        scope = await granted
        tokens = (_scope.set(scope), _frame.set(None))
        try:
            yield
        finally:
            _frame.reset(tokens[1])
            _scope.reset(tokens[0])
    finally:
        if not granted.done():
            granted.cancel()
        if not released.done():
            released.set_result(None)


async def cancel_all(session: AgentSession[Any]) -> None:
    """Cancel the tools still working in the background (the session is closing)."""
    state = _state.get(session)
    if state is None or not state.tools:
        return
    tasks = list(state.tools)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def wait_for_idle(session: AgentSession[Any]) -> None:
    """Wait for the work queued before this call: a job of our own gets the floor after it."""
    from voxfsm.agents.run_result import RunResult
    from voxfsm.agents.voice.agent_activity import ActivityClosedError

    async def nothing(scope: Scope) -> None:
        return None

    result: RunResult[Any] = RunResult()
    try:
        session._jobs.spawn(nothing, result)
    except RuntimeError as exc:
        raise ActivityClosedError(str(exc)) from None
    await result
