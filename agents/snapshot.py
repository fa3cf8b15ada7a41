"""Snapshot a quiet session to plain data and resume it later, without re-running ``on_enter``.

Agents are rebuilt from their class (found by ``module:qualname``, there is no id registry):
with a zero-argument constructor when the class has one, otherwise without calling the
subclass ``__init__``.  Their instructions and context come from the snapshot, so keep any
other per-conversation state in userdata, which is saved through cattrs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from voxfsm.agents.agent import Agent
from voxfsm.agents.chat import ChatContext, converter
from voxfsm.fsm.snapshot import SnapshotError, envelope, mismatches, open_envelope
from voxfsm.fsm.spec import Step

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


def _fingerprint(agents: Iterable[Agent]) -> dict[str, list[str]]:
    return {a.id: sorted(t.name for t in a.tools) for a in agents}


def take(session: AgentSession[Any]) -> dict[str, Any]:
    if session._agent is None:
        raise SnapshotError("the session has not started; there is nothing to snapshot")
    if session._baton.locked() or session._waiters:
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
        userdata = {"type": _path(type(ud)), "value": converter.unstructure(ud)}
    payload = {
        "active": session._agent.id,
        "entry": _path(type(session._entry)) if session._entry is not None else None,
        "userdata": userdata,
        "history": session.history.to_dict(),
        "agents": {
            aid: {
                "class": _path(type(a)),
                "instructions": a.instructions,
                "chat_ctx": a._chat_ctx.to_dict(),
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


def _rebuild(cls: type[Agent], saved: dict[str, Any], agent_id: str) -> Agent:
    try:
        agent = cls()
    except TypeError:  # the constructor needs arguments: build the base part only
        agent = object.__new__(cls)
        Agent.__init__(agent, instructions=saved["instructions"], id=agent_id)
    agent._id = agent_id
    agent._instructions = saved["instructions"]
    agent._chat_ctx = ChatContext.from_dict(saved["chat_ctx"])
    return agent


def restore(
    session_cls: type[AgentSession[Any]], data: Any, **session_kwargs: Any
) -> AgentSession[Any]:
    snap = open_envelope(data)
    built: dict[str, Agent] = {}
    for aid, saved in snap["agents"].items():
        cls = _load(saved["class"])
        if not (isinstance(cls, type) and issubclass(cls, Agent)):
            raise SnapshotError(f"{saved['class']} is no longer an Agent class")
        built[aid] = _rebuild(cls, saved, aid)
    problems = mismatches(snap["fingerprint"], _fingerprint(built.values()))
    if problems:
        raise SnapshotError("the workflow changed since the snapshot: " + "; ".join(problems))
    if "userdata" not in session_kwargs and snap.get("userdata"):
        ud = snap["userdata"]
        session_kwargs["userdata"] = converter.structure(ud["value"], _load(ud["type"]))
    session = session_cls(**session_kwargs)
    session._resume_from(
        active=built[snap["active"]],
        entry_cls=_load(snap["entry"]) if snap.get("entry") else type(built[snap["active"]]),
        history=ChatContext.from_dict(snap["history"]),
        visited=built,
        steps=[
            Step(
                s["source"],
                s["trigger"],
                s["target"],
                built.get(s["target"]),
                s["declared"],
                s["kind"],
            )
            for s in snap["steps"]
        ],
    )
    return session
