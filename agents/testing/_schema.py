"""Hypothesis strategies for tool arguments, read from a tool's JSON schema.

Tool schemas come from pydantic and are small and flat (``$defs`` already inlined), so a
short converter covers them; anything unusual falls back to plain JSON values, and the driver
asks the tool itself (``tool.validate``) whether the engine should accept what was drawn.

Building a strategy and having hypothesis validate it costs far more than drawing from it,
so the generated machine builds one per tool schema, once (:func:`arguments_now`): the words
its free-text strings offer are read when drawing, from :func:`use_words`, not baked in.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from contextvars import ContextVar
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


def value_for(schema: Any, depth: int = 0, words: Sequence[str] = ()) -> st.SearchStrategy[Any]:
    """Values that satisfy ``schema`` (best effort; exotic keywords are ignored).

    ``words`` (tokens from the agent's context) are offered for free-text strings too: a
    tool that takes a menu item id or a slot id only does something interesting with one
    the conversation has mentioned.
    """
    if not isinstance(schema, dict):
        return _JSON_SCALAR
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([value_for(s, depth, words) for s in schema[key]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return value_for(schema["allOf"][0], depth, words)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([value_for({**schema, "type": k}, depth, words) for k in kind])
    if kind == "string":
        return _string(schema, words)
    if kind == "integer":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1001) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 1001) - 1)
        small = st.integers(max(int(lo), 0), min(int(hi), 10))  # what a model usually sends
        wide = st.integers(int(lo), int(hi))
        return st.one_of(small, wide) if int(lo) <= min(int(hi), 10) else wide
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
        items = value_for(schema.get("items", {}), depth + 1, words)
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3)
        )
    if kind == "object" or "properties" in schema:
        if depth > 2:
            return st.just({})
        return object_for(schema, depth + 1, words)
    return _JSON_SCALAR


class _Current:
    """Stands for "the words of the conversation being generated", read at draw time."""

    def __repr__(self) -> str:
        return "CURRENT_WORDS"


CURRENT_WORDS: Any = _Current()
_WORDS: ContextVar[Callable[[], Sequence[str]]] = ContextVar(
    "voxfsm_testing_words", default=lambda: ()
)


def use_words(words: Callable[[], Sequence[str]]) -> None:
    """Where strategies built with :data:`CURRENT_WORDS` get the words they offer from now on
    (in this context); called only when a string is drawn (finding words is not free)."""
    _WORDS.set(words)


def _string(schema: dict[str, Any], words: Sequence[str] = ()) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    lo = schema.get("minLength", 0)
    hi = max(lo, min(schema.get("maxLength", 12), 24))
    text = st.text(alphabet=string.ascii_letters + string.digits + " ", min_size=lo, max_size=hi)
    longest = schema.get("maxLength")
    if words is CURRENT_WORDS:
        return _mentioned_or(_Fitting(lo, longest), text)
    fitting = [w for w in words if lo <= len(w) <= (len(w) if longest is None else longest)]
    # mentioned words first: an id the conversation used is what a real model would send
    return st.one_of(st.sampled_from(fitting), text) if fitting else text


class _Fitting:
    """The current words whose length fits a string schema (recomputed when the words change)."""

    def __init__(self, lo: int, hi: int | None) -> None:
        self.lo, self.hi = lo, hi
        self._seen: tuple[Sequence[str] | None, list[str]] = (None, [])

    def __call__(self) -> list[str]:
        words = _WORDS.get()()
        seen = self._seen
        if seen[0] is not words:
            lo, hi = self.lo, self.hi
            fit = [w for w in words if lo <= len(w) <= (len(w) if hi is None else hi)]
            seen = self._seen = (words, fit)
        return seen[1]


_BRANCH = st.integers(0, 1)
_INDEX: dict[int, st.SearchStrategy[int]] = {}


def index_of(n: int) -> st.SearchStrategy[int]:
    """An index below ``n``, built once per ``n``; hypothesis shrinks it towards 0 (the first
    choice), like ``sampled_from`` but one plain integer draw."""
    found = _INDEX.get(n)
    if found is None:
        found = _INDEX[n] = st.integers(0, n - 1)
    return found


@st.composite
def _mentioned_or(draw: st.DrawFn, fitting: _Fitting, text: st.SearchStrategy[str]) -> str:
    """Like ``one_of(sampled_from(words), text)`` over the words current at draw time."""
    words = fitting()
    if words and draw(_BRANCH) == 0:
        return words[draw(index_of(len(words)))]
    return draw(text)


def object_for(
    schema: dict[str, Any], depth: int = 0, words: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with every required property and any subset of the optional ones."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {k: value_for(v, depth, words) for k, v in props.items() if k in required},
        optional={k: value_for(v, depth, words) for k, v in props.items() if k not in required},
    )


def valid_arguments(
    schema: dict[str, Any], words: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments a correct LLM would send for a tool with this ``parameters`` schema."""
    return object_for(schema, 0, words)


_BUILT: dict[int, tuple[Any, dict[str, st.SearchStrategy[Any]]]] = {}


def arguments_now(schema: dict[str, Any], kind: str = "valid") -> st.SearchStrategy[Any]:
    """Arguments for ``schema``: ``valid`` or ``invalid`` ones offering the current words
    (:func:`use_words`), or ``plain`` valid ones offering none.

    Built once per schema object (tools share theirs across agent instances) and kept, the
    schema with it so its id is never reused.
    """
    built = _BUILT.get(id(schema))
    if built is None or built[0] is not schema:
        built = _BUILT[id(schema)] = (schema, {})
    found = built[1].get(kind)
    if found is None:
        if kind == "valid":
            found = valid_arguments(schema, CURRENT_WORDS)
        elif kind == "invalid":
            found = invalid_arguments(schema, CURRENT_WORDS)
        elif kind == "plain":
            found = valid_arguments(schema)
        else:
            raise ValueError(f"kind must be valid, invalid or plain, got {kind!r}")
        built[1][kind] = found
    return found


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{1,39}")


def context_words(texts: Sequence[str], limit: int = 200) -> list[str]:
    """Distinct tokens of ``texts``: id-like ones first (``fries_l``, ``mon-0900``), newest first.

    Hypothesis prefers early choices, so the order is what makes a generated argument name
    something the conversation offered rather than a word of the instructions.
    """
    index = WordIndex(limit)
    index.add(texts)
    return index.words()


class WordIndex:
    """:func:`context_words` kept up to date as texts are appended (a context only grows)."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._seen: dict[str, None] = {}  # in the order last seen
        self._words: list[str] | None = []

    def add(self, texts: Sequence[str]) -> None:
        seen = self._seen
        for text in texts:
            for found in _TOKEN.findall(text):
                token = found.rstrip(".:-")  # sentence punctuation, not part of an id
                seen.pop(token, None)
                seen[token] = None
                self._words = None

    def words(self) -> list[str]:
        if self._words is None:
            recent = list(self._seen)[::-1][: self.limit]
            self._words = sorted(recent, key=lambda w: not _ID_LIKE.search(w))  # stable
        return self._words


_ID_LIKE = re.compile(r"_|[a-z]-[a-z0-9]|[A-Za-z]\d|\d[A-Za-z]")


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


def invalid_arguments(
    schema: dict[str, Any], words: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, Any] | str]:
    """Arguments a confused LLM sends: broken JSON, wrong types, missing or unknown names.

    Each is *meant* to be rejected; the driver still asks the tool, since lax validation may
    accept some (a numeric string for an ``int``).
    """
    props: dict[str, Any] = schema.get("properties", {})
    required = sorted(schema.get("required", ()))
    base = valid_arguments(schema, words)
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
    typed = sorted(
        k for k, p in props.items() if isinstance(p, dict) and ("type" in p or "enum" in p)
    )
    if typed:
        options.append(
            st.tuples(base, st.sampled_from(typed)).map(
                lambda pair: {**pair[0], pair[1]: _wrong_value(props[pair[1]])}
            )
        )
    return st.one_of(options)
