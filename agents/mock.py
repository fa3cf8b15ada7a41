"""``mock_tools``: replace what tools *do* in a test, keeping what the LLM sees."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

_mocks: ContextVar[tuple[tuple[type, Mapping[str, Callable[..., Any]]], ...]] = ContextVar(
    "voxfsm_mocks", default=()
)


@contextlib.contextmanager
def mock_tools(agent_cls: type, mocks: Mapping[str, Callable[..., Any]]) -> Iterator[None]:
    """Within the block, calls of these tools on ``agent_cls`` agents run the mocks instead.

    A mock may be sync or async, may take any subset of the tool's parameters (by name), and
    follows the same outcome rules as the tool; returning an exception counts as raising it.
    """
    token = _mocks.set((*_mocks.get(), (agent_cls, dict(mocks))))
    try:
        yield
    finally:
        _mocks.reset(token)


def find_mock(agent: object, tool_name: str) -> Callable[..., Any] | None:
    for cls, table in reversed(_mocks.get()):
        if isinstance(agent, cls) and tool_name in table:
            return table[tool_name]
    return None


async def call_mock(mock: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    params = inspect.signature(mock).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = arguments if takes_all else {k: v for k, v in arguments.items() if k in params}
    result = mock(**kwargs)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, BaseException):
        raise result
    return result
