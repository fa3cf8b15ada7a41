"""What the graph builder needs to know about a state, without knowing what a state is.

`voxfsm.fsm` never imports the agent layer.  Anything that wants to be drawn or checked as a
state (an agent class, or an instance of one) implements :class:`StateSource`: it describes
itself as a :class:`StateSpec` and names the objects its transitions may lead to.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen
class Unresolved:
    """A transition target that could not be turned into a state (bad forward reference...)."""

    name: str
    error: str


@attrs.frozen
class TransitionSpec:
    """One trigger of a state: its name, what it is for, and where it may lead.

    ``targets`` are other :class:`StateSource` objects (classes or instances) or
    :class:`Unresolved` markers.  An empty tuple means the trigger never leaves the state.
    ``kind`` is ``"handoff"`` for a plain transition and ``"task"`` for a call-and-return
    (the target runs, then control comes back to the source).  ``inferred`` are targets nobody
    declared but a static reading of the tool found (e.g. LiveKit code that declares none);
    they are drawn and checked as such, never mixed with the declared ones.
    """

    name: str
    description: str | None
    targets: tuple[object, ...] = ()
    kind: str = "handoff"
    inferred: tuple[object, ...] = ()


@attrs.frozen
class StateSpec:
    """A state as the graph sees it.

    ``summary`` is one line saying what the state is for (it must not depend on whether the
    spec comes from a class or a running instance, so drawings stay stable).
    ``context_types`` are the types the state's triggers expect as shared data (userdata);
    a snapshot restore accepts only those.
    """

    id: str
    cls: type
    summary: str = ""
    terminal: bool = False
    transitions: tuple[TransitionSpec, ...] = ()
    context_types: tuple[type, ...] = ()


@runtime_checkable
class StateSource(Protocol):
    """Implemented by agent classes *and* instances (as a classmethod-like hook)."""

    def __fsm_state__(self) -> StateSpec: ...


def state_spec(obj: object) -> StateSpec:
    """The :class:`StateSpec` of a class or instance implementing ``__fsm_state__``."""
    hook = getattr(obj, "__fsm_state__", None)
    if hook is None:
        raise TypeError(
            f"{obj!r} cannot be drawn as a state: it has no __fsm_state__() "
            "(pass an Agent subclass or instance)"
        )
    spec = hook()
    if not isinstance(spec, StateSpec):
        raise TypeError(f"{obj!r}.__fsm_state__() returned {type(spec).__name__}, not StateSpec")
    return spec


@attrs.frozen
class Step:
    """One transition a running workflow actually took.

    ``trigger`` is the tool name, or ``None`` for a programmatic swap (``update_agent``).
    ``target`` is the state source (agent class or instance) that became active.
    ``declared`` is False when the source state did not declare this edge.
    ``kind`` is ``"handoff"``, ``"task"`` (a call into an AgentTask) or ``"return"``
    (back from one).
    """

    source: str | None
    trigger: str | None
    target_id: str
    target: object
    declared: bool = True
    kind: str = "handoff"


@attrs.frozen
class Trace:
    """What a running workflow did so far: where it started, where it is, how it got there."""

    entry: object
    current: str | None
    steps: tuple[Step, ...] = ()


@runtime_checkable
class TraceSource(Protocol):
    """Implemented by a running session (``AgentSession``)."""

    def __fsm_trace__(self) -> Trace: ...
