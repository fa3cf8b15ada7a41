"""Drive-thru: one agent takes an order; the order itself is the state (in userdata).

Graph: a single agent (``terminal = True``) whose tools loop back to it.

Guards: items not on the menu, sold out, or in a size the item does not come in are refused
with a ``ToolError`` saying what to ask the customer; an item with several sizes is refused
until the customer has chosen one; an empty order cannot be completed.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

import attrs

from voxfsm.agents import Agent, AgentSession, RunContext, ToolError, function_tool
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm

Size = Literal["S", "M", "L"]
SIZE_NAMES = {"S": "small", "M": "medium", "L": "large"}
ONE_SIZE = "one size"


@attrs.frozen
class MenuItem:
    id: str
    name: str
    prices: dict[str, float]  # by size, or {ONE_SIZE: price}

    @property
    def sizes(self) -> list[str]:
        return [s for s in self.prices if s != ONE_SIZE]


MENU: dict[str, MenuItem] = {
    m.id: m
    for m in (
        MenuItem("cheeseburger", "Cheeseburger", {ONE_SIZE: 3.49}),
        MenuItem("double_burger", "Double Burger", {ONE_SIZE: 5.29}),
        MenuItem("veggie_wrap", "Veggie Wrap", {ONE_SIZE: 4.19}),
        MenuItem("apple_pie", "Apple Pie", {ONE_SIZE: 1.49}),
        MenuItem("fries", "Fries", {"S": 1.79, "M": 2.29, "L": 2.79}),
        MenuItem("coke", "Coke", {"S": 1.29, "M": 1.59, "L": 1.89}),
        MenuItem("orange_juice", "Orange Juice", {"M": 1.99, "L": 2.49}),
        MenuItem("vanilla_shake", "Vanilla Shake", {"M": 2.99, "L": 3.49}),
    )
}


def menu_text() -> str:
    lines = []
    for m in MENU.values():
        sizes = ", ".join(f"{s} ${p:.2f}" for s, p in m.prices.items())
        lines.append(f"- {m.id}: {m.name} ({sizes})")
    return "\n".join(lines)


@attrs.define
class OrderedItem:
    order_id: str
    item_id: str
    size: str | None
    quantity: int
    price: float  # for the whole line

    def describe(self) -> str:
        size = f"{SIZE_NAMES[self.size]} " if self.size else ""
        return f"{self.quantity} x {size}{MENU[self.item_id].name}"


@attrs.define
class DriveThruData:
    """The order being taken, and what the kitchen has run out of today."""

    items: dict[str, OrderedItem] = attrs.Factory(dict)
    sold_out: list[str] = attrs.Factory(lambda: ["vanilla_shake"])
    next_id: int = 1
    completed: bool = False

    def total(self) -> float:
        return round(sum(i.price for i in self.items.values()), 2)


Ctx = RunContext[DriveThruData]

GREET = "Greet the customer at the drive-thru speaker and ask for their order."


class DriveThru(Agent):
    """Takes a drive-thru order item by item."""

    terminal = True  # the order is taken here from start to finish

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are Mac, taking orders at the Burger Barn drive-thru. Add and remove items "
                "only with your tools and never invent items. Ask for a size only when an item "
                "comes in several. If a tool refuses, tell the customer why in a few words. "
                f"Keep answers short: they are spoken aloud.\nThe menu:\n{menu_text()}"
            )
        )

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions=GREET)

    @function_tool
    async def order_item(
        self,
        ctx: Ctx,
        item_id: Annotated[str, "The menu id of the item, e.g. 'fries'"],
        size: Annotated[Size | None, "S, M or L; only for items that come in sizes"] = None,
        quantity: Annotated[int, "How many"] = 1,
    ) -> str:
        """Add an item from the menu to the order."""
        data = ctx.userdata
        if data.completed:
            raise ToolError("The order is already complete; it cannot be changed.")
        item = _menu_item(item_id)
        if item.id in data.sold_out:
            raise ToolError(
                f"{item.name} is sold out today; tell the customer and offer something else."
            )
        if quantity < 1:
            raise ToolError(f"A quantity must be at least 1, not {quantity}.")
        if not item.sizes:
            size = None  # a one-size item: a size the model added means nothing
        elif size is None:
            raise ToolError(
                f"{item.name} needs a size ({', '.join(item.sizes)}); ask the customer which "
                "size they want."
            )
        elif size not in item.prices:
            raise ToolError(
                f"{item.name} does not come in {SIZE_NAMES[size]}; it comes in "
                f"{', '.join(SIZE_NAMES[s] for s in item.sizes)}. Ask the customer."
            )
        line = OrderedItem(
            order_id=f"O{data.next_id}",
            item_id=item.id,
            size=size,
            quantity=quantity,
            price=round(item.prices[size or ONE_SIZE] * quantity, 2),
        )
        data.next_id += 1
        data.items[line.order_id] = line
        return (
            f"Added {line.describe()} (order id {line.order_id}). Order total: ${data.total():.2f}."
        )

    @function_tool
    async def remove_item(
        self, ctx: Ctx, order_id: Annotated[str, "The order id given when it was added"]
    ) -> str:
        """Remove a line from the order."""
        data = ctx.userdata
        if data.completed:
            raise ToolError("The order is already complete; it cannot be changed.")
        line = data.items.pop(order_id, None)
        if line is None:
            known = ", ".join(data.items) or "none, the order is empty"
            raise ToolError(f"There is no order id {order_id!r}; the ids are: {known}.")
        return f"Removed {line.describe()}. Order total: ${data.total():.2f}."

    @function_tool
    async def list_order(self, ctx: Ctx) -> str:
        """List what is in the order so far, with order ids."""
        data = ctx.userdata
        if not data.items:
            return "The order is empty."
        lines = [f"{i.order_id}: {i.describe()} ${i.price:.2f}" for i in data.items.values()]
        return "\n".join([*lines, f"Total: ${data.total():.2f}"])

    @function_tool
    async def complete_order(self, ctx: Ctx) -> str:
        """Finish the order when the customer says that is everything."""
        data = ctx.userdata
        if not data.items:
            raise ToolError("The order is empty; ask the customer what they would like.")
        data.completed = True
        return (
            f"Order complete: total ${data.total():.2f}. Ask the customer to drive to the "
            "first window."
        )


def _menu_item(item_id: str) -> MenuItem:
    key = item_id.strip().lower().replace(" ", "_").replace("-", "_")
    if key in MENU:
        return MENU[key]
    close = difflib.get_close_matches(key, list(MENU), n=3, cutoff=0.5)
    hint = f" Did the customer mean {' or '.join(close)}?" if close else ""
    raise ToolError(f"{item_id!r} is not on the menu.{hint} Never offer items not on the menu.")


entry = DriveThru

DEMO_TURNS: list[str] = [
    "Hi, can I get a cheeseburger and a large coke?",
    "And some fries.",
    "Medium, please.",
    "Do you have a vanilla shake?",
    "No, that's all.",
    "Thanks, bye!",
]


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        (GREET, reply("Welcome to Burger Barn! What can I get for you today?")),
        (re.compile(r"^Added .*Fries"), reply("Medium fries, got it. Anything else?")),
        (re.compile(r"^Added "), reply("Got it. Anything else?")),
        (re.compile(r"needs a size"), reply("Sure, what size: small, medium or large?")),
        (re.compile(r"sold out|not on the menu"), reply("Sorry, we don't have that today.")),
        (
            re.compile(r"^Order complete"),
            reply("Your total is on the screen. Please pull up to the first window."),
        ),
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Thanks, see you at the window!")),
        (
            re.compile(r"\bcheese ?burger\b.*\bcoke\b", i),
            [
                call("order_item", item_id="cheeseburger"),
                call("order_item", item_id="coke", size="L"),
            ],
        ),
        (
            re.compile(r"\b(that's all|that is all|that's it|nothing else)\b", i),
            call("complete_order"),
        ),
        (re.compile(r"\bmedium\b", i), call("order_item", item_id="fries", size="M")),
        (re.compile(r"\bfries\b", i), call("order_item", item_id="fries")),
        (re.compile(r"\bshake\b", i), call("order_item", item_id="vanilla_shake", size="M")),
    ]


def make_session() -> AgentSession[DriveThruData]:
    """A fresh session for one customer: an empty order and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=DriveThruData(), max_tool_steps=5)
