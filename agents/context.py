"""``RunContext``: what a running tool may know about the call and the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from voxfsm.agents.chat import FunctionCall
    from voxfsm.agents.session import AgentSession
    from voxfsm.agents.speech import SpeechHandle

T = TypeVar("T")


class RunContext(Generic[T]):
    """Handed to a tool parameter annotated ``RunContext`` (any name); never in the schema."""

    __slots__ = ("_function_call", "_session", "_speech_handle")

    def __init__(
        self, *, session: AgentSession[T], speech_handle: SpeechHandle, function_call: FunctionCall
    ) -> None:
        self._session = session
        self._speech_handle = speech_handle
        self._function_call = function_call

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

    def __repr__(self) -> str:
        return f"RunContext(call={self._function_call.name!r})"
