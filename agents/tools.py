"""``@function_tool``: a coroutine the LLM may call, with a JSON schema read from its hints.

Everything derived from annotations (argument model, schema, handoff targets) is computed
lazily, the first time an agent using the tool is built or a graph is drawn, so tools may
refer to agent classes defined further down the module.
"""

from __future__ import annotations

import enum
import inspect
import json
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import attrs
import docstring_parser
import pydantic
from pydantic.fields import FieldInfo

from voxfsm.agents.context import RunContext
from voxfsm.fsm.spec import Unresolved

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
        self.timeout = timeout
        self.flags = ToolFlag(flags)
        self._info: list[ToolInfo] = []  # shared by bound copies; empty until resolved
        self._self: Any = None
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<function_tool {self.name}>"

    def __get__(self, instance: Any, owner: type | None = None) -> FunctionTool:
        if instance is None:
            return self
        bound = object.__new__(FunctionTool)
        for slot in FunctionTool.__slots__:
            if hasattr(self, slot):
                setattr(bound, slot, getattr(self, slot))
        bound._self = instance
        return bound

    @property
    def owner(self) -> Any:
        """The agent this tool is bound to, or ``None`` for a free function."""
        return self._self

    @property
    def info(self) -> ToolInfo:
        if not self._info:
            self._info.append(_resolve(self))
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

    def validate(self, arguments: str | dict[str, Any] | None) -> dict[str, Any]:
        """Parse and check the LLM's arguments; raises :class:`ArgumentError` naming the problem."""
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
        else:
            data = arguments
        if not isinstance(data, dict):
            raise ArgumentError(f"arguments for `{info.name}` must be a JSON object, got {data!r}")
        if info.model is None:  # raw schema: the function gets the object as it came
            return {"raw_arguments": data}
        # null for a parameter with a default means "use the default"
        data = {k: v for k, v in data.items() if not (v is None and k in info.defaults)}
        try:
            parsed = info.model.model_validate(data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ArgumentError(f"invalid arguments for `{info.name}`: {problems}") from None
        return {k: getattr(parsed, k) for k in type(parsed).model_fields}

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = self.fn
        result = fn(self._self, *args, **kwargs) if self._self is not None else fn(*args, **kwargs)
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
    """Turn an async method or function into a tool the LLM can call.

    ``handoff=`` (a class or a list of classes) declares where the tool may hand off; a
    return annotation naming agent classes does the same.  ``timeout=`` (seconds) turns a
    tool that hangs into an error output the LLM sees (don't set it on a tool that awaits an
    ``AgentTask``: the user talks to the task meanwhile).  ``flags=`` takes
    :class:`ToolFlag` values (``ToolFlag.IGNORE_ON_ENTER``).
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


# --------------------------------------------------------------------------- resolution


def _eval_annotation(ann: Any, fn: Callable[..., Any]) -> Any:
    holder = type("_Annotation", (), {"__annotations__": {"x": ann}})
    return typing.get_type_hints(
        holder, globalns=getattr(fn, "__globals__", {}), include_extras=True
    )["x"]


def _is_context(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, RunContext)


def _description_from(meta: Sequence[Any]) -> str | None:
    for m in meta:
        if isinstance(m, str):
            return m
    return None


def _field_for(tp: Any, doc: str | None) -> tuple[Any, Any]:
    """Annotated string metadata, or a ``Field(description=...)`` in it, becomes the description."""
    desc = doc
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        fields = [m for m in meta if isinstance(m, FieldInfo) and m.description]
        desc = _description_from(meta) or (fields[-1].description if fields else None) or desc
        rest = [m for m in meta if not isinstance(m, str)]
        args = (base, *rest)
        tp = typing.Annotated[args] if rest else base
    return tp, desc


def _resolve(tool: FunctionTool) -> ToolInfo:
    fn = tool.fn
    doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    parts = [p for p in (doc.short_description, doc.long_description) if p]
    description = tool.description_override or ("\n\n".join(parts) if parts else None)
    raw = tool._raw_schema
    if raw is not None:
        return ToolInfo(
            name=tool.name,
            description=description or raw.get("description"),
            parameters=dict(raw["parameters"]),
            model=None,
            context_params=tuple(_raw_context_params(fn)),
            defaults=frozenset(),
            handoff_targets=_declared_targets(tool, None),
        )
    param_docs = {p.arg_name: p.description for p in doc.params}
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    fields: dict[str, Any] = {}
    context: list[str] = []
    defaults: set[str] = set()
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.annotation is inspect.Parameter.empty:
            tp: Any = Any
        else:
            try:
                tp = _eval_annotation(p.annotation, fn)
            except Exception as exc:
                raise TypeError(
                    f"tool `{tool.name}`: cannot resolve the annotation {p.annotation!r} of "
                    f"parameter `{p.name}` ({exc}); define the type at module level"
                ) from None
        if _is_context(tp):
            context.append(p.name)
            continue
        tp, desc = _field_for(tp, param_docs.get(p.name))
        default = ... if p.default is inspect.Parameter.empty else p.default
        if default is not ...:
            defaults.add(p.name)
        # description=None would wipe one given by Field(...) inside Annotated
        field = pydantic.Field(default, description=desc) if desc else pydantic.Field(default)
        fields[p.name] = (tp, field)
    model = pydantic.create_model(
        f"{tool.name}_args",
        __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **fields,
    )
    return ToolInfo(
        name=tool.name,
        description=description,
        parameters=_clean_schema(model.model_json_schema()),
        model=model,
        context_params=tuple(context),
        defaults=frozenset(defaults),
        handoff_targets=_declared_targets(tool, sig.return_annotation),
    )


def _raw_context_params(fn: Callable[..., Any]) -> list[str]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in ("self", "raw_arguments") or p.annotation is inspect.Parameter.empty:
            continue
        try:
            if _is_context(_eval_annotation(p.annotation, fn)):
                out.append(p.name)
        except Exception:
            continue
    return out


def _declared_targets(tool: FunctionTool, ret: Any) -> tuple[object, ...]:
    declared = tool._handoff
    if declared is not None:
        items = (
            list(declared) if isinstance(declared, (list, tuple, set, frozenset)) else [declared]
        )
        return tuple(items)
    if ret is inspect.Signature.empty or ret is None:
        return ()
    try:
        resolved = _eval_annotation(ret, tool.fn)
    except Exception as exc:
        return (Unresolved(name=str(ret), error=f"{type(exc).__name__}: {exc}"),)
    return tuple(_agent_classes_in(resolved))


def _agent_classes_in(tp: Any) -> list[type]:
    from voxfsm.agents.agent import Agent, AgentTask

    found: list[type] = []

    def walk(t: Any) -> None:
        if isinstance(t, type) and issubclass(t, Agent):
            # `-> Agent` says "some agent", which declares no particular target
            if t not in found and t not in (Agent, AgentTask):
                found.append(t)
            return
        for arg in typing.get_args(t):
            walk(arg)

    walk(tp)
    return found


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$defs`` and drop pydantic's titles: small local LLMs read flat schemas best."""
    defs = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = defs[node["$ref"].rsplit("/", 1)[-1]]
                merged = {**clean(dict(target)), **{k: v for k, v in node.items() if k != "$ref"}}
                return clean(merged)
            return {k: clean(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    out = clean(schema)
    out.setdefault("properties", {})
    out["type"] = "object"
    out["additionalProperties"] = False
    return out
