"""Restaurant: a greeter routes callers to table reservations or takeaway, then to checkout.

Graph: Greeter → Reservation | Takeaway;  Takeaway → Checkout;  Checkout → Takeaway;
every agent → Greeter (``to_greeter``; confirming a reservation or paying also ends there).

Guards (each refuses with a ``ToolError`` naming what is missing, and changes nothing):
no checkout without an order, no reservation confirmation without name, phone and time,
no payment without card details.  Every agent has its own voice (``examples/_voices.py``).

This is the workflow ``voxfsm demo`` runs: :data:`DEMO_TURNS` is one complete takeaway call.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import attrs

from voxfsm.agents import AgentSession, RunContext, ToolError, function_tool
from voxfsm.agents.llm import call, reply
from voxfsm.examples._demo import Rules, demo_llm
from voxfsm.examples._handover import HandoverAgent, reuse
from voxfsm.examples._voices import voice

MENU: dict[str, float] = {"pizza": 10.0, "salad": 5.0, "ice cream": 3.0, "coffee": 2.0}
MenuItem = Literal["pizza", "salad", "ice cream", "coffee"]
MENU_TEXT = ", ".join(f"{item} ${price:.0f}" for item, price in MENU.items())


@attrs.define
class Card:
    number: str
    expiry: str
    cvv: str

    @property
    def masked(self) -> str:
        return f"card ending {self.number[-4:]}"


@attrs.define
class RestaurantData:
    """What the agents of one call share: who is calling, the booking and the order."""

    customer_name: str | None = None
    customer_phone: str | None = None
    reservation_time: str | None = None
    reservation_confirmed: bool = False
    order: dict[str, int] = attrs.Factory(dict)
    card: Card | None = None
    checked_out: bool = False
    paid_with: str | None = None

    def total(self) -> float:
        return sum(MENU[item] * qty for item, qty in self.order.items())

    def order_text(self) -> str:
        if not self.order:
            return "nothing yet"
        return ", ".join(f"{qty} {item}" for item, qty in self.order.items())

    def summary(self) -> str:
        """What an agent taking over is told (never the card digits)."""
        return (
            f"Caller name: {self.customer_name or 'unknown'}; "
            f"phone: {self.customer_phone or 'unknown'}; "
            f"reservation time: {self.reservation_time or 'none'}"
            f"{' (confirmed)' if self.reservation_confirmed else ''}; "
            f"takeaway order: {self.order_text()}, total ${self.total():.2f}; "
            f"card: {self.card.masked if self.card else 'none'}; "
            f"paid: {'with the ' + str(self.paid_with) if self.checked_out else 'no'}."
        )


Ctx = RunContext[RestaurantData]


def _unpaid(data: RestaurantData) -> None:
    # one order per call: once charged, changing or paying it again would bill the caller twice
    if data.checked_out:
        raise ToolError(
            f"The order is already paid ({data.paid_with}) and cannot be changed; the caller "
            "can pick it up in 20 minutes."
        )


# ---------------------------------------------------------------- tools several agents share


@function_tool
async def update_name(ctx: Ctx, name: Annotated[str, "The caller's name as spelled"]) -> str:
    """Record the caller's name. Confirm the spelling with the caller first."""
    if not name.strip():
        raise ToolError("The name is empty; ask the caller for their name.")
    ctx.userdata.customer_name = name.strip()
    return f"The caller's name is {ctx.userdata.customer_name}."


@function_tool
async def update_phone(ctx: Ctx, phone: Annotated[str, "The caller's phone number"]) -> str:
    """Record the caller's phone number. Read it back to the caller first."""
    digits = re.sub(r"\D", "", phone)
    if not 7 <= len(digits) <= 15:
        raise ToolError(
            f"{phone!r} does not look like a phone number (7 to 15 digits); ask the caller again."
        )
    ctx.userdata.customer_phone = phone.strip()
    return f"The caller's phone number is {ctx.userdata.customer_phone}."


# ---------------------------------------------------------------- agents


class RestaurantAgent(HandoverAgent):
    """Shared by all restaurant agents: the briefing every agent gets on entry."""

    def briefing(self) -> str:
        data: RestaurantData = self.session.userdata
        return f"You are the {self.id} agent of the restaurant. {data.summary()}"


