"""LiveKit's job entry points, offline: ``JobContext``, ``WorkerOptions``, ``AgentServer``.

A LiveKit app is an ``entrypoint(ctx: JobContext)`` coroutine that builds an ``AgentSession``
and starts it "in a room".  Offline there is no room and no worker pool: ``cli.run_app``
(see :mod:`voxfsm.agents.cli`) runs the entrypoint once in this process, and the session it
starts is driven by a local console.  ``ctx.room`` is a stand-in with a ``name``;
``connect()`` and ``wait_for_participant()`` return at once; ``ctx.api.room.delete_room()``
and ``ctx.delete_room()`` end the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

log = logging.getLogger("voxfsm.agents")

_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar(
    "voxfsm_job", default=None
)


class AutoSubscribe(str, enum.Enum):
    """What ``ctx.connect(auto_subscribe=...)`` would subscribe to (nothing to do offline)."""

    SUBSCRIBE_ALL = "subscribe_all"
    SUBSCRIBE_NONE = "subscribe_none"
    AUDIO_ONLY = "audio_only"
    VIDEO_ONLY = "video_only"


@attrs.define
class LocalParticipant:
    """The agent's side of the room stand-in: attributes and metadata are kept (LiveKit apps
    publish e.g. the active agent's name there); data and RPC reach nobody offline."""

    identity: str = "agent"
    attributes: dict[str, str] = attrs.field(factory=dict)
    metadata: str = ""

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)

    async def set_metadata(self, metadata: str) -> None:
        self.metadata = metadata

    async def publish_data(self, payload: Any, **_: Any) -> None:
        """Nobody else is in the room: the data goes nowhere."""

    def register_rpc_method(self, method: str, handler: Any = None) -> Any:
        """No remote participant can call it offline; the handler is returned unchanged."""
        return handler if handler is not None else (lambda fn: fn)

    async def perform_rpc(self, *, destination_identity: str, method: str, **_: Any) -> str:
        raise RuntimeError(
            f"perform_rpc({method!r}) to {destination_identity!r}: there are no remote "
            "participants offline"
        )


@attrs.define
class Room:
    """Stands in for a LiveKit room: a name, the agent, and nobody else in it."""

    name: str = "console"
    remote_participants: dict[str, Any] = attrs.field(factory=dict)
    local_participant: LocalParticipant = attrs.field(factory=LocalParticipant)
    handlers: dict[str, list[Any]] = attrs.field(factory=dict)

    def on(self, event: str, callback: Any = None) -> Any:
        """Room events (participants joining or leaving, data...) never happen offline; the
        callback is kept and returned, so ``@ctx.room.on("...")`` works as a decorator."""

        def keep(cb: Any) -> Any:
            self.handlers.setdefault(event, []).append(cb)
            return cb

        return keep(callback) if callback is not None else keep

    def off(self, event: str, callback: Any) -> None:
        if callback in self.handlers.get(event, ()):
            self.handlers[event].remove(callback)

    def isconnected(self) -> bool:
        return True


@attrs.define
class JobProcess:
    """The process a job runs in; ``userdata`` is filled by the prewarm function."""

    userdata: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class Job:
    id: str = "job-console"
    metadata: str = ""


class _RoomService:
    """``ctx.api.room`` offline: the room is the local call, so removing its only remote
    participant (the user) or deleting it ends the job."""

    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx

    async def delete_room(self, request: Any = None, **_: Any) -> None:
        self._ctx.shutdown("room deleted")

    async def remove_participant(self, request: Any = None, **_: Any) -> None:
        self._ctx.shutdown("participant removed")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"ctx.api.room.{name}: there is no LiveKit server offline; only delete_room() and "
            "remove_participant() have a meaning here (both end the call)"
        )


class ServerAPI:
    """``ctx.api`` offline: LiveKit's server API has one meaningful part here, ``room``."""

    def __init__(self, ctx: JobContext) -> None:
        self.room = _RoomService(ctx)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"ctx.api.{name}: there is no LiveKit server offline (no SIP, egress or ingress); "
            "ctx.api.room.delete_room() ends the call"
        )

    async def aclose(self) -> None:
        """Nothing to close."""


@attrs.define
class Tagger:
    """``ctx.tagger``: outcome tags an app puts on its call (LiveKit sends them to its cloud
    dashboard; offline they are kept here and logged)."""

    tags: set[str] = attrs.field(factory=set)
    outcome: str | None = None
    reason: str = ""

    def add(self, tag: str) -> None:
        self.tags.add(tag)

    def remove(self, tag: str) -> None:
        self.tags.discard(tag)

    def success(self, reason: str = "") -> None:
        self.outcome, self.reason = "success", reason
        log.info("call tagged success %s", reason)

    def fail(self, reason: str = "") -> None:
        self.outcome, self.reason = "fail", reason
        log.info("call tagged fail: %s", reason)


