"""Small workflows for the property-testing tests: one correct, several with planted faults.

Module-level classes, so return annotations resolve and regression tests can import them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import attrs

from voxfsm.agents import Agent, AgentTask, RunContext, ToolError, function_tool


@attrs.define
class Order:
    """Userdata shared by every agent of the shop workflow."""

    items: list[str] = attrs.field(factory=list)
    paid: bool = False
    verified: bool = False


class Verify(AgentTask[bool]):
    """Confirms the caller's identity, then returns to whoever asked."""

    def __init__(self) -> None:
        super().__init__(instructions="ask for the caller's PIN")

    @function_tool
    async def check_pin(self, pin: Annotated[int, "the four-digit PIN"]) -> None:
        """Compare the PIN the caller gave."""
        self.complete(pin == 1234)

    @function_tool
    async def give_up(self) -> None:
        """The caller cannot verify."""
        self.complete(ToolError("verification abandoned"))


class Checkout(Agent):
    """Takes payment for the order."""

    def __init__(self) -> None:
        super().__init__(instructions="take payment")

    @function_tool
    async def pay(self, ctx: RunContext[Order], method: Literal["card", "cash"]) -> Receipt | str:
        """Pay for the order.

        Args:
            method: how the caller pays
        """
        if not ctx.userdata.items:
            return "the cart is empty"
        ctx.userdata.paid = True
        return Receipt()

    @function_tool
    async def back_to_shop(self, ctx: RunContext[Order]) -> Shop:
        """Return to shopping."""
        return Shop(chat_ctx=self.chat_ctx)


class Receipt(Agent):
    """Reads out the receipt; the conversation ends here."""

    terminal = True

    def __init__(self) -> None:
        super().__init__(instructions="read the receipt")

    async def on_enter(self) -> None:
        self.session.say("thank you")

    @function_tool
    async def total(self, ctx: RunContext[Order]) -> str:
        """The number of items bought."""
        return str(len(ctx.userdata.items))


class Shop(Agent):
    """Collects items into the order."""

    def __init__(self, chat_ctx: object = None) -> None:
        super().__init__(instructions="help the caller shop", chat_ctx=chat_ctx)

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet the caller")

    @function_tool
    async def add_item(
        self, ctx: RunContext[Order], item: str, quantity: Annotated[int, "how many"] = 1
    ) -> str:
        """Add an item to the order."""
        if quantity < 1:
            raise ToolError("quantity must be at least 1")
        ctx.userdata.items.extend([item] * min(quantity, 3))
        return f"{len(ctx.userdata.items)} items"

    @function_tool
    async def checkout(self, ctx: RunContext[Order]) -> Checkout | str:
        """Go to checkout once the caller is verified."""
        if not ctx.userdata.verified:
            return "verify first"
        return Checkout()

    @function_tool(handoff=Verify)
    async def verify(self, ctx: RunContext[Order]) -> str:
        """Verify the caller's identity."""
        try:
            ctx.userdata.verified = await Verify()
        except ToolError as exc:
            return f"not verified: {exc.message}"
        return "verified" if ctx.userdata.verified else "wrong PIN"


def new_order() -> Order:
    return Order()


def paid_means_items(session: object) -> None:
    """User invariant of the shop: nothing is paid for with an empty cart."""
    order = session.userdata  # type: ignore[attr-defined]
    assert not (order.paid and not order.items), "paid with an empty cart"


# --------------------------------------------------------------------------- a correct one
# (no AgentTask tool: two parallel task calls hit an engine bug, see test_tester_engine.py)


class Desk(Agent):
    """Front desk of a helpdesk; the entry."""

    def __init__(self) -> None:
        super().__init__(instructions="route the caller")

    @function_tool
    async def hours(self) -> str:
        """Opening hours."""
        return "9 to 5"

    @function_tool
    async def to_billing(
        self, ctx: RunContext[dict], account: Annotated[str, "account id"]
    ) -> Billing:
        """Send the caller to billing."""
        ctx.userdata["account"] = account
        return Billing()

    @function_tool
    async def to_support(self, urgent: bool = False) -> tuple[Support, str]:
        """Send the caller to technical support."""
        return Support(chat_ctx=self.chat_ctx), "transferring"