class BackToGreeter(RestaurantAgent):
    """An agent that can always hand the caller back to the greeter."""

    @function_tool
    async def to_greeter(self) -> tuple[Greeter, str]:
        """Hand the caller back to the greeter, only for what no other tool of yours does (e.g.
        booking a table)."""
        return reuse(self.session, Greeter).take_over_from(self), "Transferring to the greeter."


GREET_NEW = (
    "Welcome the caller to Luigi's and ask whether they want to book a table or order takeaway."
)
GREET_PAID = "Tell the caller the order is paid and ask whether there is anything else."
GREET_BOOKED = "Tell the caller the table is booked and ask whether there is anything else."
GREET_BACK = "Ask the caller what else you can do for them: a table booking or takeaway."


class Greeter(RestaurantAgent):
    """Welcomes the caller and routes them to reservations or takeaway."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the friendly host of Luigi's restaurant, answering the phone. You "
                "take neither orders nor bookings yourself: transfer anyone who wants to "
                "order food (takeaway, to go, pick up, collection) to takeaway, and anyone "
                "who wants to book, reserve or change a table to reservations. Answer "
                f"questions about the menu and prices yourself. The menu: {MENU_TEXT}. Keep "
                "answers to one or two short sentences: they are spoken aloud."
            ),
            tts=voice("restaurant.greeter"),
        )

    def greeting(self) -> str:
        data: RestaurantData = self.session.userdata
        if data.checked_out:
            return GREET_PAID
        if data.reservation_confirmed:
            return GREET_BOOKED
        return GREET_NEW if len(self.chat_ctx.items) <= 1 else GREET_BACK

    @function_tool
    async def to_reservation(self) -> tuple[Reservation, str]:
        """Transfer the caller to reservations to book, reserve or change a table to eat in."""
        target = reuse(self.session, Reservation).take_over_from(self)
        return target, "Transferring to reservations."

    @function_tool
    async def to_takeaway(self) -> tuple[Takeaway, str]:
        """Transfer the caller to takeaway to order food to collect, pick up or take away."""
        return reuse(self.session, Takeaway).take_over_from(self), "Transferring to takeaway."


GREET_RESERVATION = (
    "Ask the caller for the reservation time, their name and their phone number, "
    "whichever is still missing."
)


class Reservation(BackToGreeter):
    """Books a table: needs a time, the caller's name and phone number."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You take table reservations for Luigi's. Collect the time, the caller's name "
                "and phone number, confirm them with the caller, then confirm the reservation. "
                "Keep answers short: they are spoken aloud."
            ),
            tools=[update_name, update_phone],
            tts=voice("restaurant.reservation"),
        )

    def greeting(self) -> str:
        return GREET_RESERVATION

    @function_tool
    async def update_reservation_time(
        self, ctx: Ctx, time: Annotated[str, "Day and time, e.g. 'Friday 7pm'"]
    ) -> str:
        """Record when the caller wants the table."""
        ctx.userdata.reservation_time = time.strip()
        return f"The reservation time is {ctx.userdata.reservation_time}."

    @function_tool
    async def confirm_reservation(self, ctx: Ctx) -> tuple[Greeter, str]:
        """Book the table once the caller has agreed to the time, name and phone number."""
        data = ctx.userdata
        missing = [
            what
            for what, value in (
                ("name", data.customer_name),
                ("phone number", data.customer_phone),
                ("reservation time", data.reservation_time),
            )
            if not value
        ]
        if missing:
            raise ToolError(
                f"Cannot confirm yet: the caller's {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing. Ask for "
                f"{'it' if len(missing) == 1 else 'them'} first."
            )
        data.reservation_confirmed = True
        target = reuse(self.session, Greeter).take_over_from(self)
        return target, (
            f"Table booked for {data.customer_name} at {data.reservation_time}. "
            "Transferring to the greeter."
        )


GREET_TAKEAWAY = "Tell the caller what is on the menu and ask what they would like to order."


