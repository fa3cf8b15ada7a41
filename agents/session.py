"""``AgentSession``: runs one conversation through the workflow's state machine.

All session work is serialized: a ``run()``, a ``start()``, a background reply or an
``update_agent()`` swap each become a *job* that holds the session's baton while it runs.
Handoffs are decided (``current_agent`` and the machine state change together, at one commit
point) inside a job and carried out (follow-up, ``on_exit``, ``AgentHandoff``, ``on_enter``)
when the code that decided them has finished; user input that arrives meanwhile waits for
the baton and is answered by the new agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic

import attrs
from typing_extensions import TypeVar

from voxfsm.agents import _tasks, job, nodes, plugins
from voxfsm.agents._events import EventEmitter
from voxfsm.agents._machine import SWAP, declares, definition_for, fire_now, register, registered
from voxfsm.agents._scope import Scope, _frame, _scope, _speaker, _tool, current_scope
from voxfsm.agents._turns import TurnRunner
from voxfsm.agents._watch import Watchers
from voxfsm.agents.agent import Agent, AgentTask, _as_tool, _check_unique
from voxfsm.agents.chat import AgentHandoff, ChatContext, ChatMessage
from voxfsm.agents.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
)
from voxfsm.agents.listeners import Commit, HookName, SessionListener
from voxfsm.agents.metrics import AgentSessionUsage, UsageCollector, session_usage
from voxfsm.agents.options import SESSION_OPTIONS, START_OPTIONS
from voxfsm.agents.options import accept as accept_options
from voxfsm.agents.run_result import AgentHandoffEvent, RunResult
from voxfsm.agents.speech import SpeechHandle
from voxfsm.agents.tools import ToolError
from voxfsm.fsm.machine import SessionMachine
from voxfsm.fsm.spec import Step, Trace

log = logging.getLogger("voxfsm.agents")

# ``AgentSession()`` without userdata is an ``AgentSession[None]``: no annotation needed
T = TypeVar("T", default=None)
_UNSET: Any = object()


async def _settle(pending: list[asyncio.Task[None]]) -> None:
    while pending:
        tasks = pending[:]
        pending.clear()
        await asyncio.gather(*tasks, return_exceptions=True)


class AgentSession(EventEmitter, Generic[T]):
    """One conversation: the active agent, shared userdata, history and plugins."""

    def __init__(
        self,
        *,
        llm: Any = None,
        stt: Any = None,
        tts: Any = None,
        vad: Any = None,
        userdata: T = _UNSET,
        tools: Sequence[Any] | None = None,
        max_tool_steps: int = 3,
        agent: Agent | None = None,
        tool_timeout: float | None = None,
        max_history_items: int | None = None,
        max_context_items: int | None = None,
        **options: Any,
    ) -> None:
        """``options``: LiveKit's turn-taking and cloud settings (``turn_detection``,
        ``min_endpointing_delay``, ``preemptive_generation``...), accepted and kept on
        ``self.options``; :mod:`voxfsm.agents.options` says what each means offline."""
        super().__init__()
        self.options = accept_options("AgentSession", options, SESSION_OPTIONS)
        self.input_modality = "text"
        """How the user gave the current turn: ``run(input_modality=...)``, else text."""
        self._usage = UsageCollector()
        self.on("metrics_collected", self._usage.collect)
        if max_tool_steps < 1:
            raise ValueError("max_tool_steps must be at least 1")
        self._llm = plugins.resolve("llm", llm)
        self._stt = plugins.resolve("stt", stt)
        self._tts = plugins.resolve("tts", tts)
        self._vad = plugins.resolve("vad", vad)
        self._userdata = userdata
        self._tools = [_as_tool(t) for t in tools or ()]
        _check_unique(self._tools, "the session's tools")
        self.max_tool_steps = max_tool_steps
        self.tool_timeout = tool_timeout
        # retention: long calls keep memory and per-turn cost bounded (None = keep all)
        self.max_history_items = max_history_items
        self.max_context_items = max_context_items
        self._initial_agent = agent
        self._history = ChatContext()
        self._agent: Agent | None = None
        self._entry: Agent | None = None
        self._machine: SessionMachine | None = None
        self._baton = asyncio.Lock()
        self._steps: list[Step] = []
        self._visited: dict[str, Agent] = {}
        self._waiters: list[_tasks.TaskWaiter] = []
        self._jobs: set[asyncio.Task[None]] = set()
        self._agent_state = "initializing"
        self._closed = False
        self._closing = False  # no more LLM follow-ups: the session is winding down
        self.jobs_done = 0
        """Turns, replies and swaps finished so far (the ``session_idle`` payload)."""
        self.output: Any = None
        """Voice output (set by the voice loop); ``None`` in text mode."""
        self.current_speech: SpeechHandle | None = None
        self._call_ids: dict[str, None] = {}  # recent call ids, to keep each one unique
        self._watch = Watchers()
        self._turns = TurnRunner(self)

    # ------------------------------------------------------------------ properties

    @property
    def userdata(self) -> T:
        if self._userdata is _UNSET:
            raise ValueError("AgentSession userdata is not set; pass userdata= to AgentSession")
        return self._userdata

    @userdata.setter
    def userdata(self, value: T) -> None:
        self._userdata = value

    @property
    def current_agent(self) -> Agent:
        if self._agent is None:
            raise RuntimeError("the session has not started; call `await session.start(agent)`")
        return self._agent

    @property
    def history(self) -> ChatContext:
        return self._history

    @property
    def chat_ctx(self) -> ChatContext:
        """Read-only view of the current agent's context."""
        return self.current_agent.chat_ctx

    @property
    def machine(self) -> SessionMachine:
        if self._machine is None:
            raise RuntimeError("the session has not started; call `await session.start(agent)`")
        return self._machine

    @property
    def llm(self) -> Any:
        return self._llm

    @property
    def stt(self) -> Any:
        return self._stt

    @property
    def tts(self) -> Any:
        return self._tts

    @property
    def vad(self) -> Any:
        return self._vad

    @property
    def tools(self) -> list[Any]:
        return list(self._tools)

    @property
    def agent_state(self) -> str:
        return self._agent_state

    def update_options(
        self,
        *,
        llm: Any = plugins.NOT_GIVEN,
        stt: Any = plugins.NOT_GIVEN,
        tts: Any = plugins.NOT_GIVEN,
        vad: Any = plugins.NOT_GIVEN,
    ) -> None:
        """Replace session-level plugins (agents' own overrides still win while they are active)."""
        for kind, value in (("llm", llm), ("stt", stt), ("tts", tts), ("vad", vad)):
            if value is not plugins.NOT_GIVEN:
                setattr(self, f"_{kind}", plugins.resolve(kind, value))

    def effective_plugin(self, kind: str, agent: Agent | None = None) -> Any:
        """The llm/stt/tts/vad in force for ``agent`` (default: the current one)."""
        agent = agent or self._agent
        own = (
            getattr(agent, f"_{kind}", plugins.NOT_GIVEN)
            if agent is not None
            else plugins.NOT_GIVEN
        )
        return getattr(self, f"_{kind}") if own is plugins.NOT_GIVEN else own

    # ------------------------------------------------------------------ events

    def add_listener(self, listener: SessionListener) -> None:
        """Watch hooks, replies, tool calls and commits (see ``voxfsm.agents.listeners``)."""
        self._watch.add(listener)

    def remove_listener(self, listener: SessionListener) -> None:
        self._watch.remove(listener)

    def _set_agent_state(self, state: str) -> None:
        old, self._agent_state = self._agent_state, state
        if old != state and "agent_state_changed" in self._listeners:
            self.emit("agent_state_changed", AgentStateChangedEvent(old, state))

    def _record(
        self, agent: Agent | None, item: Any, scope: Scope | None, *, event: Any = None
    ) -> None:
        """Add an item to ``agent``'s context (if given), to history, and to the run's events."""
        if agent is not None:
            agent._chat_ctx._items.append(item)
        self._history._items.append(item)
        if event is not None and scope is not None:
            scope.result._add(event)
        if (
            isinstance(item, (ChatMessage, AgentHandoff))
            and "conversation_item_added" in self._listeners
        ):
            self.emit("conversation_item_added", ConversationItemAddedEvent(item))

    # ------------------------------------------------------------------ jobs

    def _spawn(
        self,
        work: Callable[[Scope], Awaitable[None]],
        result: RunResult[Any],
        *,
        closing: bool = False,
    ) -> None:
        if self._closed or (self._closing and not closing):
            raise RuntimeError("the session is closed (or closing); start a new AgentSession")
        scope = Scope(self, result)
        task = asyncio.create_task(self._job(work, scope))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _job(self, work: Callable[[Scope], Awaitable[None]], scope: Scope) -> None:
        _scope.set(scope)
        scope.job = asyncio.current_task()
        error: BaseException | None = None
        try:
            await self._baton.acquire()
            scope.holds_baton = True
            await work(scope)
            await self._drain(scope)
            self._retain()
        except BaseException as exc:  # the run's awaiter gets it; the session keeps going
            error = exc
            if isinstance(exc, asyncio.CancelledError) and self._closing:
                scope.errors.clear()
                error = RuntimeError("the session was closed before this turn finished")
            for task in scope.pending:
                task.cancel()
            scope.pending.clear()
            scope.deferred.clear()
        finally:
            if scope.holds_baton:
                scope.holds_baton = False
                self._baton.release()
            if self._agent_state in ("thinking", "speaking"):
                self._set_agent_state("listening")
            scope.finish(error)
            self.jobs_done += 1
            if "session_idle" in self._listeners:
                asyncio.get_running_loop().call_soon(self._announce_idle)
        if isinstance(error, asyncio.CancelledError):
            raise error  # cancelled from outside (not by aclose): keep cancelling

    def is_idle(self) -> bool:
        """True when no turn, reply, swap or AgentTask is running or queued."""
        return not (self._baton.locked() or self._waiters or any(not j.done() for j in self._jobs))

    def _announce_idle(self) -> None:
        # after the job's task has finished, so a listener may snapshot the session
        if self.is_idle() and not self._closed:
            self.emit("session_idle", self.jobs_done)

    def _unique_call_id(self, call_id: str) -> str:
        """The LLM's call id, made unique if it repeats one (outputs pair with calls by id)."""
        unique, n = call_id, 1
        while unique in self._call_ids:
            n += 1
            unique = f"{call_id}_{n}"
        self._call_ids[unique] = None
        if len(self._call_ids) > 4096:  # a server reuses ids across turns, not across hours
            del self._call_ids[next(iter(self._call_ids))]
        return unique

    def _retain(self) -> None:
        if self.max_history_items is not None and len(self._history) > self.max_history_items:
            self._history.truncate(max_items=self.max_history_items)
        agent = self._agent
        limit = self.max_context_items
        if agent is not None and limit is not None and len(agent._chat_ctx) > limit:
            agent._chat_ctx.truncate(max_items=limit)

    async def settle(self, scope: Scope) -> None:
        """Wait for the speech the running code started so far (never for that code itself)."""
        frame = _frame.get()
        await _settle(scope.pending if frame is None else frame)

    async def _drain(self, scope: Scope) -> None:
        while True:
            frame = _frame.get()
            if frame is not None:
                await _settle(frame)
            await _settle(scope.pending)
            if scope.deferred:
                await scope.deferred.popleft()()
                continue
            waiter = _tasks.ready_waiter(self)
            if waiter is not None:
                await _tasks.resume(self, waiter, scope)
                continue
            break
        if scope.errors:
            raise scope.errors[0]

    def _nested_scope(self) -> Scope | None:
        scope = current_scope()
        return scope if scope is not None and scope.session is self else None

    # ------------------------------------------------------------------ public API

    async def start(
        self, agent: Agent | None = None, *, capture_run: bool = False, **room: Any
    ) -> RunResult[Any] | None:
        """Activate the first agent; returns when its ``on_enter`` (and its speech) is done.

        LiveKit's ``room=``, ``room_options=``... are accepted and ignored (no room offline).
        """
        accept_options("AgentSession.start", room, START_OPTIONS)
        job.session_started(self)
        agent = agent or self._initial_agent
        if agent is None:
            raise ValueError("start() needs the first agent: `await session.start(MyAgent())`")
        if self._machine is not None:
            log.warning("session already started; start() ignored")
            return None
        self._entry = agent
        defn = definition_for(type(agent))
        register(defn, type(agent))
        self._machine = SessionMachine(defn)
        self._agent = agent
        self._machine.set_state(agent.id)
        if self._watch:
            self._watch.committed(Commit("start", None, agent.id))
        result: RunResult[Any] = RunResult()
        self._spawn(lambda scope: self._enter(agent, None, scope), result)
        await result
        return result if capture_run else None

    def run(
        self,
        *,
        user_input: str,
        input_modality: str = "text",
        output_type: type | None = None,
    ) -> RunResult[Any]:
        """One user turn; await the result for its events.

        ``input_modality="audio"`` makes the turn count as spoken (prebuilt tasks then ask
        for confirmation); ``output_type`` makes the run fail unless a task the session runs
        directly completes with a value of that type (``result.final_output``).
        """
        if input_modality not in ("text", "audio"):
            raise ValueError(f"input_modality must be 'text' or 'audio', got {input_modality!r}")
        if not isinstance(user_input, str):
            raise TypeError(f"user_input must be a str, got {type(user_input).__name__}")
        self.current_agent  # noqa: B018 - raises a clear error before start()
        if self._nested_scope() is not None:
            raise RuntimeError(
                "run() cannot be called from inside a tool or an agent hook: the turn in "
                "progress would wait for itself; use session.generate_reply(user_input=...)"
            )
        result: RunResult[Any] = RunResult()
        result.output_type = output_type

        async def turn(scope: Scope) -> None:
            self.input_modality = input_modality
            await self._turns.user_turn(scope, user_input)

        self._spawn(turn, result)
        return result

    def generate_reply(
        self,
        *,
        user_input: str | None = None,
        instructions: str | None = None,
        tool_choice: Any = None,
        allow_interruptions: bool | None = None,
    ) -> SpeechHandle:
        """Schedule an LLM reply by the current agent (or, inside a hook/tool, by that agent)."""
        handle = SpeechHandle(allow_interruptions=allow_interruptions is not False)
        if tool_choice is None and _tool.get() is not None and self._nested_scope() is not None:
            tool_choice = "none"  # a reply spoken from inside a tool must not start more tools

        async def speak(scope: Scope, agent: Agent) -> None:
            await self._turns.reply(
                scope,
                agent,
                handle,
                user_input=user_input,
                instructions=instructions,
                tool_choice=tool_choice,
            )

        self._schedule(handle, speak)
        return handle

    def say(
        self, text: str, *, add_to_chat_ctx: bool = True, allow_interruptions: bool | None = None
    ) -> SpeechHandle:
        """Schedule fixed text as agent speech."""
        handle = SpeechHandle(allow_interruptions=allow_interruptions is not False)

        async def speak(scope: Scope, agent: Agent) -> None:
            await self._turns.say(scope, agent, handle, text, add_to_chat_ctx=add_to_chat_ctx)

        self._schedule(handle, speak)
        return handle

    def _schedule(
        self, handle: SpeechHandle, speak: Callable[[Scope, Agent], Awaitable[None]]
    ) -> None:
        scope = self._nested_scope()
        agent = _speaker.get() or self.current_agent

        async def guarded(sc: Scope) -> None:
            try:
                await speak(sc, agent)
            except Exception as exc:
                handle._finish(exc)
                raise
            handle._finish()

        if scope is not None:
            frame = _frame.get()

            async def nested() -> None:
                own: list[asyncio.Task[None]] = []
                _frame.set(own)  # what this reply's tools start is this reply's to settle
                try:
                    await guarded(scope)
                    await _settle(own)
                except Exception as exc:
                    scope.errors.append(exc)
                finally:
                    for task in own:
                        task.cancel()

            (scope.pending if frame is None else frame).append(asyncio.create_task(nested()))
        else:
            self._spawn(guarded, self._background_result("reply"))

    def _background_result(self, what: str) -> RunResult[Any]:
        result: RunResult[Any] = RunResult()

        def report(fut: asyncio.Future[None]) -> None:
            exc = fut.exception()
            if exc is not None:
                # nobody awaits background work: log it and tell listeners
                log.error("background %s failed", what, exc_info=exc)
                self.emit("error", ErrorEvent(exc, what))

        result._done.add_done_callback(report)
        return result

    def interrupt(self) -> None:
        """Cut the current speech (barge-in)."""
        speech = self.current_speech
        if speech is not None and speech.allow_interruptions:
            speech.interrupt()

    def update_agent(self, agent: Agent) -> None:
        """Switch to ``agent`` now; its predecessor's exit and its entry run in the background."""
        if not isinstance(agent, Agent):
            raise TypeError(f"update_agent() needs an Agent, got {type(agent).__name__}")
        if self._agent is None:
            self._initial_agent = agent
            return
        if agent._status != "inactive" or agent is self._agent:
            raise RuntimeError(
                f"agent {agent.id!r} is already {agent._status}; pass a new or exited agent"
            )
        old = self._agent
        self.commit(old, agent, SWAP, tool=None)
        scope = self._nested_scope()
        if scope is not None:
            scope.deferred.append(lambda: self.swap(old, agent, scope, follow_up=False))
        else:
            self._spawn(
                lambda sc: self.swap(old, agent, sc, follow_up=False),
                self._background_result("update_agent"),
            )

    async def aclose(self, *, drain_timeout: float | None = 10.0) -> None:
        """Finish queued work, run the active agent's ``on_exit``, and close.

        Work still running after ``drain_timeout`` seconds is cancelled (each call it left
        unanswered gets an error output).  A no-op for a session never started.
        """
        if self._machine is None or self._closed:
            self._closed = True
            return
        result: RunResult[Any] = RunResult()
        self._closing = True
        # callers waiting for an AgentTask are not drained: the close job unwinds them so
        # that each gets its tool output and its on_exit
        waiting = {w.scope.job for w in self._waiters}
        busy = [j for j in self._jobs if not j.done() and j not in waiting]
        if busy:
            _, stuck = await asyncio.wait(busy, timeout=drain_timeout)
            for job in stuck:
                job.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        self._spawn(self._close_job, result, closing=True)
        self._closed = True
        try:
            await result
        finally:
            for waiter in self._waiters:
                if not waiter.resumed.done():
                    waiter.resumed.cancel()
            self._waiters.clear()
            self._set_agent_state("idle")
            self.emit("close", CloseEvent("closed"))

    async def _close_job(self, scope: Scope) -> None:
        # unwind AgentTasks still waiting for the user: each caller gets its tool output
        # (an error saying the session closed) and leaves through its own on_exit
        while self._waiters:
            waiter = self._waiters[-1]
            if not waiter.task.done():
                waiter.task.complete(ToolError("the session closed before this task completed"))
            await _tasks.resume(self, waiter, scope)
        # normally only the current agent is active; a swap cut short may leave its
        # predecessor active instead
        for agent in (self._agent, *self._visited.values()):
            if agent is not None and agent._status == "active":
                await self.exit(agent, scope)

    def shutdown(self, *, drain: bool = True, reason: str = "") -> None:
        """Close the session in the background (LiveKit's spelling of ``aclose()``);
        ``drain=False`` cancels work in progress instead of letting it finish."""
        if self._closed or self._closing:
            return
        task = asyncio.ensure_future(self.aclose() if drain else self.aclose(drain_timeout=0.0))
        self._jobs_closing = task  # keep a reference until it is done

    @property
    def usage(self) -> AgentSessionUsage:
        """What the session used so far (from its ``metrics_collected`` events)."""
        return session_usage(self._usage.get_summary(), self._llm, self._stt, self._tts)

    async def __aenter__(self) -> AgentSession[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ transitions

    def commit(
        self, old: Agent, new: Agent, trigger: str, *, tool: Any, kind: str = "handoff"
    ) -> None:
        """The single commit point: agent, machine state and trace change together."""
        declared = tool is None or declares(tool, new)
        if not declared:
            log.warning(
                "tool %r of agent %r handed off to %r, which it does not declare; add "
                "handoff=%s to its @function_tool (voxfsm check reports this)",
                tool.name,
                old.id,
                new.id,
                type(new).__name__,
            )
        self._agent = new
        fire_now(self.machine, trigger, new.id)
        self._steps.append(
            Step(
                old.id,
                tool.name if tool is not None else (None if trigger == SWAP else trigger),
                new.id,
                type(new),  # the class: an instance would keep its whole context alive
                declared,
                kind,
            )
        )
        if self._watch:
            what = "task" if kind == "task" else "update_agent" if trigger == SWAP else "handoff"
            name = tool.name if tool is not None else None
            self._watch.committed(Commit(what, old.id, new.id, name))

    async def swap(self, old: Agent, new: Agent, scope: Scope, *, follow_up: bool) -> None:
        """Carry out a decided handoff: old's follow-up, old's exit, the record, new's entry."""
        # the handoff is decided: a failing follow-up or on_exit is reported after it is done
        error: BaseException | None = None
        if follow_up:
            try:
                await self._turns.reply(scope, old, SpeechHandle(), tools_enabled=False)
            except Exception as exc:
                error = exc
        try:
            await self.exit(old, scope)
        except Exception as exc:
            error = error or exc
        await self._enter(new, old, scope)
        if error is not None:
            raise error

    async def exit(self, agent: Agent, scope: Scope) -> None:
        try:
            await self._in_agent(agent, agent.on_exit(), "on_exit")
            await self.settle(scope)
        finally:
            agent._status = "inactive"

    async def _enter(self, agent: Agent, old: Agent | None, scope: Scope) -> None:
        self._activate(agent)
        self._visited[agent.id] = agent
        item = AgentHandoff(new_agent_id=agent.id, old_agent_id=old.id if old is not None else None)
        self._record(None, item, scope, event=AgentHandoffEvent(item, old, agent))
        await self._in_agent(agent, agent.on_enter(), "on_enter")
        await self.settle(scope)

    def _activate(self, agent: Agent) -> None:
        if agent._status != "inactive":
            raise RuntimeError(f"cannot activate agent {agent.id!r}: it is already {agent._status}")
        if self._tools:
            _check_unique(
                [*agent._tools, *self._tools], f"agent {agent.id!r} with the session's tools"
            )
        agent._session_tools = self._tools
        agent._session = self
        agent._status = "active"
        if type(agent) not in registered[self.machine.definition]:
            register(self.machine.definition, type(agent))

    async def _in_agent(self, agent: Agent, coro: Coroutine[Any, Any, T], hook: HookName) -> T:
        """Run one of ``agent``'s hooks as that agent (and outside any tool that started it)."""
        token = _speaker.set(agent)
        # a hook is not inside a tool even when a tool's AgentTask entered it: its replies
        # may call the agent's own tools
        tool = _tool.set(None)
        in_hook = nodes.current_hook.set(hook)  # replies made here see it (IGNORE_ON_ENTER)
        watch = self._watch
        if watch:
            watch.hook_started(agent, hook)
        error: BaseException | None = None
        try:
            return await coro
        except BaseException as exc:
            error = exc
            raise
        finally:
            nodes.current_hook.reset(in_hook)
            _tool.reset(tool)
            _speaker.reset(token)
            if watch:
                watch.hook_finished(agent, hook, error)

    # ------------------------------------------------------------------ AgentTask

    # ------------------------------------------------------------------ AgentTask

    async def _run_task(self, task: AgentTask[Any], scope: Scope) -> Any:
        return await _tasks.run_task(self, task, scope)

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> dict[str, Any]:
        """Plain, JSON-safe data to resume this conversation later (at a quiet point)."""
        from voxfsm.agents.snapshot import take

        return take(self)

    @classmethod
    def restore(cls, data: Any, **session_kwargs: Any) -> AgentSession[Any]:
        """A started session continuing from ``snapshot()`` data; ``on_enter`` is not re-run.

        ``session_kwargs`` are the constructor's (llm, tts, ...); userdata comes from the
        snapshot unless given.  Raises ``SnapshotError`` naming what no longer matches.
        """
        from voxfsm.agents.snapshot import restore

        listeners = session_kwargs.pop("listeners", ())
        session = restore(cls, data, **session_kwargs)
        for listener in listeners:
            session.add_listener(listener)
        if session._watch:
            session._watch.committed(Commit("restore", None, session.current_agent.id))
        return session

    # ------------------------------------------------------------------ graph

    def __fsm_trace__(self) -> Trace:
        # steps hold classes; the graph wants the latest instance of each visited agent
        visited = self._visited
        steps = tuple(
            attrs.evolve(s, target=visited[s.target_id]) if s.target_id in visited else s
            for s in self._steps
        )
        return Trace(
            entry=self._entry,
            current=self._agent.id if self._agent is not None else None,
            steps=steps,
        )

    @property
    def visited_agents(self) -> dict[str, Agent]:
        """The latest instance of every agent id that was active in this session."""
        return dict(self._visited)
