"""``RunContext``: what a running tool may know about the call and the session."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from voxfsm.agents.chat import FunctionCall
    from voxfsm.agents.session import AgentSession
    from voxfsm.agents.speech import SpeechHandle

T = TypeVar("T")


class RunContext(Generic[T]):
    """Handed to a tool parameter annotated ``RunContext`` (any name); never in the schema."""

    __slots__ = ("_function_call", "_session", "_speech_handle", "updates")

    def __init__(
        self, *, session: AgentSession[T], speech_handle: SpeechHandle, function_call: FunctionCall
    ) -> None:
        self._session = session
        self._speech_handle = speech_handle
        self._function_call = function_call
        self.updates: list[str] = []
        """Progress messages this tool reported with :meth:`update`."""

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
        """Report progress of a long tool (kept in ``updates``; differs from LiveKit: the LLM
        is not told before the tool returns — its output is what the LLM sees)."""
        text = message if isinstance(message, str) else str(message)
        if isinstance(template, str):
            text = template.format(
                message=text,
                function_name=self._function_call.name,
                call_id=self._function_call.call_id,
            )
        self.updates.append(text)

    @contextlib.asynccontextmanager
    async def foreground(self) -> AsyncIterator[None]:
        """Hold the floor for interactive work (an ``AgentTask``, a ``say``) inside a tool.
        A voxfsm session already serializes speech inside a tool, so there is nothing to wait
        for; the block just runs."""
        yield

    def __repr__(self) -> str:
        return f"RunContext(call={self._function_call.name!r})"
