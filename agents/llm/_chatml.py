"""The prompt ``LocalLLM`` sends: ChatML with the agent's tools in Qwen's own tool format.

The system message lists the tools as JSON function signatures and asks for calls as
``<tool_call>{"name": ..., "arguments": ...}</tool_call>``, as Qwen2.5 was trained; calls in
the history are written the same way, and tool results come back as a user turn holding
``<tool_response>``. A 1.5B model left to write calls when it feels like it mostly answers
"I'll transfer you" and never calls, so ``LocalLLM`` does not let it: the choice between
words and a call is made once, from the probability of the reply's first token
(``_decide.py``), and a grammar (``_grammar.py``) holds the rest of the reply to that choice.
Text is passed through as it is (no HTML escaping).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from voxfsm.agents._openai_format import to_openai_messages
from voxfsm.agents.chat import ChatContext

START, END = "<|im_start|>", "<|im_end|>"
CALL_OPEN = '<tool_call>\n{"name": "'
"""How every call starts: once ``LocalLLM`` has decided to call, this is written for the model,
which then only chooses the tool's name (one of the agent's) and its arguments."""
CALL_CLOSE = "</tool_call>"
NEXT_REPLY = "Write your next reply to the caller; in it: "
"""Put before instructions given for one reply (a system turn that comes last)."""


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


def actions_text(actions: Sequence[Action]) -> str:
    """The part of the system message that lists the tools, in Qwen's own tool format."""
    lines = [
        json.dumps(
            {
                "type": "function",
                "function": {
                    "name": a.name,
                    "description": a.description,
                    "parameters": dict(a.parameters),
                },
            },
            ensure_ascii=False,
        )
        for a in actions
    ]
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        "<tools>\n" + "\n".join(lines) + "\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:\n"
        f'{CALL_OPEN[:-1]}<function-name>, "arguments": <args-json-object>}}\n{CALL_CLOSE}'
        "\n\nCall a function whenever the caller's request fits its description, even when "
        "their words are informal or misheard. Reply with words only when no function fits."
    )


def call_text(name: str, arguments: str) -> str:
    """A call as the model writes it (and reads it back in the history)."""
    return f'{CALL_OPEN}{name}", "arguments": {_compact(arguments)}}}\n{CALL_CLOSE}'


def render(
    chat_ctx: ChatContext,
    actions: Sequence[Action] | None,
    *,
    prefix: str = "",
) -> str:
    """The whole prompt, ending with an open assistant turn (plus ``prefix`` already in it).

    ``actions=None`` renders a plain chat (no tools): for agents without tools.
    """
    messages = to_openai_messages(chat_ctx.items)
    out: list[str] = []
    system_done = False
    for i, msg in enumerate(messages):
        role, content = msg["role"], msg.get("content") or ""
        if role in ("system", "developer"):
            if i and i == len(messages) - 1:
                # instructions for this reply only (e.g. how to greet): asked for as a reply,
                # or a small model reads them out word for word
                content = f"{NEXT_REPLY}{content}"
            if i == 0 and actions is not None:
                content = (
                    f"{content}\n\n{actions_text(actions)}" if content else actions_text(actions)
                )
                system_done = True
            out.append(_turn("system", content))
        elif role == "user":
            out.append(_turn("user", content))
        elif role == "assistant":
            calls = [
                call_text(tc["function"]["name"], tc["function"]["arguments"])
                for tc in msg.get("tool_calls") or ()
            ]
            body = "\n".join([content, *calls] if content else calls)
            if body:
                out.append(_turn("assistant", body))
        elif role == "tool":
            out.append(_turn("user", f"<tool_response>\n{content}\n</tool_response>"))
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
