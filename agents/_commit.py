"""The single commit point: every change of the active agent happens here.

Start, a tool's handoff, ``update_agent()``, entering an ``AgentTask`` and returning from it,
and resuming from a snapshot each change, together and nowhere else: the active agent, the
state machine's state, the trace the graph is drawn from, and what listeners are told.  Turn
code only *decides* (:class:`Handoff`); the session commits the decision here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents._machine import (
    RETURN,
    SWAP,
    TASK,
    declares,
    definition_for,
    fire_now,
    register,
)
from voxfsm.agents.listeners import Commit, CommitKind
from voxfsm.fsm.machine import SessionMachine
from voxfsm.fsm.spec import Step, Trace, state_spec

if TYPE_CHECKING:
    from voxfsm.agents._watch import Watchers
    from voxfsm.agents.agent import Agent
    from voxfsm.agents.tools import FunctionTool

log = logging.getLogger("voxfsm.agents")


@attrs.frozen
class Handoff:
    """A tool step's decision: ``tool`` of ``old`` hands the conversation to ``new``."""

    old: Agent
    new: Agent
    tool: FunctionTool
    follow_up: bool
    """Whether ``old`` replies once more (tools disabled) before it exits."""


class Position:
    """Where a session is in its workflow: entry, active agent, machine state, trace."""

    __slots__ = ("_watch", "agent", "entry", "machine", "steps", "visited")

    def __init__(self, watch: Watchers) -> None:
        self._watch = watch
        self.agent: Agent | None = None
        self.entry: Agent | None = None
        self.machine: SessionMachine | None = None
        self.steps: list[Step] = []
        self.visited: dict[str, Agent] = {}

    def _machine(self) -> SessionMachine:
        if self.machine is None:
            raise RuntimeError("the session has not started; call `await session.start(agent)`")
        return self.machine

    def _told(self, kind: CommitKind, old: Agent | None, new: Agent, tool: Any = None) -> None:
        if self._watch:
            name = tool.name if tool is not None else None
            self._watch.committed(Commit(kind, old.id if old is not None else None, new.id, name))

    def start(self, agent: Agent) -> None:
        defn = definition_for(type(agent))
        register(defn, type(agent))
        self.entry = agent
        self.machine = SessionMachine(defn)
        self.agent = agent
        self.machine.set_state(agent.id)
        self._told("start", None, agent)

    def move(self, old: Agent, new: Agent, *, tool: FunctionTool | None, kind: CommitKind) -> None:
        """A handoff (``tool`` decided it), an ``update_agent`` or entering a task."""
        trigger = tool.name if tool is not None else (TASK if kind == "task" else SWAP)
        declared = tool is None or declares(tool, new)
        if not declared:
            assert tool is not None
            log.warning(
                "tool %r of agent %r handed off to %r, which it does not declare; add "
                "handoff=%s to its @function_tool (voxfsm check reports this)",
                tool.name,
                old.id,
                new.id,
                type(new).__name__,
            )
        self.agent = new
        fire_now(self._machine(), trigger, new.id)
        self.steps.append(
            Step(
                old.id,
                tool.name if tool is not None else (None if trigger == SWAP else trigger),
                new.id,
                type(new),  # the class: an instance would keep its whole context alive
                declared,
                "task" if kind == "task" else "handoff",
            )
        )
        self._told(kind, old, new, tool)

    def back(self, task: Agent, caller: Agent) -> None:
        """An ``AgentTask`` completed: its caller is the active agent again."""
        self.agent = caller
        fire_now(self._machine(), RETURN, caller.id)
        self.steps.append(Step(task.id, None, caller.id, type(caller), True, "return"))
        self._told("return", task, caller)

    def stay(self, tool_name: str) -> None:
        """A tool ran and the agent stays (the machine's self-transition)."""
        fire_now(self._machine(), tool_name, None)

    def restore(
        self,
        *,
        active: Agent,
        entry_cls: type[Agent],
        visited: dict[str, Agent],
        steps: list[Step],
    ) -> None:
        """Resume where a snapshot left off (no hook runs)."""
        defn = definition_for(entry_cls)
        register(defn, entry_cls)
        register(defn, type(active))  # reached at run time, maybe through no declared edge
        self.machine = SessionMachine(defn)
        self.entry = visited.get(state_spec(entry_cls).id, active)
        self.visited = dict(visited)
        self.steps = steps
        self.agent = active
        self.machine.set_state(active.id)
        self._told("restore", None, active)

    def trace(self) -> Trace:
        # steps hold classes; the graph wants the latest instance of each visited agent
        visited = self.visited
        steps = tuple(
            attrs.evolve(s, target=visited[s.target_id]) if s.target_id in visited else s
            for s in self.steps
        )
        return Trace(
            entry=self.entry,
            current=self.agent.id if self.agent is not None else None,
            steps=steps,
        )
