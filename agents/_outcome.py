"""A tool's result or exception → what is recorded and which state comes next.

This is the transition table of API.md ("Tool outcomes"), kept in one place.
"""

from __future__ import annotations

import inspect
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


def _mistake(tool_name: str, value: Any) -> str | None:
    """What is wrong with a result no model can use (a coding mistake in the tool), if anything."""
    if isinstance(value, type) and issubclass(value, Agent):
        return (
            f"`{tool_name}` returned the class {value.__name__}, not an agent; return "
            f"{value.__name__}(...) (an instance) to hand off"
        )
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: close it so Python does not warn later
        return (
            f"`{tool_name}` returned an awaitable ({type(value).__name__}) instead of its "
            "result; an `await` is missing inside the tool"
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (
            f"`{tool_name}` returned {type(value).__name__}; return text (decode the bytes) "
            "or a JSON-serialisable value"
        )
    return None


def interpret(tool_name: str, value: Any, error: BaseException | None) -> Outcome:
    if error is None:
        wrong = _mistake(tool_name, value)
        if wrong is None and isinstance(value, (tuple, list)):
            wrong = next(filter(None, (_mistake(tool_name, v) for v in value)), None)
        if wrong is not None:
            log.error("tool %r: %s", tool_name, wrong)
            return Outcome(wrong, is_error=True, reply=True)
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
