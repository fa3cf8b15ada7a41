"""``mock_tools``: replace what tools *do* in a test, keeping what the LLM sees."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, overload
from weakref import WeakKeyDictionary

_mocks: ContextVar[tuple[tuple[type, Mapping[str, Callable[..., Any]]], ...]] = ContextVar(
    "voxfsm_mocks", default=()
)
# mocks set for a whole session with mock_tools(..., session=s)
_session_mocks: WeakKeyDictionary[Any, dict[type, dict[str, Callable[..., Any]]]] = (
    WeakKeyDictionary()
)


@overload
def mock_tools(
    agent_cls: type, mocks: Mapping[str, Callable[..., Any]]
) -> contextlib.AbstractContextManager[None]: ...
@overload
def mock_tools(
    agent_cls: type, mocks: Mapping[str, Callable[..., Any]], *, session: Any
) -> None: ...
def mock_tools(
    agent_cls: type, mocks: Mapping[str, Callable[..., Any]], *, session: Any = None
) -> contextlib.AbstractContextManager[None] | None:
    """Calls of these tools on ``agent_cls`` agents run the mocks instead.

    Without ``session``: a context manager; the mocks apply within the block.  With
    ``session``: the mocks apply to that session from now on (call again to replace them,
    ``{}`` removes them); mocks of an enclosing block win over the session's.

    A mock may be sync or async, may take any subset of the tool's parameters (by name), and
    follows the same outcome rules as the tool; returning an exception counts as raising it.
    """
    if session is not None:
        _session_mocks.setdefault(session, {})[agent_cls] = dict(mocks)
        return None
    return _scoped(agent_cls, mocks)


@contextlib.contextmanager
def _scoped(agent_cls: type, mocks: Mapping[str, Callable[..., Any]]) -> Iterator[None]:
    token = _mocks.set((*_mocks.get(), (agent_cls, dict(mocks))))
    try:
        yield
    finally:
        _mocks.reset(token)


def find_mock(agent: object, tool_name: str) -> Callable[..., Any] | None:
    for cls, table in reversed(_mocks.get()):
        if isinstance(agent, cls) and tool_name in table:
            return table[tool_name]
    runtime = getattr(agent, "_runtime", None)
    session = runtime.session if runtime is not None else None
    if session is not None:
        for cls, table in (_session_mocks.get(session) or {}).items():
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
