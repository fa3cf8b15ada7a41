"""LiveKit's ``livekit.agents.llm.utils`` helpers for tools, over voxfsm's own schema code."""

from __future__ import annotations

import json
from typing import Any

import pydantic

from voxfsm.agents.tools import FunctionTool, function_tool


def _as_tool(fnc: Any) -> FunctionTool:
    if isinstance(fnc, FunctionTool):
        return fnc
    inner = getattr(fnc, "__func__", None)
    if isinstance(inner, FunctionTool):
        return inner
    if callable(fnc):
        return function_tool(fnc)
    raise TypeError(f"expected a function or a @function_tool, got {type(fnc).__name__}")


def function_arguments_to_pydantic_model(fnc: Any) -> type[pydantic.BaseModel]:
    """The pydantic model of a tool's (or a plain function's) arguments, ``RunContext``
    parameters left out; descriptions come from the docstring's ``Args:`` section."""
    tool = _as_tool(fnc)
    model = tool.info.model
    if model is None:
        raise ValueError(
            f"tool `{tool.name}` is declared with a raw JSON schema and has no argument model"
        )
    return model


def prepare_function_arguments(
    *, fnc: Any, json_arguments: str | dict[str, Any], call_ctx: Any = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Validate ``json_arguments`` for ``fnc`` and return ``(args, kwargs)`` to call it with
    (``call_ctx`` fills the ``RunContext`` parameters)."""
    tool = _as_tool(fnc)
    raw = json_arguments if isinstance(json_arguments, str) else json.dumps(json_arguments)
    values = tool.validate(raw)
    for name in tool.info.context_params:
        values[name] = call_ctx
    return (), values


__all__ = ["function_arguments_to_pydantic_model", "prepare_function_arguments"]
