"""``@function_tool``: a coroutine the LLM may call, with a JSON schema read from its hints.

Everything derived from annotations (argument model, schema, handoff targets) is computed
lazily, the first time an agent using the tool is built or a graph is drawn, so tools may
refer to agent classes defined further down the module.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import attrs
import pydantic

from voxfsm.agents._tool_schema import resolve

F = TypeVar("F", bound=Callable[..., Any])


class ToolError(Exception):
    """Raise in a tool to tell the LLM what went wrong; the message becomes the tool output."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StopResponse(Exception):
    """Raise in a tool or ``on_user_turn_completed`` to end the turn without a reply."""


class ToolFlag(enum.IntFlag):
    """Flags of a tool (LiveKit's names)."""

    NONE = 0
    IGNORE_ON_ENTER = 1
    """Hidden from replies generated while the agent's ``on_enter`` runs."""


class ArgumentError(Exception):
    """The LLM's arguments do not fit the tool's schema (reported back to the LLM)."""


class ArgumentsTooDeep(ArgumentError):
    """The LLM's arguments nest deeper than ``AgentSession(max_tool_argument_depth=...)``."""


@attrs.frozen
class ToolInfo:
    """What the annotations of a tool say, resolved once."""

    name: str
    description: str | None
    parameters: dict[str, Any]
    model: type[pydantic.BaseModel] | None
    context_params: tuple[str, ...]
    defaults: frozenset[str]
    handoff_targets: tuple[object, ...]


