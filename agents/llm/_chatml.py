"""The prompt ``LocalLLM`` sends: a ChatML conversation with the agent's tools as one-line calls.

A 1.5B model asked to use tools the usual way (free text, with a call written out when it
feels like it) mostly answers "I'll transfer you" and never calls. So a reply is either the
words to say or one line ``tool_name {json arguments}``, and a grammar (``_grammar.py``)
holds the model to exactly that. The choice is then made at the first token, where each
tool's name is one strong candidate while the probability of answering is spread over many
possible first words — which tips a small model towards using a tool when one fits. A label
such as ``say:`` in front of answers was tried and routed worse: it gathers all of that
mass on one token. The format, in the system message and in the history:

    Sure, what would you like to order?
    add_to_order {"item": "pizza", "quantity": 2}

Tool results come back as Qwen was trained to read them: a user turn holding
``<tool_response>``. Text is passed through as it is (no HTML escaping).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from voxfsm.agents._openai_format import to_openai_messages
from voxfsm.agents.chat import ChatContext

START, END = "<|im_start|>", "<|im_end|>"


@attrs.frozen
class Action:
    """A tool as the prompt shows it: name, description and its argument schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    @classmethod
    def from_schema(cls, fn: Mapping[str, Any]) -> Action:
        params = dict(fn.get("parameters") or {})
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        return cls(fn["name"], (fn.get("description") or "").strip(), params)

    def signature(self) -> str:
        """``name {"arg": type}``: how a call to it is written, compactly."""
        props: Mapping[str, Any] = self.parameters.get("properties") or {}
        if not props:
            return f"{self.name} {{}}"
        required = set(self.parameters.get("required") or ())
        parts = []
        for key, schema in props.items():
            kind = _type_text(schema, self.parameters.get("$defs") or {})
            if key not in required:
                kind += ", optional"
            parts.append(f'"{key}": {kind}')
        return f"{self.name} {{{', '.join(parts)}}}"

    def line(self) -> str:
        text = f"- {self.signature()}"
        if self.description:
            text += f" — {_one_line(self.description)}"
        notes = [
            f"{k}: {_one_line(v['description'])}"
            for k, v in (self.parameters.get("properties") or {}).items()
            if isinstance(v, Mapping) and v.get("description")
        ]
        if notes:
            text += f" ({'; '.join(notes)})"
        return text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _type_text(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs:
        schema = defs[ref.rsplit("/", 1)[-1]]
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "anyOf" in schema:
        return " | ".join(_type_text(s, defs) for s in schema["anyOf"])
    kind = schema.get("type", "value")
    if kind == "array":
        return f"list of {_type_text(schema.get('items') or {}, defs)}"
    return str(kind)


def actions_text(actions: Sequence[Action]) -> str:
    """The part of the system message that teaches the call format."""
    example = actions[0].signature() if actions else "tool_name {}"
    lines = [
        "Your tools:",
        *(a.line() for a in actions),
        f"To use a tool, reply with only its name and JSON arguments on one line, like: {example}",
        "Use a tool whenever the caller's request fits its description, even when their "
        "words are informal or misheard. Otherwise reply with the words to say to the "
        "caller.",
    ]
    return "\n".join(lines)


def render(
    chat_ctx: ChatContext,
    actions: Sequence[Action] | None,
    *,
    prefix: str = "",
) -> str:
    """The whole prompt, ending with an open assistant turn (plus ``prefix`` already in it).

    ``actions=None`` renders a plain chat (no action format): for agents without tools.
    """
    messages = to_openai_messages(chat_ctx.items)
    out: list[str] = []
    names: dict[str, str] = {}
    system_done = False
    for i, msg in enumerate(messages):
        role, content = msg["role"], msg.get("content") or ""
        if role in ("system", "developer"):
            if i == 0 and actions is not None:
                content = (
                    f"{content}\n\n{actions_text(actions)}" if content else actions_text(actions)
                )
                system_done = True
            out.append(_turn("system", content))
        elif role == "user":
            out.append(_turn("user", content))
        elif role == "assistant":
            if content:
                out.append(_turn("assistant", content))
            for tc in msg.get("tool_calls") or ():
                fn = tc["function"]
                names[tc["id"]] = fn["name"]
                out.append(_turn("assistant", f"{fn['name']} {_compact(fn['arguments'])}"))
        elif role == "tool":
            name = names.get(msg.get("tool_call_id", ""), "tool")
            out.append(_turn("user", f"<tool_response>\n{name}: {content}\n</tool_response>"))
    if actions is not None and not system_done:
        out.insert(0, _turn("system", actions_text(actions)))
    return "".join(out) + f"{START}assistant\n{prefix}"


def _turn(role: str, content: str) -> str:
    return f"{START}{role}\n{content}{END}\n"


def _compact(arguments: str) -> str:
    """Arguments as the model writes them (one line), whatever spacing they were stored with."""
    try:
        return json.dumps(json.loads(arguments or "{}"), ensure_ascii=False)
    except ValueError:
        return arguments or "{}"
