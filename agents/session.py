"""``AgentSession``: runs one conversation through the workflow's state machine.

The session is a facade.  Its parts: the commit point (``_commit``: which agent is active,
the machine state and the trace), job serialisation (``_jobs``), agents entering and leaving
(``_lifecycle``), turns and replies (``_turns``, ``_generate``, ``_toolcalls``) and the
``AgentTask`` call/return protocol (``_tasks``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Generic

from typing_extensions import TypeVar

from voxfsm.agents import _background, _tasks, job, plugins
from voxfsm.agents._commit import Position
from voxfsm.agents._events import EventEmitter
from voxfsm.agents._jobs import Jobs
from voxfsm.agents._lifecycle import Lifecycle
from voxfsm.agents._scope import Scope, _speaker, _tool
from voxfsm.agents._session_state import SessionState
from voxfsm.agents._turns import TurnRunner
from voxfsm.agents.agent import Agent, AgentTask, _as_tool, _check_unique
from voxfsm.agents.events import CloseEvent
from voxfsm.agents.limits import LimitExceeded
from voxfsm.agents.listeners import SessionListener
from voxfsm.agents.metrics import AgentSessionUsage, UsageCollector, session_usage
from voxfsm.agents.options import SESSION_OPTIONS, START_OPTIONS
from voxfsm.agents.options import accept as accept_options
from voxfsm.agents.run_result import RunResult
from voxfsm.agents.speech import SpeechHandle, SpeechOutput

log = logging.getLogger("voxfsm.agents")
_said_audio: list[bool] = []  # say(audio=...) warned once per process

# ``AgentSession()`` without userdata is an ``AgentSession[None]``: no annotation needed
T = TypeVar("T", default=None)
_UNSET: Any = object()


class AgentSession(SessionState, EventEmitter, Generic[T]):
    """One conversation: the active agent, shared userdata, history and plugins.

    Bounds (each hit gives one ``error`` event carrying a :class:`LimitExceeded` that names
    the option, an error output for the call it stopped, and a session that keeps going):
    ``max_tool_steps`` tool rounds per reply, ``max_handoffs_per_turn`` handoffs and tasks
    per user turn, ``tool_timeout`` seconds per tool call (a tool's own
    ``@function_tool(timeout=...)`` wins), ``max_reply_chars`` and ``max_reply_seconds`` per
    LLM reply, ``max_tool_argument_depth`` for the nesting of a call's arguments.  ``None``
    turns a bound off.
    """

    _closed: bool
    _closing_done: asyncio.Future[None] | None

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
        tool_timeout: float | None = 60.0,
        max_handoffs_per_turn: int = 8,
        max_reply_chars: int | None = 16_000,
        max_reply_seconds: float | None = 300.0,
        max_tool_argument_depth: int | None = 32,
        max_history_items: int | None = None,
        max_context_items: int | None = None,
        **options: Any,
    ) -> None:
        """``options``: LiveKit's turn-taking and cloud settings (``turn_detection``,
        ``min_endpointing_delay``, ``preemptive_generation``...), accepted and kept on
        ``self.options``; :mod:`voxfsm.agents.options` says what each means offline."""
        EventEmitter.__init__(self)
        self.options = accept_options("AgentSession", options, SESSION_OPTIONS)
        self.input_modality = "text"
        """How the user gave the current turn: ``run(input_modality=...)``, else text."""
        self._usage = UsageCollector()
        self.on("metrics_collected", self._usage.collect)
        if max_tool_steps < 1:
            raise ValueError("max_tool_steps must be at least 1")
        if max_handoffs_per_turn < 1:
            raise ValueError("max_handoffs_per_turn must be at least 1")
        for name, value in (
            ("tool_timeout", tool_timeout),
            ("max_reply_chars", max_reply_chars),
            ("max_reply_seconds", max_reply_seconds),
            ("max_tool_argument_depth", max_tool_argument_depth),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive (or None for no bound), got {value!r}")
        self._llm = plugins.resolve("llm", llm)
        self._stt = plugins.resolve("stt", stt)
        self._tts = plugins.resolve("tts", tts)
        self._vad = plugins.resolve("vad", vad)
        self._userdata = userdata
        self._tools = [_as_tool(t) for t in tools or ()]
        _check_unique(self._tools, "the session's tools")
        self.max_tool_steps = max_tool_steps
        self.tool_timeout = tool_timeout
        self.max_handoffs_per_turn = max_handoffs_per_turn
        self.max_reply_chars = max_reply_chars
        self.max_reply_seconds = max_reply_seconds
        self.max_tool_argument_depth = max_tool_argument_depth
        # retention: long calls keep memory and per-turn cost bounded (None = keep all)
        self.max_history_items = max_history_items
        self.max_context_items = max_context_items
        self._initial_agent = agent
        self._init_state()
        self._position = Position(self._watch)
        self._jobs = Jobs(self)
        self._life = Lifecycle(self)
        self._turns = TurnRunner(self)
        self.output: SpeechOutput | None = None
        """Voice output (set by the voice loop); ``None`` in text mode."""
        self.current_speech: SpeechHandle | None = None

    # ------------------------------------------------------------------ properties

    @property
    def userdata(self) -> T:
        if self._userdata is _UNSET:
            raise ValueError("AgentSession userdata is not set; pass userdata= to AgentSession")
        ud: T = self._userdata
        return ud

    @userdata.setter
    def userdata(self, value: T) -> None:
        self._userdata = value

    @property
    def jobs_done(self) -> int:
        """Turns, replies and swaps finished so far (the ``session_idle`` payload)."""
        return self._jobs.done

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: SessionListener) -> None:
        """Watch hooks, replies, tool calls and commits (see ``voxfsm.agents.listeners``)."""
        self._watch.add(listener)

    def remove_listener(self, listener: SessionListener) -> None:
        self._watch.remove(listener)

    def _limit_hit(self, scope: Scope | None, error: LimitExceeded, source: str) -> None:
        """Report a bound once per job: a log line and one ``error`` event naming the option."""
        if scope is not None:
            if error.option in scope.reported:
                return
            scope.reported.add(error.option)
        log.warning("%s", error)
        self._report(error, source)

    def is_idle(self) -> bool:
        """True when no turn, reply, swap or AgentTask is running or queued."""
        return self._jobs.is_idle()

    async def wait_for_idle(self) -> None:
        """Wait until the work queued so far (runs, replies, swaps) has finished."""
        await _background.wait_for_idle(self)

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
        if self._position.machine is not None:
            log.warning("session already started; start() ignored")
            return None
        self._position.start(agent)
        result: RunResult[Any] = RunResult()
        self._jobs.spawn(lambda scope: self._life.enter(agent, None, scope), result)
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
        if self._jobs.nested_scope() is not None:
            raise RuntimeError(
                "run() cannot be called from inside a tool or an agent hook: the turn in "
                "progress would wait for itself; use session.generate_reply(user_input=...)"
            )

        async def turn(scope: Scope) -> None:
            self.input_modality = input_modality
            self._life.commit(scope, await self._turns.user_turn(scope, user_input))

        result: RunResult[Any] = RunResult()
        result.output_type = output_type
        self._jobs.spawn(turn, result)
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
        if tool_choice is None and _tool.get() is not None and self._jobs.nested_scope():
            tool_choice = "none"  # a reply spoken from inside a tool must not start more tools
        agent = _speaker.get() or self.current_agent

        async def speak(scope: Scope) -> None:
            try:
                decision = await self._turns.reply(
                    scope,
                    agent,
                    handle,
                    user_input=user_input,
                    instructions=instructions,
                    tool_choice=tool_choice,
                )
                self._life.commit(scope, decision)
            except Exception as exc:
                handle._finish(exc)
                raise
            handle._finish()

        self._jobs.schedule(speak, "reply")
        return handle

    def say(
        self,
        text: str,
        *,
        add_to_chat_ctx: bool = True,
        allow_interruptions: bool | None = None,
        audio: Any = None,
    ) -> SpeechHandle:
        """Schedule fixed text as agent speech.

        ``audio=`` (LiveKit: prerecorded frames to play instead of TTS) is accepted; the
        voice loop speaks ``text`` with the agent's TTS instead (logged once)."""
        if audio is not None and not _said_audio:
            _said_audio.append(True)
            log.warning("say(audio=...): prerecorded audio is not played; the text is spoken")
        handle = SpeechHandle(allow_interruptions=allow_interruptions is not False)
        agent = _speaker.get() or self.current_agent

        async def speak(scope: Scope) -> None:
            try:
                await self._turns.say(scope, agent, handle, text, add_to_chat_ctx=add_to_chat_ctx)
            except Exception as exc:
                handle._finish(exc)
                raise
            handle._finish()

        self._jobs.schedule(speak, "reply")
        return handle

    def interrupt(self) -> None:
        """Cut the current speech (barge-in)."""
        speech = self.current_speech
        if speech is not None and speech.allow_interruptions:
            speech.interrupt()

    def update_agent(self, agent: Agent) -> None:
        """Switch to ``agent`` now; its predecessor's exit and its entry run in the background.

        Called inside a tool, it wins over a handoff another tool of the same step returns:
        that tool's output then says its handoff was not made.
        """
        if not isinstance(agent, Agent):
            raise TypeError(f"update_agent() needs an Agent, got {type(agent).__name__}")
        old = self._position.agent
        if old is None:
            self._initial_agent = agent
            return
        if agent._runtime.status != "inactive" or agent is old:
            raise RuntimeError(
                f"agent {agent.id!r} is already {agent._runtime.status}; pass a new or exited agent"
            )
        scope = self._jobs.nested_scope()
        limit = self.max_handoffs_per_turn
        if scope is not None and scope.handoffs >= limit:
            error = LimitExceeded(
                f"update_agent({agent.id!r}) refused: {limit} handoffs already happened in "
                f"this user turn (AgentSession(max_handoffs_per_turn={limit}))",
                limit="handoffs per turn",
                option="max_handoffs_per_turn",
            )
            self._limit_hit(scope, error, "handoff")
            raise error
        self._position.move(old, agent, tool=None, kind="update_agent")
        if scope is not None:
            scope.handoffs += 1
            scope.deferred.append(lambda: self._life.swap(old, agent, scope, follow_up=False))
        else:
            self._jobs.spawn(
                lambda sc: self._life.swap(old, agent, sc, follow_up=False),
                self._jobs.background_result("update_agent"),
            )

    async def aclose(self, *, drain_timeout: float | None = 10.0) -> None:
        """Finish queued work, run the active agent's ``on_exit``, and close.

        Work still running after ``drain_timeout`` seconds is cancelled (each call it left
        unanswered gets an error output).  A no-op for a session never started or already
        closed; a second ``aclose()`` while one runs waits for it.
        """
        if self._closing_done is not None:
            await self._closing_done
            return
        if self._position.machine is None or self._closed:
            self._closed = True
            return
        self._closing = True
        self._closing_done = done = self._new_future()
        try:
            await _background.cancel_all(self)  # tools still working after ctx.update()
            await self._jobs.close(drain_timeout)
        finally:
            self._set_agent_state("idle")
            self.emit("close", CloseEvent("closed"))
            done.set_result(None)

    def shutdown(self, *, drain: bool = True, reason: str = "") -> None:
        """Close the session in the background (LiveKit's spelling of ``aclose()``);
        ``drain=False`` cancels work in progress instead of letting it finish."""
        if self._closed or self._closing:
            return
        task = asyncio.ensure_future(self.aclose() if drain else self.aclose(drain_timeout=0.0))
        self._jobs_closing = task  # keep a reference until it is done
        task.add_done_callback(_close_done)

    @property
    def usage(self) -> AgentSessionUsage:
        """What the session used so far (from its ``metrics_collected`` events)."""
        return session_usage(self._usage.get_summary(), self._llm, self._stt, self._tts)

    async def __aenter__(self) -> AgentSession[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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

        ``session_kwargs`` are the constructor's (llm, tts, ...) plus ``listeners=[...]``
        (told of the restore commit); userdata comes from the snapshot unless given.  Raises
        ``SnapshotError`` naming what no longer matches.
        """
        from voxfsm.agents.snapshot import restore

        return restore(cls, data, **session_kwargs)


def _close_done(task: asyncio.Future[None]) -> None:
    """Nobody awaits the close ``shutdown()`` started: report its failure here, once.

    (Left unretrieved, asyncio would log it when the task is garbage-collected, at any
    moment, even in the middle of another module's ``ast.parse``.)"""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.warning("closing the session after shutdown() raised %s: %s", type(exc).__name__, exc)
