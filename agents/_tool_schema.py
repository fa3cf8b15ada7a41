"""What a tool's annotations say: argument model, JSON schema, handoff targets.

Resolved lazily (see ``FunctionTool.info``), so tools may name agent classes defined further
down their module.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import docstring_parser
import pydantic
from pydantic.fields import FieldInfo

from voxfsm.agents.context import RunContext
from voxfsm.fsm.spec import Unresolved

if TYPE_CHECKING:
    from voxfsm.agents.tools import FunctionTool, ToolInfo


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


def resolve(tool: FunctionTool) -> ToolInfo:
    from voxfsm.agents.tools import ToolInfo

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
