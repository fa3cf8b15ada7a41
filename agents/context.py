"""``RunContext``: what a running tool may know about the call and the session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from voxfsm.agents._scope import Scope
    from voxfsm.agents.chat import FunctionCall
    from voxfsm.agents.session import AgentSession
    from voxfsm.agents.speech import SpeechHandle

T = TypeVar("T")


class RunContext(Generic[T]):
    """Handed to a tool parameter annotated ``RunContext`` (any name); never in the schema."""

    __slots__ = (
        "_first_update",
        "_function_call",
        "_scope",
        "_session",
        "_speech_handle",
        "updates",
    )

    def __init__(
        self, *, session: AgentSession[T], speech_handle: SpeechHandle, function_call: FunctionCall
    ) -> None:
        self._session = session
        self._speech_handle = speech_handle
        self._function_call = function_call
        self.updates: list[str] = []
        """Progress messages this tool reported with :meth:`update` (before the template)."""
        # set while the step that called the tool waits for its answer (see _background)
        self._first_update: asyncio.Future[str] | None = None
        self._scope: Scope | None = None

    @property
    def session(self) -> AgentSession[T]:
        return self._session

    @property
    def userdata(self) -> T:
        return self._session.userdata

    @property
    def function_call(self) -> FunctionCall:
        return self._function_call

    @property
    def speech_handle(self) -> SpeechHandle:
        return self._speech_handle

    def disallow_interruptions(self) -> None:
        """Keep the user from cutting off the speech this tool belongs to."""
        self._speech_handle.allow_interruptions = False

    async def wait_for_playout(self) -> None:
        """Nothing to wait for in text mode; in voice mode the reply is spoken before tools run."""

    async def update(self, message: Any, *, template: Any = None) -> None:
        """Report progress, as LiveKit does: the first update answers the LLM for now.

        The first call becomes the tool's output (``message`` wrapped in ``template``, a
        ``str.format`` string or a callable of the fields ``function_name``, ``call_id``,
        ``message``; default :data:`~voxfsm.agents.voice.tool_executor.UPDATE_TEMPLATE`):
        the LLM replies to it at once and the tool keeps running in the background. Later
        updates, and the value the tool finally returns (or its error), are added to the
        conversation as call/output pairs ``<call_id>_update_<n>`` / ``<call_id>_final``,
        each followed by a reply of the current agent. A tool run outside a session step
        (e.g. called directly) only records the update in ``updates``.
        """
        from voxfsm.agents import _background  # the engine imports this module

        self.updates.append(message if isinstance(message, str) else str(message))
        text = _background.render(self, message, template)
        first = self._first_update
        if first is None:
            return
        if not first.done():
            first.set_result(text)
            _background.leave_run(self)
            return
        _background.deliver(self, f"_update_{len(self.updates) - 1}", text)

    @contextlib.asynccontextmanager
    async def foreground(self) -> AsyncIterator[None]:
        """Hold the floor for interactive work (an ``AgentTask``, a ``say``, a handoff) in a
        tool that answered early with :meth:`update`: the block waits for its turn, then runs
        as part of the tool's run if that run is still going (its events are in that
        ``RunResult``), else as its own piece of session work. In a tool that has not
        answered yet, the tool already holds the floor and the block just runs."""
        first = self._first_update
        if first is None or not first.done():
            yield
            return
        from voxfsm.agents import _background

        async with _background.foreground(self):
            yield

    def __repr__(self) -> str:
        return f"RunContext(call={self._function_call.name!r})"
