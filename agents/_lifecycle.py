"""Carrying out what was committed: agents' exits and entries, in the documented order.

A committed handoff A → B runs, when the code that decided it has finished: A's follow-up
reply (tuple results), ``A.on_exit()``, one ``AgentHandoff`` record, ``B.on_enter()``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from voxfsm.agents import nodes
from voxfsm.agents._commit import Handoff
from voxfsm.agents._machine import register, registered
from voxfsm.agents._scope import Scope, _speaker, _tool
from voxfsm.agents.agent import Agent, _check_unique
from voxfsm.agents.chat import AgentHandoff
from voxfsm.agents.listeners import HookName
from voxfsm.agents.run_result import AgentHandoffEvent
from voxfsm.agents.speech import SpeechHandle

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession

T = TypeVar("T")


class Lifecycle:
    """Agents entering and leaving a session."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self.s = session

    def commit(self, scope: Scope, decision: Handoff | None) -> None:
        """Commit a reply's handoff now; carry it out when the deciding code has finished."""
        if decision is None:
            return
        s = self.s
        old, new = decision.old, decision.new
        s._position.move(old, new, tool=decision.tool, kind="handoff")
        scope.handoffs += 1
        follow_up = decision.follow_up
        scope.deferred.append(lambda: self.swap(old, new, scope, follow_up=follow_up))

    async def swap(self, old: Agent, new: Agent, scope: Scope, *, follow_up: bool) -> None:
        """Carry out a decided handoff: old's follow-up, old's exit, the record, new's entry."""
        # the handoff is decided: a failing follow-up or on_exit is reported after it is done
        error: BaseException | None = None
        if follow_up:
            try:
                await self.s._turns.reply(scope, old, SpeechHandle(), tools_enabled=False)
            except Exception as exc:
                error = exc
        try:
            await self.exit(old, scope)
        except Exception as exc:
            error = error or exc
        await self.enter(new, old, scope)
        if error is not None:
            raise error

    async def exit(self, agent: Agent, scope: Scope) -> None:
        try:
            await self.in_agent(agent, agent.on_exit(), "on_exit")
            await self.s._jobs.settle(scope)
        finally:
            agent._runtime.status = "inactive"

    async def enter(self, agent: Agent, old: Agent | None, scope: Scope) -> None:
        s = self.s
        self.activate(agent)
        s._position.visited[agent.id] = agent
        item = AgentHandoff(new_agent_id=agent.id, old_agent_id=old.id if old is not None else None)
        s._record(None, item, scope, event=AgentHandoffEvent(item, old, agent))
        await self.in_agent(agent, agent.on_enter(), "on_enter")
        await s._jobs.settle(scope)

    def activate(self, agent: Agent) -> None:
        s = self.s
        if agent._runtime.status != "inactive":
            raise RuntimeError(
                f"cannot activate agent {agent.id!r}: it is already {agent._runtime.status}"
            )
        if s._tools:
            _check_unique(
                [*agent._tools, *s._tools], f"agent {agent.id!r} with the session's tools"
            )
        agent._runtime.session_tools = s._tools
        agent._runtime.session = s
        agent._runtime.status = "active"
        definition = s.machine.definition
        if type(agent) not in registered[definition]:
            register(definition, type(agent))

    async def in_agent(self, agent: Agent, coro: Coroutine[Any, Any, T], hook: HookName) -> T:
        """Run one of ``agent``'s hooks as that agent (and outside any tool that started it)."""
        token = _speaker.set(agent)
        # a hook is not inside a tool even when a tool's AgentTask entered it: its replies
        # may call the agent's own tools
        tool = _tool.set(None)
        in_hook = nodes.current_hook.set(hook)  # replies made here see it (IGNORE_ON_ENTER)
        watch = self.s._watch
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
