"""The session side of the state machine: one frozen definition per workflow, and commits.

A workflow's machine is derived once from the frozen graph of its entry class
(``MachineDefinition.from_graph(build_graph(entry))``) and shared by every session that starts
with that class.  Nothing adds to it afterwards: what a session does beyond the graph (an
undeclared handoff, an ``update_agent()`` swap, an agent class the graph does not reach) is
recorded in that session's own overlay (``SessionMachine.observed``).
"""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from voxfsm.agents._spec import inferred_targets
from voxfsm.agents.agent import Agent
from voxfsm.fsm.graph import WorkflowGraph, build_graph
from voxfsm.fsm.machine import RETURN, SWAP, TASK, MachineDefinition, SessionMachine

__all__ = [
    "RETURN",
    "SWAP",
    "TASK",
    "declares",
    "definition_for",
    "fire_now",
    "graph_for",
    "register",
    "registered",
]

log = logging.getLogger("voxfsm.agents")

_graphs: WeakKeyDictionary[type, WorkflowGraph] = WeakKeyDictionary()
_definitions: WeakKeyDictionary[type, MachineDefinition] = WeakKeyDictionary()
registered: WeakKeyDictionary[MachineDefinition, set[type]] = WeakKeyDictionary()
"""The agent classes each definition was built from (its graph's states)."""


def graph_for(entry: type) -> WorkflowGraph:
    """The frozen workflow graph of an entry class, built once per class."""
    graph = _graphs.get(entry)
    if graph is None:
        graph = _graphs[entry] = build_graph(entry)
    return graph


def definition_for(entry: type) -> MachineDefinition:
    """The machine of the workflow that starts with ``entry``, derived from its graph once."""
    defn = _definitions.get(entry)
    if defn is None:
        graph = graph_for(entry)
        defn = _definitions[entry] = MachineDefinition.from_graph(graph)
        registered[defn] = {s.cls for s in graph.states}
    return defn


def register(defn: MachineDefinition, cls: type[Agent]) -> None:
    """Note that a session of ``defn`` activated ``cls``.

    The definition is frozen: a class its graph does not reach runs on the session's overlay
    (its transitions are counted in ``SessionMachine.observed``), so this only remembers it.
    """
    known = registered.setdefault(defn, set())
    if cls not in known:
        log.debug("agent class %s is not in the workflow graph; its moves go to the overlay", cls)
        known.add(cls)


def declares(tool: Any, target: Agent) -> bool:
    """True when ``tool`` declares (or statically infers) a handoff to ``target``."""
    for declared in (*tool.info.handoff_targets, *inferred_targets(tool)):
        if declared is target or (isinstance(declared, type) and isinstance(target, declared)):
            return True
    return False


def fire_now(machine: SessionMachine, trigger: str, target: str | None) -> None:
    """Take a machine transition synchronously (``update_agent()``, a plain method, commits
    at once); see :meth:`SessionMachine.commit`."""
    machine.commit(trigger, target)
