"""Chat items → OpenAI Chat Completions messages, with calls and outputs kept paired."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voxfsm.agents.chat import ChatItem, ChatMessage, FunctionCall, FunctionCallOutput


def to_openai_messages(items: Sequence[ChatItem]) -> list[dict[str, Any]]:
    """Convert items; a call with no output, or an output with no call, is dropped.

    Servers reject a tool message whose call is missing and an assistant tool call that is
    never answered, and truncation or a handoff can leave either behind.
    """
    answered = {it.call_id for it in items if isinstance(it, FunctionCallOutput)}
    called = {it.call_id for it in items if isinstance(it, FunctionCall)}
    out: list[dict[str, Any]] = []
    calls_msg: dict[str, Any] | None = None  # assistant message collecting consecutive calls
    outstanding: set[str] = set()
    deferred: list[dict[str, Any]] = []  # messages spoken while tools ran go after the outputs
    for it in items:
        if isinstance(it, FunctionCall):
            if it.call_id not in answered:
                continue
            if calls_msg is None:
                calls_msg = {"role": "assistant", "content": _take_text(out), "tool_calls": []}
                out.append(calls_msg)
            calls_msg["tool_calls"].append(
                {
                    "id": it.call_id,
                    "type": "function",
                    "function": {"name": it.name, "arguments": it.arguments or "{}"},
                }
            )
            outstanding.add(it.call_id)
        elif isinstance(it, FunctionCallOutput):
            if it.call_id in called:
                out.append({"role": "tool", "tool_call_id": it.call_id, "content": it.output})
                outstanding.discard(it.call_id)
                calls_msg = None
                if not outstanding:
                    out.extend(deferred)
                    deferred.clear()
        elif isinstance(it, ChatMessage):
            msg = {"role": it.role, "content": it.text_content}
            if outstanding:
                deferred.append(msg)
            else:
                calls_msg = None
                out.append(msg)
    out.extend(deferred)
    return out


def _take_text(out: list[dict[str, Any]]) -> str | None:
    """The text of an assistant message emitted with the calls that follow it, folded in."""
    if out and out[-1]["role"] == "assistant" and not out[-1].get("tool_calls"):
        return str(out.pop()["content"])
    return None
