"""The Chat Completions wire format: our items, tools and tool choice out; streamed calls in.

Pure data conversion, no client and no I/O, so it is shared by ``OpenAILLM``, the loopback
test server and anything else that speaks the format.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from voxfsm.agents.chat import ChatItem, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from voxfsm.agents.llm.base import ToolCallRequest, ToolChoice
    from voxfsm.agents.tools import FunctionTool


def to_openai_messages(items: Sequence[ChatItem]) -> list[dict[str, Any]]:
    """Convert items; a call with no output, or an output with no call, is dropped.

    Servers reject a tool message whose call is missing, an assistant tool call that is never
    answered, and a tool message that does not follow its call's assistant message; truncation,
    handoffs and speech spoken while tools run can produce all three.  So each run of
    consecutive calls becomes one assistant message followed at once by its outputs (in call
    order), whatever came between them in the context.
    """
    outputs: dict[str, FunctionCallOutput] = {}
    called: set[str] = set()
    for it in items:
        if isinstance(it, FunctionCall):
            called.add(it.call_id)
        elif isinstance(it, FunctionCallOutput) and it.call_id in called:
            outputs.setdefault(it.call_id, it)  # an output counts only after its call
    out: list[dict[str, Any]] = []
    group: list[FunctionCall] = []
    emitted: set[str] = set()

    def flush() -> None:
        if not group:
            return
        # "" rather than null: llama-cpp-python's server rejects a null content
        content = _take_text(out) or ""
        out.append(
            {
                "role": "assistant",
                "content": content,
                "tool_calls": [
                    {
                        "id": fc.call_id,
                        "type": "function",
                        "function": {"name": fc.name, "arguments": fc.arguments or "{}"},
                    }
                    for fc in group
                ],
            }
        )
        out.extend(
            {"role": "tool", "tool_call_id": fc.call_id, "content": outputs[fc.call_id].output}
            for fc in group
        )
        group.clear()

    for it in items:
        if isinstance(it, FunctionCall):
            if it.call_id in outputs and it.call_id not in emitted:
                emitted.add(it.call_id)
                group.append(it)
            continue
        flush()
        if isinstance(it, ChatMessage):
            out.append({"role": it.role, "content": it.text_content})
    flush()
    return out


def _take_text(out: list[dict[str, Any]]) -> str | None:
    """The text of an assistant message emitted with the calls that follow it, folded in."""
    if out and out[-1]["role"] == "assistant" and not out[-1].get("tool_calls"):
        return str(out.pop()["content"])
    return None


# ---------------------------------------------------------------------------- request side


def to_openai_tools(tools: Sequence[FunctionTool]) -> list[dict[str, Any]]:
    """``tools=[...]`` for a request: each tool's schema as a ``function`` definition.

    The parameters are normalised to the plain form every server we know accepts: an object
    schema that always has ``properties`` (llama.cpp's grammar builder and some Ollama
    templates fail on a bare ``{"type": "object"}``). ``strict`` is not set: it would require
    every optional parameter to become required-and-nullable, which changes what the model
    sees, and local servers ignore it anyway.
    """
    out = []
    for tool in tools:
        fn = tool.schema()
        params = copy.deepcopy(fn.get("parameters") or {})
        params.setdefault("type", "object")
        if params["type"] == "object":
            params.setdefault("properties", {})
        fn["parameters"] = params
        out.append({"type": "function", "function": fn})
    return out


def to_openai_tool_choice(choice: ToolChoice, tools: Sequence[FunctionTool]) -> Any:
    """``tool_choice`` for a request, or ``None`` to leave the field out.

    ``"required"`` with exactly one tool is sent as that tool by name: it means the same,
    and some servers (llama-cpp-python's function-calling chat handler) only implement the
    named form.
    """
    if not tools:
        return None  # servers reject a tool_choice without tools
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name") or choice.get("name")
        if not name:
            raise ValueError(
                f"tool_choice {choice!r} names no tool; use "
                '{"type": "function", "function": {"name": "<tool>"}}'
            )
        if name not in {t.name for t in tools}:
            raise ValueError(
                f"tool_choice names `{name}`, which is not among the tools of this request: "
                + ", ".join(f"`{t.name}`" for t in tools)
            )
        return {"type": "function", "function": {"name": name}}
    if choice == "required" and len(tools) == 1:
        return {"type": "function", "function": {"name": tools[0].name}}
    if choice not in ("auto", "none", "required"):
        raise ValueError(
            f"tool_choice must be 'auto', 'none', 'required' or a named tool, got {choice!r}"
        )
    return choice


# ---------------------------------------------------------------------------- response side


@attrs.define
class _PartialCall:
    call_id: str | None = None
    name: str = ""
    arguments: list[str] = attrs.field(factory=list)


class ToolCallAssembler:
    """Joins streamed tool-call deltas into complete calls.

    Servers send a call as fragments keyed by ``index``: the first carries the id and the
    name, later ones pieces of the argument JSON. Parallel calls use distinct indexes. Some
    servers send no index at all; then a delta with a new id starts a new call and one
    without an id continues the last call.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}
        self._last: int | None = None

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(
        self,
        index: int | None,
        call_id: str | None,
        name: str | None,
        arguments: str | None,
    ) -> None:
        if index is None:
            known = {c.call_id for c in self._calls.values()}
            if self._last is None or (call_id and call_id not in known):
                index = max(self._calls, default=-1) + 1
            else:
                index = self._last
        part = self._calls.setdefault(index, _PartialCall())
        self._last = index
        if call_id and not part.call_id:
            part.call_id = call_id
        if name and not part.name:
            # names come whole, in the first delta; some servers repeat them in later ones
            part.name = name
        if arguments:
            part.arguments.append(arguments)

    def finish(self) -> list[ToolCallRequest]:
        """The calls in index order; an empty argument string means no arguments (``{}``)."""
        from voxfsm.agents.llm.base import ToolCallRequest

        out = []
        for index in sorted(self._calls):
            part = self._calls[index]
            out.append(
                ToolCallRequest(
                    call_id=part.call_id or f"call_{uuid.uuid4().hex[:24]}",
                    name=part.name,
                    arguments="".join(part.arguments).strip() or "{}",
                )
            )
        return out