class JobContext:
    """What an entrypoint gets: the room stand-in, the process, and shutdown callbacks."""

    def __init__(self, *, proc: JobProcess | None = None, room_name: str = "console") -> None:
        self.proc = proc or JobProcess()
        self.room = Room(room_name)
        self.job = Job()
        self.sessions: list[AgentSession[Any]] = []
        self.log_context_fields: dict[str, Any] = {}
        self._shutdown_callbacks: list[Callable[..., Awaitable[None]]] = []
        self._shutdown = asyncio.Event()
        self._session_started: Callable[[AgentSession[Any]], None] | None = None
        self.shutdown_reason = ""
        self.api = ServerAPI(self)
        self.tagger = Tagger()

    @property
    def primary_session(self) -> AgentSession[Any]:
        """The first session the entrypoint started."""
        if not self.sessions:
            raise RuntimeError("no AgentSession was started in this job yet")
        return self.sessions[0]

    def simulation_context(self) -> Any:
        """Always ``None``: no simulation service drives the job offline."""
        return None

    def make_session_report(self, session: AgentSession[Any] | None = None) -> Any:
        """The report of ``session`` (by default the job's last one): its whole history."""
        from voxfsm.agents.voice.report import SessionReport

        chosen = session or (self.sessions[-1] if self.sessions else None)
        if chosen is None:
            raise RuntimeError("make_session_report(): no AgentSession was started in this job")
        return SessionReport(
            job_id=self.job.id,
            room_id=self.room.name,
            room=self.room.name,
            chat_history=chosen.history.copy(),
        )

    async def delete_room(self, room_name: str = "") -> None:
        """End the call (offline the room is the call)."""
        self.shutdown("room deleted")

    async def connect(self, **_: Any) -> None:
        """Nothing to connect to offline."""

    async def wait_for_participant(self, **_: Any) -> Any:
        """The local user is always there."""
        return None

    def add_shutdown_callback(self, callback: Callable[..., Awaitable[None]]) -> None:
        """``callback()`` (or ``callback(reason)``) runs when the job ends."""
        self._shutdown_callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        """End the job: the console stops reading and the sessions close."""
        self.shutdown_reason = reason
        self._shutdown.set()

    async def _run_shutdown_callbacks(self) -> None:
        for cb in self._shutdown_callbacks:
            try:
                params = inspect.signature(cb).parameters
                await (cb(self.shutdown_reason) if params else cb())
            except Exception:
                log.exception("shutdown callback %r failed", cb)

    def _attach(self, session: AgentSession[Any]) -> None:
        self.sessions.append(session)
        if self._session_started is not None:
            self._session_started(session)


def get_job_context() -> JobContext:
    """The job running the current entrypoint (raises outside ``cli.run_app``)."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError(
            "no job context: this code runs only inside an entrypoint started "
            "by voxfsm.agents.cli.run_app"
        )
    return ctx


def session_started(session: AgentSession[Any]) -> None:
    """Called by ``AgentSession.start``: a session started inside a job joins that job."""
    ctx = _current.get()
    if ctx is not None and session not in ctx.sessions:
        ctx._attach(session)


class WorkerOptions:
    """LiveKit's worker options; offline only the entrypoint and prewarm functions matter
    (worker pool, load and network settings are kept in ``extra`` and have no effect)."""

    def __init__(
        self,
        entrypoint_fnc: Callable[[JobContext], Awaitable[None]],
        prewarm_fnc: Callable[[JobProcess], Any] | None = None,
        agent_name: str = "",
        on_session_end: Callable[[JobContext], Awaitable[None]] | None = None,
        **extra: Any,
    ) -> None:
        self.entrypoint_fnc = entrypoint_fnc
        self.prewarm_fnc = prewarm_fnc
        self.on_session_end = on_session_end
        self.agent_name = agent_name
        self.extra = dict(extra)


Entrypoint = Callable[[JobContext], Awaitable[None]]


class AgentServer:
    """LiveKit's newer app object: ``@server.rtc_session()`` marks the entrypoint."""

    def __init__(self, **_: Any) -> None:
        self.entrypoint_fnc: Callable[[JobContext], Awaitable[None]] | None = None
        self.setup_fnc: Callable[[JobProcess], Any] | None = None
        self.on_session_end: Callable[[JobContext], Awaitable[None]] | None = None

    def rtc_session(
        self,
        *,
        on_session_end: Callable[[JobContext], Awaitable[None]] | None = None,
        **_: Any,
    ) -> Callable[
        [Callable[[JobContext], Awaitable[None]]], Callable[[JobContext], Awaitable[None]]
    ]:
        """Marks the entrypoint; ``on_session_end(ctx)`` runs when its call ends (the other
        options, e.g. ``agent_name`` or simulation hooks, have no offline meaning)."""

        def mark(
            fn: Callable[[JobContext], Awaitable[None]],
        ) -> Callable[[JobContext], Awaitable[None]]:
            self.entrypoint_fnc = fn
            self.on_session_end = on_session_end
            return fn

        return mark

    def worker_options(self) -> WorkerOptions:
        if self.entrypoint_fnc is None:
            raise ValueError(
                "AgentServer has no entrypoint: decorate one with @server.rtc_session()"
            )
        return WorkerOptions(
            self.entrypoint_fnc, prewarm_fnc=self.setup_fnc, on_session_end=self.on_session_end
        )