class Takeaway(BackToGreeter):
    """Takes a takeaway order from the menu."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You take takeaway orders for Luigi's. The menu: "
                f"{MENU_TEXT}. Add each item the caller asks for with add_to_order, one call "
                "per item, and remove items with remove_from_order; never invent items. When "
                "the caller has everything or wants to pay, use to_checkout. Keep answers short."
            ),
            tts=voice("restaurant.takeaway"),
        )

    def greeting(self) -> str:
        return GREET_TAKEAWAY

    @function_tool
    async def add_to_order(self, ctx: Ctx, item: MenuItem, quantity: int = 1) -> str:
        """Add an item from the menu to the order, each time the caller asks for one.

        Args:
            item: The menu item.
            quantity: How many of it.
        """
        _unpaid(ctx.userdata)
        if quantity < 1:
            raise ToolError(f"A quantity must be at least 1, not {quantity}.")
        order = ctx.userdata.order
        order[item] = order.get(item, 0) + quantity
        return (
            f"Added {quantity} {item}. The order is now {ctx.userdata.order_text()}, "
            f"total ${ctx.userdata.total():.2f}."
        )

    @function_tool
    async def remove_from_order(self, ctx: Ctx, item: MenuItem) -> str:
        """Remove an item from the order entirely.

        Args:
            item: The menu item to remove.
        """
        _unpaid(ctx.userdata)
        if item not in ctx.userdata.order:
            raise ToolError(
                f"There is no {item} in the order; it holds {ctx.userdata.order_text()}."
            )
        del ctx.userdata.order[item]
        return f"Removed {item}. The order is now {ctx.userdata.order_text()}."

    @function_tool
    async def to_checkout(self, ctx: Ctx) -> tuple[Checkout, str]:
        """Transfer the caller to checkout to pay, once the order is complete."""
        _unpaid(ctx.userdata)
        if not ctx.userdata.order:
            raise ToolError(
                "Cannot go to checkout: the order is empty. Ask the caller what they would "
                "like and add it with add_to_order first."
            )
        target = reuse(self.session, Checkout).take_over_from(self)
        return target, (
            f"Order: {ctx.userdata.order_text()}, total ${ctx.userdata.total():.2f}. "
            "Transferring to checkout."
        )


GREET_CHECKOUT = (
    "Tell the caller the order total and ask for their card number, expiry date and security code."
)


class Checkout(BackToGreeter):
    """Takes payment for the takeaway order."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You take payment for takeaway orders at Luigi's. Tell the caller the total "
                "and ask for the card number, expiry date and security code. As soon as the "
                "caller gives them, save them with update_credit_card. When the caller agrees "
                "to pay, use confirm_checkout. If they want to change the order, send them "
                "back to takeaway. Keep answers short."
            ),
            tools=[update_name, update_phone],
            tts=voice("restaurant.checkout"),
        )

    def greeting(self) -> str:
        return GREET_CHECKOUT

    @function_tool
    async def update_credit_card(
        self,
        ctx: Ctx,
        number: Annotated[str, "The card number, digits only"],
        expiry: Annotated[str, "Expiry date as MM/YY"],
        cvv: Annotated[str, "The 3 or 4 digit security code"],
    ) -> str:
        """Save the card number, expiry date and security code as soon as the caller gives
        them."""
        digits = re.sub(r"[\s-]", "", number)
        problems = []
        if not re.fullmatch(r"\d{12,19}", digits):
            problems.append("the card number must have 12 to 19 digits")
        if not re.fullmatch(r"(0[1-9]|1[0-2])/\d{2}", expiry.strip()):
            problems.append("the expiry date must look like MM/YY")
        if not re.fullmatch(r"\d{3,4}", cvv.strip()):
            problems.append("the security code must have 3 or 4 digits")
        if problems:
            raise ToolError(f"Card not saved: {'; '.join(problems)}. Ask the caller again.")
        ctx.userdata.card = Card(digits, expiry.strip(), cvv.strip())
        return f"Saved the {ctx.userdata.card.masked}."

    @function_tool
    async def confirm_checkout(self, ctx: Ctx) -> tuple[Greeter, str]:
        """Charge the order to the saved card once the caller agrees to pay (e.g. "yes, go
        ahead")."""
        data = ctx.userdata
        _unpaid(data)
        if not data.order:
            raise ToolError("Cannot take payment: the order is empty. Send the caller to takeaway.")
        if data.card is None:
            raise ToolError(
                "Cannot take payment: no card details yet. Ask for the card number, expiry "
                "date and security code and save them with update_credit_card first."
            )
        data.checked_out = True
        # the card is not kept once charged: session snapshots hold userdata
        data.paid_with, data.card = data.card.masked, None
        target = reuse(self.session, Greeter).take_over_from(self)
        return target, (
            f"Paid ${data.total():.2f} with the {data.paid_with}; the order "
            f"({data.order_text()}) is ready for pickup in 20 minutes. Transferring to the greeter."
        )

    @function_tool
    async def to_takeaway(self) -> tuple[Takeaway, str]:
        """Send the caller back to takeaway to change the order."""
        return reuse(self.session, Takeaway).take_over_from(self), "Transferring to takeaway."


