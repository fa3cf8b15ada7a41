"""A tool's result or exception → what is recorded and which state comes next.

This is the transition table of API.md ("Tool outcomes"), kept in one place.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from voxfsm.agents.agent import Agent
from voxfsm.agents.chat import dumps_output
from voxfsm.agents.tools import StopResponse, ToolError

log = logging.getLogger("voxfsm.agents")

INTERNAL_ERROR = "An internal error occurred"


@attrs.define
class Outcome:
    output: str = ""
    is_error: bool = False
    target: Agent | None = None
    reply: bool = False


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    try:
        return dumps_output(value)
    except Exception:  # not structurable: its str() is the best we can tell the model
        pass
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def interpret(tool_name: str, value: Any, error: BaseException | None) -> Outcome:
    if error is not None:
        if isinstance(error, ToolError):
            return Outcome(error.message, is_error=True, reply=True)
        if isinstance(error, StopResponse):
            return Outcome()
        log.error("tool %r raised", tool_name, exc_info=error)
        return Outcome(INTERNAL_ERROR, is_error=True, reply=True)
    if value is None:
        return Outcome()
    if isinstance(value, Agent):
        return Outcome(target=value)
    if isinstance(value, (tuple, list)) and any(isinstance(v, Agent) for v in value):
        agents = [v for v in value if isinstance(v, Agent)]
        if len(agents) > 1:
            return Outcome(
                f"`{tool_name}` returned {len(agents)} agents; "
                "a tool may hand off to one agent only",
                is_error=True,
                reply=True,
            )
        rest = [v for v in value if not isinstance(v, Agent)]
        payload = rest[0] if len(rest) == 1 else (rest or None)
        return Outcome(_text(payload), target=agents[0], reply=True)
    return Outcome(_text(value), reply=True)


def conflict_message(names: list[str]) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    return (
        f"{listed} all tried to hand off in the same step, so none of them did; "
        "call one transfer tool at a time"
    )
