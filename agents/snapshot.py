"""Snapshot a quiet session to plain data and resume it later, without re-running ``on_enter``.

A snapshot is data, and restoring it never lets the data choose what code runs: every class is
resolved through the workflow's frozen graph (its agent classes, and the userdata types its
tools expect as ``RunContext[T]`` or that the caller lists), never by importing a name the
snapshot contains.  The workflow is the ``workflow=`` entry agent class given to ``restore``,
or else the snapshot's entry class *if its module is already imported* (nothing is imported).
A snapshot naming anything else is refused with a ``SnapshotError`` before any agent is built.

Agents are then rebuilt from their class: with a zero-argument constructor when the class has
one, otherwise without calling the subclass ``__init__``.  Their instructions and context come
from the snapshot, so keep any other per-conversation state in userdata (saved through cattrs).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from voxfsm.agents.agent import Agent
from voxfsm.agents.chat import ChatContext, converter, structure_item
from voxfsm.fsm.graph import WorkflowGraph
from voxfsm.fsm.snapshot import SnapshotError, envelope, mismatches, open_envelope
from voxfsm.fsm.spec import Step

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession


def _path(obj: type) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _loaded(path: str) -> Any:
    """The object ``module:qualname`` names, from modules already imported; never imports."""
    module, _, qualname = path.partition(":")
    obj: Any = sys.modules.get(module)
    if obj is None or not qualname:
        return None
    for part in qualname.split("."):
        if not (isinstance(obj, type) or type(obj).__name__ == "module"):
            return None  # only walk modules and classes: never run an instance's properties
        obj = obj.__dict__.get(part)
        if obj is None:
            return None
    return obj


def _importable(cls: type, what: str) -> str:
    """``module:qualname`` of ``cls``, refusing classes a restore could not import."""
    path = _path(cls)
    if "<locals>" in cls.__qualname__:
        raise SnapshotError(
            f"{what} {cls.__qualname__} is defined inside a function, so a snapshot of it could "
            "never be restored; define it at module level"
        )
    if _loaded(path) is not cls:
        raise SnapshotError(
            f"{what} {path} cannot be imported by that name, so it could not be restored"
        )
    return path


def _fingerprint(agents: Iterable[Agent]) -> dict[str, list[str]]:
    return {a.id: sorted(t.name for t in a.tools) for a in agents}


def take(session: AgentSession[Any]) -> dict[str, Any]:
    if session._agent is None:
        raise SnapshotError("the session has not started; there is nothing to snapshot")
    if not session.is_idle():
        raise SnapshotError(
            "snapshot() needs a quiet session: await the running turn first (and finish any "
            "AgentTask in progress)"
        )
    agents = dict(session._visited)
    agents[session._agent.id] = session._agent
    from voxfsm.agents.session import _UNSET

    userdata = None
    if session._userdata is not _UNSET:
        ud = session._userdata
        kind = None if ud is None else _importable(type(ud), "the userdata type")
        userdata = {"type": kind, "value": converter.unstructure(ud)}
    for agent in agents.values():
        _importable(type(agent), f"the class of agent {agent.id!r}")
    if session._entry is not None:
        _importable(type(session._entry), "the entry agent's class")
    # agents' contexts mostly hold the same items as history: store those once
    in_history = {it.id for it in session.history.items}
    payload = {
        "active": session._agent.id,
        "entry": _path(type(session._entry)) if session._entry is not None else None,
        "userdata": userdata,
        "history": session.history.to_dict(),
        "agents": {
            aid: {
                "class": _path(type(a)),
                "instructions": a.instructions,
                "chat_ctx": _context_refs(a._chat_ctx, in_history),
            }
            for aid, a in agents.items()
        },
        "steps": [
            {
                "source": s.source,
                "trigger": s.trigger,
                "target": s.target_id,
                "declared": s.declared,
                "kind": s.kind,
            }
            for s in session._steps
        ],
    }
    return envelope(payload, _fingerprint(agents.values()))


@attrs.frozen
class _SavedAgent:
    cls: str
    instructions: str
    chat_ctx: dict[str, Any]


@attrs.frozen
class _SavedStep:
    source: Optional[str]  # noqa: UP045 - cattrs structures typing forms on 3.10 too
    trigger: Optional[str]  # noqa: UP045
    target: str
    declared: bool
    kind: str


@attrs.frozen
class _SavedUserdata:
    type: Optional[str]  # noqa: UP045 - None for userdata=None
    value: Any


@attrs.frozen
class _Saved:
    """The payload of a snapshot, as ``restore`` expects it."""

    active: str
    entry: Optional[str]  # noqa: UP045
    userdata: Optional[_SavedUserdata]  # noqa: UP045
    history: dict[str, Any]
    agents: dict[str, _SavedAgent]
    steps: list[_SavedStep]
    fingerprint: dict[str, list[str]]


_reader = cattrs.Converter(forbid_extra_keys=False)
_reader.register_structure_hook(
    _SavedAgent,
    make_dict_structure_fn(_SavedAgent, _reader, cls=override(rename="class")),
)


def _read(snap: dict[str, Any]) -> _Saved:
    try:
        saved = _reader.structure(snap, _Saved)
    except Exception as exc:
        details = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise SnapshotError(f"malformed snapshot: {details}") from None
    if saved.active not in saved.agents:
        raise SnapshotError(
            f"malformed snapshot: the active agent {saved.active!r} is not among its agents"
        )
    if set(saved.fingerprint) != set(saved.agents):
        raise SnapshotError(
            "malformed snapshot: its fingerprint does not list the same agents it saved"
        )
    return saved


def _context_refs(ctx: ChatContext, in_history: set[str]) -> dict[str, Any]:
    return {
        "items": [
            {"ref": it.id} if it.id in in_history else converter.unstructure(it) for it in ctx.items
        ]
    }


def _rebuild(cls: type[Agent], saved: _SavedAgent, agent_id: str, history: dict[str, Any]) -> Agent:
    try:
        agent = cls()
    except TypeError:  # the constructor needs arguments: build the base part only
        agent = object.__new__(cls)
        Agent.__init__(agent, instructions=saved.instructions, id=agent_id)
    agent._id = agent_id
    agent._instructions = saved.instructions
    agent._chat_ctx = _context(saved.chat_ctx, f"the context of agent {agent_id!r}", history)
    return agent


def _context(data: dict[str, Any], what: str, history: dict[str, Any] | None = None) -> ChatContext:
    """Items from a snapshot; ``{"ref": id}`` entries are the history's own items (shared)."""
    try:
        raw = data.get("items", ())
        items = []
        for entry in raw:
            if isinstance(entry, dict) and set(entry) == {"ref"} and history is not None:
                if entry["ref"] not in history:
                    raise ValueError(f"it refers to item {entry['ref']!r}, which history lacks")
                items.append(history[entry["ref"]])
            else:
                items.append(structure_item(entry))
        return ChatContext(items)
    except Exception as exc:
        details = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise SnapshotError(f"malformed snapshot: {what} has an invalid item ({details})") from None


