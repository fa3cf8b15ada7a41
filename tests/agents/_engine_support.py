"""Helpers for the engine tests: collect error events, read outputs, check call pairing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from voxfsm.agents import AgentSession, ErrorEvent, FunctionCall, FunctionCallOutput
from voxfsm.agents.limits import LimitExceeded

BOUND = 5.0
"""Seconds any awaited step in these tests may take; far above what each needs."""


def error_events(session: AgentSession[Any]) -> list[ErrorEvent]:
    """Start collecting the session's ``error`` events (the list fills as they come)."""
    events: list[ErrorEvent] = []
    session.on("error", events.append)
    return events


def limits(events: list[ErrorEvent]) -> list[str]:
    """The options named by the limit errors among ``events``."""
    return [e.error.option for e in events if isinstance(e.error, LimitExceeded)]


def outputs(session: AgentSession[Any]) -> list[FunctionCallOutput]:
    return [it for it in session.history.items if isinstance(it, FunctionCallOutput)]


def output_of(session: AgentSession[Any], name: str) -> FunctionCallOutput:
    found = [o for o in outputs(session) if o.name == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def assert_every_call_has_one_output(session: AgentSession[Any]) -> None:
    items = session.history.items
    calls = Counter(it.call_id for it in items if isinstance(it, FunctionCall))
    outs = Counter(it.call_id for it in items if isinstance(it, FunctionCallOutput))
    assert calls == outs and set(outs.values()) <= {1}, (calls, outs)
