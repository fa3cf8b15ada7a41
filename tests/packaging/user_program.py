"""A small program written against voxfsm's public API, as a user would write it.

``tests/packaging/test_packaging.py`` checks it with ``mypy --strict``: the public API must be
typed well enough that such a program needs no casts, no ``# type: ignore`` and no
annotations beyond what the user means.
"""

from __future__ import annotations

import asyncio

import attrs

from voxfsm.agents import (
    Agent,
    AgentSession,
    ConversationItemAddedEvent,
    RunContext,
    UserInputTranscribedEvent,
    function_tool,
)
from voxfsm.agents.llm import ScriptedLLM, call, reply


@attrs.define
class Order:
    items: list[str] = attrs.Factory(list)


class Checkout(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Take the payment.")


class Counter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Take the order.")

    @function_tool
    async def add_item(self, ctx: RunContext[Order], item: str) -> str:
        """Add an item to the order.

        Args:
            item: what the caller wants.
        """
        ctx.userdata.items.append(item)
        return f"{item} added"

    @function_tool
    async def to_checkout(self, ctx: RunContext[Order]) -> tuple[Checkout, str]:
        """Go to the checkout."""
        return Checkout(), "To the checkout."


async def main() -> list[str]:
    llm = ScriptedLLM(
        {
            "a pizza": call("add_item", item="pizza"),
            "pizza added": reply("Anything else?"),
            "that's all": call("to_checkout"),
            "To the checkout.": reply("Paying now."),
        }
    )
    heard: list[str] = []
    async with AgentSession(llm=llm, userdata=Order()) as session:

        @session.on("conversation_item_added")
        def on_item(ev: ConversationItemAddedEvent) -> None:
            heard.append(type(ev.item).__name__)

        @session.on("user_input_transcribed")
        def on_transcript(ev: UserInputTranscribedEvent) -> None:
            heard.append(ev.transcript)

        await session.start(Counter())
        result = await session.run(user_input="a pizza")
        result.expect.next_event().is_function_call(name="add_item")
        await session.run(user_input="that's all")
        order: Order = session.userdata
        heard.extend(order.items)

    # a session without userdata needs no annotation
    async with AgentSession(llm=ScriptedLLM({})) as plain:
        await plain.start(Checkout())
        heard.append(plain.current_agent.id)
    return heard


if __name__ == "__main__":
    print(asyncio.run(main()))
