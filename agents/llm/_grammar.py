"""The GBNF grammar that holds ``LocalLLM`` to one action per reply, and the parser of it.

A reply is either text on one line — without ``{``, ``_`` or ``<``, so it can never be
mistaken for a call nor start a ChatML control sequence — or a tool name followed by JSON
arguments that fit that tool's JSON schema (via llama.cpp's own JSON-schema converter).
``tool_choice`` narrows the alternatives: ``"auto"`` all of them, ``"required"`` only tools,
a named tool only that one, ``"none"`` only text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from voxfsm.agents.llm._chatml import Action

TEXT = "text"
"""What :func:`action_of` returns once a reply is known to be words, not a call."""
_TEXT_RULE = "text ::= [^\\n<{_ ] [^\\n<{_]*"
TEXT_ONLY = f"root ::= text\n{_TEXT_RULE}\n"


def _literal(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal escapes like a JSON string


def build_grammar(actions: Sequence[Action], *, say: bool, only: str | None = None) -> str:
    """GBNF text for a reply: ``say`` allowed or not, every action or ``only`` that one."""
    from voxfsm.agents.llm._runner import import_llama_cpp

    SchemaConverter = import_llama_cpp().llama_grammar.SchemaConverter

    chosen = [a for a in actions if only is None or a.name == only]
    if only is not None and not chosen:
        raise ValueError(f"tool_choice names {only!r}, which is not among the tools")
    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    alternatives: list[str] = []
    if say:
        alternatives.append("text")
    for i, action in enumerate(chosen):
        schema = converter.resolve_refs(dict(action.parameters), f"tool-{i}")
        rule = converter.visit(schema, f"args-{i}")
        alternatives.append(f"{_literal(action.name + ' ')} {rule}")
    if not alternatives:
        raise ValueError("a grammar needs at least one alternative: say, or a tool")
    body = converter.format_grammar()
    return f"root ::= {' | '.join(alternatives)}\n{_TEXT_RULE}\n{body}"


@attrs.frozen
class Parsed:
    """A finished reply: the words to say, or one call (name and JSON arguments)."""

    text: str = ""
    call: tuple[str, str] | None = None


class MalformedReply(ValueError):
    """The model's output does not follow the action format (only without a grammar)."""


def parse_reply(output: str, actions: Sequence[Action]) -> Parsed:
    """Split a reply in the action format into text or a call; arguments re-serialized."""
    stripped = output.strip()
    # longest name first: `to_takeaway_order` must not be read as `to_takeaway`
    for action in sorted(actions, key=lambda a: len(a.name), reverse=True):
        if stripped == action.name or stripped.startswith(action.name + " "):
            raw = stripped[len(action.name) :].strip() or "{}"
            try:
                args: Any = json.loads(raw)
            except ValueError as exc:
                raise MalformedReply(
                    f"the arguments of {action.name} are not JSON: {raw!r}"
                ) from exc
            if not isinstance(args, dict):
                raise MalformedReply(f"the arguments of {action.name} are not an object: {raw!r}")
            return Parsed(call=(action.name, json.dumps(args, ensure_ascii=False)))
    if "{" in stripped:
        raise MalformedReply(f"the reply names no known tool: {stripped[:80]!r}")
    return Parsed(text=stripped)


def action_of(prefix: str, actions: Sequence[Action]) -> str | None:
    """What a partial reply has committed to: a tool's name, :data:`TEXT`, or ``None`` yet."""
    undecided = False
    for action in actions:
        head = action.name + " "
        if prefix.startswith(head):
            return action.name
        if head.startswith(prefix):
            undecided = True
    return None if undecided else TEXT
