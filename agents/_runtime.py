"""What the engine changes on an agent while a session runs it, kept apart from what the
user defined (instructions, tools, plugins, context): one object, written only by the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from voxfsm.agents.session import AgentSession
    from voxfsm.agents.tools import FunctionTool

Status = Literal["inactive", "active", "paused"]


@attrs.define(slots=True)
class AgentRuntime:
    """An agent's runtime state: its status, the session running it, that session's tools."""

    status: Status = "inactive"
    """``paused``: waiting for an AgentTask it started."""
    session: AgentSession[Any] | None = None
    session_tools: list[FunctionTool] = attrs.Factory(list)
    # tools the agent's llm_node added to its ``tools`` argument for the latest generation
    # (LiveKit's "temporal" tools): callable in that generation's tool step
    node_tools: list[FunctionTool] = attrs.Factory(list)