class FunctionTool:
    """A tool definition; bound to an agent instance when read from one."""

    __slots__ = (
        "__wrapped__",
        "_handoff",
        "_info",
        "_raw_schema",
        "_self",
        "_sync",
        "description_override",
        "flags",
        "fn",
        "name",
        "timeout",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        raw_schema: dict[str, Any] | None = None,
        handoff: object | Sequence[object] | None = None,
        timeout: float | None = None,
        flags: int = 0,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@function_tool needs a function, got {fn!r}")
        if raw_schema is not None and (
            not raw_schema.get("name") or "parameters" not in raw_schema
        ):
            raise ValueError("raw_schema needs a non-empty 'name' and a 'parameters' object")
        self.fn = fn
        self.name = name or (raw_schema or {}).get("name") or fn.__name__
        self.description_override = description
        self._raw_schema = raw_schema
        self._handoff = handoff
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = timeout
        self.flags = ToolFlag(flags)
        # a plain `def` runs in a worker thread: one that blocks must not stop the event loop
        self._sync = not _is_async(fn)
        self._info: list[ToolInfo] = []  # shared by bound copies; empty until resolved
        self._self: Any = None
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<function_tool {self.name}>"

    def __get__(self, instance: Any, owner: type | None = None) -> FunctionTool:
        if instance is None:
            return self
        return self._bind(instance)

    def _bind(self, instance: Any) -> FunctionTool:
        """This tool bound to ``instance`` (an agent builds one per tool method)."""
        bound = object.__new__(FunctionTool)
        bound.fn = self.fn
        bound.name = self.name
        bound.description_override = self.description_override
        bound._raw_schema = self._raw_schema
        bound._handoff = self._handoff
        bound.timeout = self.timeout
        bound.flags = self.flags
        bound._sync = self._sync
        bound._info = self._info  # shared: annotations are resolved once for every copy
        bound.__wrapped__ = self.__wrapped__
        bound._self = instance
        return bound

    @property
    def owner(self) -> Any:
        """The agent this tool is bound to, or ``None`` for a free function."""
        return self._self

    @property
    def info(self) -> ToolInfo:
        if not self._info:
            self._info.append(resolve(self))
        return self._info[0]

    @property
    def description(self) -> str | None:
        return self.info.description

    @property
    def id(self) -> str:
        """LiveKit's name for the tool's name."""
        return self.name

    @property
    def inferred_targets(self) -> tuple[type, ...]:
        """Agent classes this tool's source can return or start (see ``agents._infer``)."""
        from voxfsm.agents._infer import inferred_targets

        return inferred_targets(self.fn)

    def schema(self) -> dict[str, Any]:
        """The tool as an OpenAI ``function`` definition."""
        info = self.info
        out: dict[str, Any] = {"name": info.name, "parameters": info.parameters}
        if info.description:
            out["description"] = info.description
        return out

    def validate(
        self, arguments: str | dict[str, Any] | None, *, max_depth: int | None = None
    ) -> dict[str, Any]:
        """Parse and check the LLM's arguments; raises :class:`ArgumentError` naming the problem.

        ``arguments`` is JSON text or an already parsed object; ``max_depth`` bounds how deeply
        its containers nest (``AgentSession(max_tool_argument_depth=...)``).
        """
        info = self.info
        if arguments is None or arguments == "":
            data: Any = {}
        elif isinstance(arguments, str):
            try:
                data = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise ArgumentError(
                    f"arguments for `{info.name}` are not valid JSON: {exc}"
                ) from None
            except RecursionError:
                raise ArgumentsTooDeep(
                    f"arguments for `{info.name}` nest too deeply to be read"
                    + _depth_hint(max_depth)
                ) from None
        else:
            data = arguments
        if max_depth is not None and _depth(data, max_depth) > max_depth:
            raise ArgumentsTooDeep(
                f"arguments for `{info.name}` nest deeper than {max_depth} levels"
                + _depth_hint(max_depth)
            )
        if not isinstance(data, dict):
            raise ArgumentError(f"arguments for `{info.name}` must be a JSON object, got {data!r}")
        if info.model is None:  # raw schema: the function gets the object as it came
            return {"raw_arguments": data}
        # null for a parameter with a default means "use the default"
        data = {k: v for k, v in data.items() if not (v is None and k in info.defaults)}
        try:
            parsed = info.model.model_validate(data)
        except RecursionError:
            raise ArgumentsTooDeep(
                f"arguments for `{info.name}` nest too deeply to be checked"
                + _depth_hint(max_depth)
            ) from None
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ArgumentError(f"invalid arguments for `{info.name}`: {problems}") from None
        return {k: getattr(parsed, k) for k in type(parsed).model_fields}

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = self.fn
        if self._self is not None:
            args = (self._self, *args)
        if self._sync and (fn is self.__wrapped__ or not _is_async(fn)):
            result = await asyncio.to_thread(fn, *args, **kwargs)
        else:
            result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


@overload
def function_tool(fn: F, /) -> FunctionTool: ...
@overload
def function_tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    handoff: object | Sequence[object] | None = None,
    timeout: float | None = None,
    flags: int = 0,
) -> Callable[[F], FunctionTool]: ...
def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    handoff: object | Sequence[object] | None = None,
    timeout: float | None = None,
    flags: int = 0,
) -> FunctionTool | Callable[[F], FunctionTool]:
    """Turn a method or function into a tool the LLM can call.

    ``handoff=`` (a class or a list of classes) declares where the tool may hand off; a
    return annotation naming agent classes does the same.  ``timeout=`` (seconds, overriding
    ``AgentSession(tool_timeout=...)``) turns a tool that hangs into an error output the LLM
    sees; time spent in an ``AgentTask`` the tool awaits does not count (the user talks to
    the task meanwhile).  A plain ``def`` runs in a worker thread, so blocking work does not
    stall the session; it must not call session or agent methods (make it ``async`` for that).
    ``flags=`` takes :class:`ToolFlag` values (``ToolFlag.IGNORE_ON_ENTER``).
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            f,
            name=name,
            description=description,
            raw_schema=raw_schema,
            handoff=handoff,
            timeout=timeout,
            flags=flags,
        )

    return wrap(fn) if fn is not None else wrap


def _is_async(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


def _depth(data: Any, stop: int) -> int:
    """How deeply ``data``'s lists and dicts nest (counting stops just past ``stop``)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level > stop:
                return level
            todo.extend((v, level + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _depth_hint(max_depth: int | None) -> str:
    if max_depth is None:
        return "; send flatter arguments"
    return (
        f"; send flatter arguments (the limit is AgentSession(max_tool_argument_depth={max_depth}))"
    )
