"""The chunks an LLM reply streams as, and the error a failed reply raises.

The ``LLM`` base class itself lives in :mod:`voxfsm.agents.llm.stream`, beside ``LLMStream``.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import attrs

from voxfsm.agents._exceptions import APIError

ToolChoice = Union[Literal["auto", "none", "required"], dict[str, Any]]
"""``"auto"``, ``"none"``, ``"required"`` or ``{"type": "function", "function": {"name": ...}}``."""


@attrs.frozen
class ToolCallRequest:
    """A complete tool call the model asked for (fragments already joined)."""

    call_id: str
    name: str
    arguments: str = "{}"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        # LiveKit's fakes keep calls in pydantic models (`tool_calls: list[FunctionToolCall]`)
        from pydantic_core import core_schema

        def build(value: Any) -> ToolCallRequest:
            if isinstance(value, cls):
                return value
            if isinstance(value, dict):
                return cls(**{k: value[k] for k in ("call_id", "name", "arguments") if k in value})
            raise ValueError(f"expected a FunctionToolCall or a dict, got {value!r}")

        return core_schema.no_info_plain_validator_function(
            build, serialization=core_schema.plain_serializer_function_ser_schema(attrs.asdict)
        )


@attrs.frozen
class ChoiceDelta:
    """LiveKit's view of a chunk's content: ``content`` text and ``tool_calls``."""

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCallRequest] = attrs.field(factory=list)


@attrs.frozen
class LLMChunk:
    """A piece of a streamed reply: some text, and/or finished tool calls.

    ``delta`` shows the same piece the way LiveKit's ``ChatChunk`` does, so code that reads
    ``chunk.delta.content`` from ``llm.chat(...)`` works unchanged.
    """

    text: str = ""
    calls: tuple[ToolCallRequest, ...] = ()

    @property
    def delta(self) -> ChoiceDelta:
        return ChoiceDelta(content=self.text or None, tool_calls=list(self.calls))

    @property
    def usage(self) -> None:
        return None


class LLMError(APIError):
    """The model could not answer; the message names the endpoint and what to check."""
