"""Which tools end the call, read from their source: an agent with one is an end state.

LiveKit apps never mark an agent as terminal; the agent that says goodbye simply has a tool
that hangs up (``session.shutdown()``, ``ctx.api.room.delete_room(...)``, ``job_ctx.shutdown()``,
``EndCallTool()``...).  Such an agent is not a dead end, so the graph marks it terminal.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from voxfsm.agents._infer import _function_node, _own_nodes

# method names that end the call when a tool calls them (on a session, job context or room)
_HANG_UP = frozenset({"shutdown", "aclose", "delete_room", "remove_participant", "hangup"})
_cache: WeakKeyDictionary[Callable[..., Any], bool] = WeakKeyDictionary()


def ends_call(tool: Any) -> bool:
    """True when ``tool`` ends the call: it says so (``ends_call = True``, as ``EndCallTool``
    does) or its body calls one of the hang-up methods."""
    if getattr(tool, "ends_call", False):
        return True
    fn = getattr(tool, "fn", None)
    if fn is None:
        return False
    try:
        return _cache[fn]
    except (KeyError, TypeError):
        pass
    node = _function_node(fn)
    found = node is not None and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _HANG_UP
        for n in _own_nodes(node)
    )
    with contextlib.suppress(TypeError):
        _cache[fn] = found  # the source is read and parsed once per function
    return found