_PLAIN_USERDATA: dict[str, type] = {
    f"builtins:{t.__qualname__}": t for t in (dict, list, tuple, str, int, float, bool)
}
"""Userdata types that need no registration: their structuring runs no user code."""


@attrs.frozen
class Plan:
    """What a snapshot resolves to in a given workflow; building it is :func:`restore`'s job.

    Everything here was checked against the workflow's graph; no class named only by the
    snapshot's data was imported or constructed to get it.
    """

    saved: _Saved
    entry: type[Agent]
    classes: dict[str, type[Agent]]  # agent id -> its class in the workflow
    userdata_type: type | None
    history: ChatContext


def _workflow_entry(saved: _Saved, workflow: Any) -> type[Agent]:
    if workflow is not None:
        entry = workflow if isinstance(workflow, type) else type(workflow)
        if not issubclass(entry, Agent):
            raise TypeError(f"workflow= must be the entry Agent class, got {workflow!r}")
        return entry
    path = saved.entry or saved.agents[saved.active].cls
    entry = _loaded(path)
    if not (isinstance(entry, type) and issubclass(entry, Agent)):
        raise SnapshotError(
            f"the snapshot's workflow starts at {path}, which is not a loaded Agent class; "
            "restore never imports what a snapshot names: import your workflow first, or pass "
            "its entry class with AgentSession.restore(data, workflow=EntryAgent, ...)"
        )
    return entry


