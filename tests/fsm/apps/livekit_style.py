"""A workflow written the way LiveKit Agents code usually is: tools are free functions passed
to the constructor as ``tools=[...]``, constructors take arguments, and one agent keeps a
shared tool list in a module constant."""

from __future__ import annotations

from typing import Annotated

import attrs

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool
from voxfsm.agents.llm import ScriptedLLM


@attrs.define
class CallData:
    name: str = ""
    topic: str = ""


@function_tool
async def record_name(ctx: RunContext[CallData], name: Annotated[str, "the caller's name"]) -> str:
    """Remember the caller's name."""
    ctx.userdata.name = name
    return "noted"


@function_tool
async def to_sales(ctx: RunContext[CallData]) -> tuple[Sales, str]:
    """Send the caller to the sales team."""
    return Sales(topic="pricing"), "Connecting you to sales."


@function_tool
async def to_support(ctx: RunContext[CallData]) -> Support:
    """Send the caller to technical support."""
    return Support()


@function_tool
async def back_to_reception(ctx: RunContext[CallData]) -> Reception:
    """Send the caller back to reception."""
    return Reception()


@function_tool
async def goodbye(ctx: RunContext[CallData]) -> Farewell:
    """End the call politely."""
    return Farewell()


COMMON_TOOLS = [back_to_reception, goodbye]


class Reception(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions="You greet callers and route them.",
            tools=[record_name, to_sales, to_support],
        )


class Sales(Agent):
    def __init__(self, topic: str) -> None:  # needs an argument: never built to be drawn
        super().__init__(
            instructions=f"You sell; the caller asked about {topic}.", tools=COMMON_TOOLS
        )


class Support(Agent):
    def __init__(self, extra: list | None = None) -> None:
        super().__init__(
            instructions="You fix technical problems.",
            tools=[*COMMON_TOOLS, record_name] + (extra or []),
        )


class Farewell(Agent):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="You say goodbye.")


entry = Reception


def make_session() -> AgentSession[CallData]:
    return AgentSession(llm=ScriptedLLM({}), userdata=CallData())
