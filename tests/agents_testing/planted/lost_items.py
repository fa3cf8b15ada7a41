"""Planted bug: an invariant of the app is broken — an order is paid with nothing in it.

``pay`` forgets to check the basket; the app's own invariant (checked after every step)
catches the lost item: what was added must still be there once paid.
"""

from voxfsm.agents import Agent, AgentSession, RunContext, function_tool


class Shop(Agent):
    """Shop."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="shop")

    @function_tool
    async def add(self, ctx: RunContext[dict], item: str) -> str:
        """Add an item."""
        ctx.userdata["items"].append(item)
        return "added"

    @function_tool
    async def pay(self, ctx: RunContext[dict]) -> str:
        """Pay for the order."""
        ctx.userdata["items"].clear()  # bug: paying throws the order away
        ctx.userdata["paid"] = True
        return "paid"


entry = Shop


def make_session() -> AgentSession:
    return AgentSession(userdata={"items": [], "paid": False})
