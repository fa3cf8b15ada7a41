"""Fan-out to the session's listeners: each callback guarded, nothing done when nobody listens."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from voxfsm.agents.listeners import SessionListener

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.chat import FunctionCall, FunctionCallOutput
    from voxfsm.agents.listeners import Commit, HookName
    from voxfsm.agents.speech import SpeechHandle

log = logging.getLogger("voxfsm.agents")


class Watchers:
    """The registered listeners; falsy when there are none, so call sites skip the work."""

    __slots__ = ("_all",)

    def __init__(self) -> None:
        self._all: tuple[SessionListener, ...] = ()

    def __bool__(self) -> bool:
        return bool(self._all)

    def add(self, listener: SessionListener) -> None:
        if not isinstance(listener, SessionListener):
            raise TypeError(
                f"add_listener() needs a SessionListener (subclass it), got {listener!r}"
            )
        if listener not in self._all:
            self._all = (*self._all, listener)

    def remove(self, listener: SessionListener) -> None:
        self._all = tuple(w for w in self._all if w is not listener)

    def _tell(self, method: str, *args: Any) -> None:
        # a tuple snapshot: a listener may add or remove listeners while being told
        for listener in self._all:
            try:
                getattr(listener, method)(*args)
            except Exception:
                log.exception("session listener %r failed in %s()", listener, method)

    def committed(self, commit: Commit) -> None:
        self._tell("committed", commit)

    def hook_started(self, agent: Agent, hook: HookName) -> None:
        self._tell("hook_started", agent, hook)

    def hook_finished(self, agent: Agent, hook: HookName, error: BaseException | None) -> None:
        self._tell("hook_finished", agent, hook, error)

    def reply_started(self, agent: Agent, handle: SpeechHandle) -> None:
        self._tell("reply_started", agent, handle)

    def reply_finished(
        self, agent: Agent, handle: SpeechHandle, error: BaseException | None
    ) -> None:
        self._tell("reply_finished", agent, handle, error)

    def tool_started(self, agent: Agent, call: FunctionCall) -> None:
        self._tell("tool_started", agent, call)

    def tool_finished(self, agent: Agent, call: FunctionCall, output: FunctionCallOutput) -> None:
        self._tell("tool_finished", agent, call, output)
