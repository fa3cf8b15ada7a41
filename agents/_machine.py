"""The session side of the state machine: one shared definition per workflow, and commits."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from voxfsm.agents.agent import Agent
from voxfsm.fsm.machine import MachineDefinition, SessionMachine
from voxfsm.fsm.spec import state_spec

SWAP = "voxfsm:update_agent"
TASK = "voxfsm:task"
RETURN = "voxfsm:return"

_definitions: WeakKeyDictionary[type, MachineDefinition] = WeakKeyDictionary()
registered: WeakKeyDictionary[MachineDefinition, set[type]] = WeakKeyDictionary()


def definition_for(entry: type) -> MachineDefinition:
    defn = _definitions.get(entry)
    if defn is None:
        defn = _definitions[entry] = MachineDefinition()
        registered[defn] = set()
    return defn


def register(defn: MachineDefinition, cls: type[Agent]) -> None:
    """Add a class's state, its tools' stay transitions and its declared handoffs (transitively)."""
    seen = registered[defn]
    todo = [cls]
    while todo:
        klass = todo.pop()
        if klass in seen:
            continue
        seen.add(klass)
        spec = state_spec(klass)
        defn.add_state(spec.id)
        for trans in spec.transitions:
            defn.add_edge(trans.name, spec.id, None)
            for target in trans.targets:
                if isinstance(target, type) and issubclass(target, Agent):
                    defn.add_edge(trans.name, spec.id, state_spec(target).id)
                    todo.append(target)


def declares(tool: Any, target: Agent) -> bool:
    """Whether ``tool`` declares ``target``; a tool that declares nothing is judged by the
    targets inferred from its source (explicit declarations override inference)."""
    declared = tool.info.handoff_targets or getattr(tool, "inferred_targets", ())
    return any(d is target or (isinstance(d, type) and isinstance(target, d)) for d in declared)


def fire_now(machine: SessionMachine, trigger: str, target: str | None) -> None:
    """Run a machine trigger synchronously.

    Our machine has no awaiting callbacks, so the trigger coroutine finishes on its first
    step; doing it synchronously lets ``update_agent()`` (a plain method) commit at once.
    """
    coro = machine.fire(trigger, target)
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("the state machine suspended inside a transition")
