"""Hypothesis strategies for tool arguments, read from a tool's JSON schema.

Tool schemas come from pydantic and are small and flat (``$defs`` already inlined), so a
short converter covers them; anything unusual falls back to plain JSON values, and the driver
asks the tool itself (``tool.validate``) whether the engine should accept what was drawn.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -", max_size=12)
_JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), _TEXT)
_FORMATS: dict[str, st.SearchStrategy[Any]] = {
    "date": st.dates().map(lambda d: d.isoformat()),
    "date-time": st.datetimes().map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.isoformat()),
    "uuid": st.uuids().map(str),
    "email": st.from_regex(r"\A[a-z]{1,8}@[a-z]{1,8}\.com\Z"),
}
UNEXPECTED_KEY = "voxfsm_unexpected"


def value_for(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that satisfy ``schema`` (best effort; exotic keywords are ignored)."""
    if not isinstance(schema, dict):
        return _JSON_SCALAR
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([value_for(s, depth) for s in schema[key]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return value_for(schema["allOf"][0], depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([value_for({**schema, "type": k}, depth) for k in kind])
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1001) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 1001) - 1)
        return st.integers(int(lo), int(hi))
    if kind == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=32).map(
            lambda x: round(x, 3) if lo is None and hi is None else x
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        if depth > 2:
            return st.just([])
        items = value_for(schema.get("items", {}), depth + 1)
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3)
        )
    if kind == "object" or "properties" in schema:
        if depth > 2:
            return st.just({})
        return object_for(schema, depth + 1)
    return _JSON_SCALAR


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    lo = schema.get("minLength", 0)
    hi = max(lo, min(schema.get("maxLength", 12), 24))
    return st.text(alphabet=string.ascii_letters + string.digits + " ", min_size=lo, max_size=hi)


def object_for(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with every required property and any subset of the optional ones."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {k: value_for(v, depth) for k, v in props.items() if k in required},
        optional={k: value_for(v, depth) for k, v in props.items() if k not in required},
    )


def valid_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments a correct LLM would send for a tool with this ``parameters`` schema."""
    return object_for(schema)


def _wrong_value(prop: Any) -> Any:
    """A value of the wrong JSON type for ``prop``, even in pydantic's lax mode."""
    kind = prop.get("type") if isinstance(prop, dict) else None
    if isinstance(prop, dict) and "enum" in prop:
        return "voxfsm-not-a-choice"
    if kind in ("integer", "number"):
        return "very"
    if kind == "boolean":
        return "maybe"
    if kind in ("array", "object"):
        return 5
    return {"nested": ["object"]}  # no scalar type accepts an object


def invalid_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any] | str]:
    """Arguments a confused LLM sends: broken JSON, wrong types, missing or unknown names.

    Each is *meant* to be rejected; the driver still asks the tool, since lax validation may
    accept some (a numeric string for an ``int``).
    """
    props: dict[str, Any] = schema.get("properties", {})
    required = sorted(schema.get("required", ()))
    base = valid_arguments(schema)
    options: list[st.SearchStrategy[Any]] = [
        st.sampled_from(["{not json", "[1, 2]", '"text"']),
        base.map(lambda args: {**args, UNEXPECTED_KEY: 1}),
    ]
    if required:
        options.append(
            st.tuples(base, st.sampled_from(required)).map(
                lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
            )
        )
    typed = sorted(k for k, p in props.items() if isinstance(p, dict) and ("type" in p or "enum" in p))
    if typed:
        options.append(
            st.tuples(base, st.sampled_from(typed)).map(
                lambda pair: {**pair[0], pair[1]: _wrong_value(props[pair[1]])}
            )
        )
    return st.one_of(options)