entry = Greeter

# ---------------------------------------------------------------- the offline demo

DEMO_TURNS: list[str] = [
    "Hi, I'd like to order takeaway please.",
    "Two pizzas and a coffee please.",
    "That's everything, I'm ready to pay.",
    "My card number is 4111 1111 1111 1111, expiry 12/28, security code 123.",
    "Yes, go ahead.",
    "No thank you, goodbye!",
]

DEMO_PATH = ["greeter", "takeaway", "checkout", "greeter"]
"""The agents :data:`DEMO_TURNS` goes through; ``voxfsm demo`` reports a call that did not."""


def _demo_script() -> Rules:
    i = re.IGNORECASE
    return [
        # entry greetings (the ephemeral instructions are the last item the LLM sees)
        (GREET_NEW, reply("Welcome to Luigi's! Would you like to book a table or order takeaway?")),
        (GREET_BACK, reply("What else can I do for you: a table, or takeaway?")),
        (GREET_PAID, reply("Thanks for your order, it's all paid. Anything else I can do?")),
        (GREET_BOOKED, reply("Your table is booked. Anything else I can do for you?")),
        (GREET_RESERVATION, reply("Happy to book a table. For when, and under what name?")),
        (GREET_TAKEAWAY, reply(f"Our menu today: {MENU_TEXT}. What would you like?")),
        (GREET_CHECKOUT, reply("Let's settle up. What's your card number, expiry and code?")),
        # tool outputs: anchored, so they never fall through to the caller's phrases below
        (re.compile(r"^Transferring to takeaway"), reply("Sure, our takeaway desk can help.")),
        (re.compile(r"^Transferring to reservations"), reply("Sure, let me get reservations.")),
        (re.compile(r"^Transferring to the greeter"), reply("Let me take you back.")),
        (re.compile(r"^Order: .*checkout"), reply("Great, let's get you checked out.")),
        (re.compile(r"^Added "), reply("Got it. Anything else, or are you ready to pay?")),
        (re.compile(r"^Removed "), reply("Done, that's off the order.")),
        (re.compile(r"^Saved the card"), reply("Thanks, I have your card. Shall I go ahead?")),
        (re.compile(r"^Paid "), reply("Payment done! Your order will be ready in 20 minutes.")),
        (re.compile(r"^Table booked"), reply("You're all set.")),
        (re.compile(r"^Cannot |^Card not saved|^There is no"), reply("Sorry, I still need that.")),
        # the caller, as speech recognition may hear them
        (re.compile(r"\b(good ?bye|bye)\b", i), reply("Goodbye, enjoy your meal!")),
        (
            re.compile(r"\bpizzas?\b.*\bcoff?ee?\b", i),
            [
                call("add_to_order", item="pizza", quantity=2),
                call("add_to_order", item="coffee", quantity=1),
            ],
        ),
        (
            re.compile(r"\b(card|visa|master ?card)\b", i),
            call("update_credit_card", number="4111111111111111", expiry="12/28", cvv="123"),
        ),
        (re.compile(r"\b(pay|check ?out|that's (all|everything))\b", i), call("to_checkout")),
        (re.compile(r"\b(yes|yeah|yep|go ahead|sure)\b", i), call("confirm_checkout")),
        (re.compile(r"\b(take ?away|take ?out|to go|pick ?up)\b", i), call("to_takeaway")),
        (re.compile(r"\b(book|reserve|reservation|table)\b", i), call("to_reservation")),
    ]


def make_session() -> AgentSession[RestaurantData]:
    """A fresh session for one call: empty userdata and the scripted demo LLM."""
    llm = demo_llm(_demo_script())
    return AgentSession(llm=llm, userdata=RestaurantData(), max_tool_steps=5)