def _userdata_type(saved: _Saved, graph: WorkflowGraph, extra: Iterable[type]) -> type | None:
    if saved.userdata is None or saved.userdata.type is None:
        return None
    known = {_path(t): t for t in (*graph.context_types, *extra)}
    known.update(_PLAIN_USERDATA)
    kind = known.get(saved.userdata.type)
    if kind is None:
        listed = ", ".join(sorted(p for p in known if not p.startswith("builtins:"))) or "none"
        raise SnapshotError(
            f"the snapshot's userdata type {saved.userdata.type} is not one the workflow uses "
            f"(its tools expect: {listed}); if it is yours, pass "
            "AgentSession.restore(data, userdata_types=[YourType], ...)"
        )
    return kind


def resolve(data: Any, *, workflow: Any = None, userdata_types: Iterable[type] = ()) -> Plan:
    """Check ``data`` against the workflow's graph, without running any code it names.

    Raises ``SnapshotError`` for anything malformed, and for any agent class or userdata
    type that the workflow does not have.
    """
    from voxfsm.agents._machine import graph_for

    saved = _read(open_envelope(data))
    entry = _workflow_entry(saved, workflow)
    if saved.entry is not None and saved.entry != _path(entry):
        raise SnapshotError(
            f"the snapshot is of the workflow starting at {saved.entry}, not {_path(entry)}; "
            "pass that workflow's entry class"
        )
    graph = graph_for(entry)
    by_path = {_path(s.cls): s.cls for s in graph.states}
    classes: dict[str, type[Agent]] = {}
    for aid, agent in saved.agents.items():
        cls = by_path.get(agent.cls)
        if cls is None:
            raise SnapshotError(
                f"the snapshot's agent {aid!r} is a {agent.cls}, which is not an agent of the "
                f"workflow starting at {_path(entry)} (it has {', '.join(sorted(by_path))}); "
                "declare the handoff that reaches it, or restore into the right workflow"
            )
        classes[aid] = cls
    return Plan(
        saved=saved,
        entry=entry,
        classes=classes,
        userdata_type=_userdata_type(saved, graph, userdata_types),
        history=_context(saved.history, "the history"),
    )


def _userdata(plan: Plan) -> Any:
    saved = plan.saved.userdata
    if saved is None or plan.userdata_type is None:
        return None
    try:
        return converter.structure(saved.value, plan.userdata_type)
    except Exception as exc:
        raise SnapshotError(
            f"malformed snapshot: its userdata is not a valid {saved.type} ({exc})"
        ) from None


def restore(
    session_cls: type[AgentSession[Any]], data: Any, **session_kwargs: Any
) -> AgentSession[Any]:
    """``AgentSession.restore``: :func:`resolve`, then build the agents and the session.

    ``workflow=`` (the entry agent class) and ``userdata_types=`` are taken out of
    ``session_kwargs``; the rest go to the session's constructor.
    """
    plan = resolve(
        data,
        workflow=session_kwargs.pop("workflow", None),
        userdata_types=session_kwargs.pop("userdata_types", ()),
    )
    saved, history = plan.saved, plan.history
    by_id = {it.id: it for it in history.items}
    built = {
        aid: _rebuild(plan.classes[aid], agent, aid, by_id) for aid, agent in saved.agents.items()
    }
    problems = mismatches(saved.fingerprint, _fingerprint(built.values()))
    if problems:
        raise SnapshotError("the workflow changed since the snapshot: " + "; ".join(problems))
    if "userdata" not in session_kwargs and saved.userdata is not None:
        session_kwargs["userdata"] = _userdata(plan)
    listeners = session_kwargs.pop("listeners", ())
    session = session_cls(**session_kwargs)
    for listener in listeners:  # before resuming, so they are told of the restore commit
        session.add_listener(listener)
    _resume(
        session,
        active=built[saved.active],
        entry_cls=plan.entry,
        history=history,
        visited=built,
        steps=[
            Step(
                s.source,
                s.trigger,
                s.target,
                type(built[s.target]) if s.target in built else None,
                s.declared,
                s.kind,
            )
            for s in saved.steps
        ],
    )
    return session


def _resume(
    session: AgentSession[Any],
    *,
    active: Agent,
    entry_cls: type[Agent],
    history: ChatContext,
    visited: dict[str, Agent],
    steps: list[Step],
) -> None:
    """Put a fresh session where the snapshot left off; no hook runs."""
    session._history = history
    # through the single commit point, which also tells the session's listeners
    session._position.restore(active=active, entry_cls=entry_cls, visited=visited, steps=steps)
    session._activate(active)
