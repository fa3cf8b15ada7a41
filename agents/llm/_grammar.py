"""The GBNF grammars that hold a ``LocalLLM`` reply to what was decided, and the call parser.

Once words are chosen, the reply is text on one line without ``{``, ``_`` or ``<`` (it can
never turn into a call, nor start a ChatML control sequence). Once a call is chosen and its
tool named (``LocalLLM`` scores the names itself), the model writes only the arguments, held
to that tool's JSON schema (via llama.cpp's own JSON-schema converter).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from voxfsm.agents.llm._chatml import Action

_TEXT_RULE = "text ::= [^\\n<{_ ] [^\\n<{_]*"
TEXT_ONLY = f"root ::= text\n{_TEXT_RULE}\n"


def _literal(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal escapes like a JSON string


def arguments_grammar(action: Action) -> str:
    """GBNF for one tool's JSON arguments (its schema, via llama.cpp's converter)."""
    from voxfsm.agents.llm._runner import import_llama_cpp

    SchemaConverter = import_llama_cpp().llama_grammar.SchemaConverter
    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    schema = converter.resolve_refs(dict(action.parameters), "tool")
    converter.visit(schema, "")
    return converter.format_grammar()


def takes_arguments(action: Action) -> bool:
    return bool(action.parameters.get("properties"))


class MalformedReply(ValueError):
    """The model's call does not follow the format (only possible without a grammar)."""


def parse_arguments(action: Action, raw: str) -> str:
    """The model's arguments for ``action``, re-serialized; :class:`MalformedReply` if not."""
    try:
        args: Any = json.loads(raw.strip() or "{}")
    except ValueError as exc:
        raise MalformedReply(f"the arguments of {action.name} are not JSON: {raw!r}") from exc
    if not isinstance(args, dict):
        raise MalformedReply(f"the arguments of {action.name} are not an object: {raw!r}")
    return json.dumps(args, ensure_ascii=False)


def parse_call(output: str, actions: Sequence[Action]) -> tuple[str, str]:
    """``(name, JSON arguments)`` from what follows ``CALL_OPEN``.

    That is ``NAME", "arguments": {...}}``; the arguments come back re-serialized.
    """
    name, sep, rest = output.partition('", "arguments": ')
    action = next((a for a in actions if a.name == name), None)
    if not sep or action is None:
        raise MalformedReply(f"the call names no known tool: {output[:80]!r}")
    raw = rest.strip()
    return name, parse_arguments(action, raw[:-1] if raw.endswith("}") else raw)
