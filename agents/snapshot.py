"""Snapshot a quiet session to plain data and resume it later, without re-running ``on_enter``.

Agents are rebuilt from their class (found by ``module:qualname``, there is no id registry):
with a zero-argument constructor when the class has one, otherwise without calling the
subclass ``__init__``.  Their instructions and context come from the snapshot, so keep any
other per-conversation state in userdata, which is saved through cattrs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from voxfsm.agents._machine import definition_for, register
from voxfsm.agents.agent import Agent
from voxfsm.agents.chat import ChatContext, converter, structure_item
from voxfsm.fsm.machine import SessionMachine
from voxfsm.fsm.snapshot import SnapshotError, envelope, mismatches, open_envelope
from voxfsm.fsm.spec import Step, state_spec

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession


def _path(obj: type) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _load(path: str) -> Any:
    module, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SnapshotError(
            f"cannot find {path} to restore ({exc}); is the workflow importable?"
        ) from None
    return obj


def _importable(cls: type, what: str) -> str:
    """``module:qualname`` of ``cls``, refusing classes a restore could not import."""
    path = _path(cls)
    if "<locals>" in cls.__qualname__:
        raise SnapshotError(
            f"{what} {cls.__qualname__} is defined inside a function, so a snapshot of it could "
            "never be restored; define it at module level"
        )
    try:
        found = _load(path)
    except SnapshotError:
        found = None
    if found is not cls:
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


def _userdata(saved: _SavedUserdata) -> Any:
    if saved.type is None:
        return None
    kind = _load(saved.type)
    try:
        return converter.structure(saved.value, kind)
    except Exception as exc:
        raise SnapshotError(
            f"malformed snapshot: its userdata is not a valid {saved.type} ({exc})"
        ) from None


def restore(
    session_cls: type[AgentSession[Any]], data: Any, **session_kwargs: Any
) -> AgentSession[Any]:
    saved = _read(open_envelope(data))
    history = _context(saved.history, "the history")
    by_id = {it.id: it for it in history.items}
    built: dict[str, Agent] = {}
    for aid, agent in saved.agents.items():
        cls = _load(agent.cls)
        if not (isinstance(cls, type) and issubclass(cls, Agent)):
            raise SnapshotError(f"{agent.cls} is no longer an Agent class")
        built[aid] = _rebuild(cls, agent, aid, by_id)
    problems = mismatches(saved.fingerprint, _fingerprint(built.values()))
    if problems:
        raise SnapshotError("the workflow changed since the snapshot: " + "; ".join(problems))
    if "userdata" not in session_kwargs and saved.userdata is not None:
        session_kwargs["userdata"] = _userdata(saved.userdata)
    entry_cls = _load(saved.entry) if saved.entry else type(built[saved.active])
    session = session_cls(**session_kwargs)
    _resume(
        session,
        active=built[saved.active],
        entry_cls=entry_cls,
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
    defn = definition_for(entry_cls)
    register(defn, entry_cls)
    session._machine = SessionMachine(defn)
    session._entry = visited.get(state_spec(entry_cls).id, active)
    session._history = history
    session._visited = dict(visited)
    session._steps = steps
    session._agent = active
    session._activate(active)
    session._machine.set_state(active.id)