class Billing(Agent):
    """Billing questions."""

    def __init__(self) -> None:
        super().__init__(instructions="billing")

    async def on_enter(self) -> None:
        await self.session.generate_reply(instructions="greet")

    @function_tool
    async def balance(self, ctx: RunContext[dict]) -> dict:
        """The account balance."""
        return {"account": ctx.userdata.get("account"), "balance": 12}

    @function_tool
    async def back(self) -> Desk:
        """Back to the desk."""
        return Desk()


class Support(Agent):
    """Technical support; conversations end here."""

    terminal = True

    def __init__(self, chat_ctx: object = None) -> None:
        super().__init__(instructions="support", chat_ctx=chat_ctx)

    @function_tool
    async def ticket(
        self, ctx: RunContext[dict], summary: str, priority: Literal[1, 2, 3] = 2
    ) -> str:
        """Open a ticket."""
        ctx.userdata["tickets"].append(summary)
        return f"ticket {len(ctx.userdata['tickets'])}"


def helpdesk_data() -> dict:
    return {"tickets": [], "account": None}


# --------------------------------------------------------------------------- planted faults


class EarlyCheckout(Agent):
    """FAULT: the guard lets the handoff through before anything is in the cart."""

    def __init__(self) -> None:
        super().__init__(instructions="take payment")

    @function_tool
    async def add_item(self, ctx: RunContext[Order], item: str) -> str:
        """Add an item."""
        ctx.userdata.items.append(item)
        return "added"

    @function_tool
    async def pay(self, ctx: RunContext[Order]) -> Receipt | str:
        """Pay for the cart."""
        if len(ctx.userdata.items) >= 0:  # bug: should be > 0
            ctx.userdata.paid = True
            return Receipt()
        return "the cart is empty"


class Wiper(Agent):
    """FAULT: a tool replaces the session's userdata object."""

    def __init__(self) -> None:
        super().__init__(instructions="manage the order")

    @function_tool
    async def add_item(self, ctx: RunContext[Order], item: str) -> str:
        """Add an item."""
        ctx.userdata.items.append(item)
        return "added"

    @function_tool
    async def start_over(self, ctx: RunContext[Order]) -> str:
        """Start a new order."""
        ctx.session.userdata = Order()  # bug: other agents still hold the old object
        return "new order"


class Clearer(Agent):
    """FAULT: a tool clears the shared userdata dict (losing the caller's name)."""

    def __init__(self) -> None:
        super().__init__(instructions="manage the order")

    @function_tool
    async def remove_all(self, ctx: RunContext[dict]) -> str:
        """Empty the cart."""
        ctx.userdata.clear()  # bug: should be ctx.userdata["items"].clear()
        return "emptied"


def caller_data() -> dict:
    return {"caller": "ann", "items": ["tea"]}


class Sneaky(Agent):
    """FAULT: a tool hands off to an agent it does not declare."""

    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool
    async def hours(self) -> str:
        """Opening hours."""
        return "9 to 5"

    @function_tool
    async def escalate(self, reason: str):  # type: ignore[no-untyped-def]  # declares nothing
        """Escalate the call."""
        return [Receipt][0]()  # a target its source does not show: really undeclared


class Lobby(Agent):
    """FAULT: its on_enter hands off to Hall, whose on_enter hands back: a loop."""

    def __init__(self) -> None:
        super().__init__(instructions="lobby")

    async def on_enter(self) -> None:
        self.session.update_agent(Hall())

    @function_tool
    async def ping(self) -> str:
        """Ping."""
        return "pong"


class Hall(Agent):
    """Hands straight back to a new Lobby (the wrong handoff)."""

    def __init__(self) -> None:
        super().__init__(instructions="hall")

    async def on_enter(self) -> None:
        self.session.update_agent(Lobby())

    @function_tool
    async def ping(self) -> str:
        """Ping."""
        return "pong"


class Porch(Agent):
    """Entry of the looping workflow: fine until the caller goes inside."""

    def __init__(self) -> None:
        super().__init__(instructions="porch")

    @function_tool
    async def wave(self) -> str:
        """Wave."""
        return "hi"

    @function_tool
    async def go_inside(self) -> Lobby:
        """Enter the lobby."""
        return Lobby()


class Verifier(Agent):
    """Correct, but uses an AgentTask tool (exposes the parallel-task engine bug)."""

    def __init__(self) -> None:
        super().__init__(instructions="verify the caller")

    @function_tool(handoff=Verify)
    async def verify(self) -> str:
        """Verify the caller."""
        try:
            return "verified" if await Verify() else "wrong PIN"
        except ToolError as exc:
            return exc.message
