"""The LLM protocol the session talks to, and the chunks a reply streams as."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union, runtime_checkable

import attrs

if TYPE_CHECKING:
    from voxfsm.agents.chat import ChatContext
    from voxfsm.agents.tools import FunctionTool

ToolChoice = Union[Literal["auto", "none", "required"], dict[str, Any]]
"""``"auto"``, ``"none"``, ``"required"`` or ``{"type": "function", "function": {"name": ...}}``."""


@attrs.frozen
class ToolCallRequest:
    """A complete tool call the model asked for (fragments already joined)."""

    call_id: str
    name: str
    arguments: str = "{}"


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


class LLMError(Exception):
    """The model could not answer; the message names the endpoint and what to check."""


@runtime_checkable
class LLM(Protocol):
    """Anything that can stream a reply for a context and a set of tools."""

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[LLMChunk]: ...
