"""Unmodified LiveKit code declares no handoff targets; voxfsm reads them from the source.

The agents below follow the public restaurant example's shape: every transfer goes through a
helper that looks the next agent up by name at run time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from pydantic import Field

from voxfsm.agents import Agent, AgentSession, RunContext
from voxfsm.agents.llm import ScriptedLLM, call, function_tool, reply
from voxfsm.fsm import build_graph, check_graph


@dataclass
class Order:
    agents: dict[str, Agent] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)


class Base(Agent):
    async def _transfer_to_agent(self, name: str, context: RunContext[Order]) -> tuple[Agent, str]:
        return context.userdata.agents[name], f"Transferring to {name}."


@function_tool()
async def to_greeter(context: RunContext[Order]) -> Agent:
    """The user asks for something this agent does not handle."""
    current: Base = context.session.current_agent
    return await current._transfer_to_agent("greeter", context)


class Greeter(Base):
    def __init__(self) -> None:
        super().__init__(instructions="Greet and route.")

    @function_tool()
    async def to_takeaway(self, context: RunContext[Order]) -> tuple[Agent, str]:
        """The user wants to order food to take away."""
        return await self._transfer_to_agent("takeaway", context)


class Takeaway(Base):
    def __init__(self) -> None:
        super().__init__(instructions="Take the order.", tools=[to_greeter])

    @function_tool()
    async def update_order(
        self,
        items: Annotated[list[str], Field(description="The items the user ordered")],
        context: RunContext[Order],
    ) -> str:
        """Record the order."""
        context.userdata.items = items
        return f"The order is {items}"

    @function_tool()
    async def to_checkout(self, context: RunContext[Order]) -> str | tuple[Agent, str]:
        """The user is done ordering."""
        if not context.userdata.items:
            return "No order yet."
        return await self._transfer_to_agent("checkout", context)


class Checkout(Base):
    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="Take payment.", tools=[to_greeter])


def test_the_graph_has_the_edges_the_helpers_lead_to() -> None:
    graph = build_graph(Greeter)
    edges = {(e.source, e.tool, e.target, e.origin) for e in graph.edges}
    assert {
        ("greeter", "to_takeaway", "takeaway", "inferred"),
        ("takeaway", "to_checkout", "checkout", "inferred"),
        ("takeaway", "to_greeter", "greeter", "inferred"),
    } <= edges
    assert [str(f) for f in check_graph(graph)] == []


def test_a_field_description_in_annotated_reaches_the_schema() -> None:
    params = Takeaway.update_order.schema()["parameters"]
    assert params["properties"]["items"]["description"] == "The items the user ordered"


async def test_running_it_logs_no_undeclared_handoff(caplog: pytest.LogCaptureFixture) -> None:
    order = Order()
    order.agents.update(greeter=Greeter(), takeaway=Takeaway(), checkout=Checkout())
    llm = ScriptedLLM(
        {
            "takeaway please": call("to_takeaway"),
            "a pizza": call("update_order", items=["pizza"]),
            "that's all": call("to_checkout"),
        },
        default=reply("Sure."),
    )
    async with AgentSession[Order](llm=llm, userdata=order) as session:
        await session.start(order.agents["greeter"])
        with caplog.at_level(logging.WARNING):
            for text in ("takeaway please", "a pizza", "that's all"):
                await session.run(user_input=text)
        assert session.current_agent is order.agents["checkout"]
    assert not [r for r in caplog.records if "does not declare" in r.getMessage()]


def test_an_explicit_declaration_is_kept_next_to_what_is_inferred() -> None:
    class Loud(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="x")

        @function_tool(handoff=Checkout)
        async def pay(self) -> Any:
            """Pay."""
            return Checkout()

    graph = build_graph(Loud)
    assert {(e.target, e.origin) for e in graph.edges if e.tool == "pay"} == {
        ("checkout", "declared")
    }
